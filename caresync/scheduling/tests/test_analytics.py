"""GET /api/v1/appointments/analytics/: counts, rates and utilization for a date range."""

from datetime import date

import pytest
import time_machine

from caresync.scheduling.selectors import appointment_analytics
from caresync.scheduling.services import appointment_transition
from caresync.scheduling.tests.conftest import MONDAY, NOW, at, book

pytestmark = pytest.mark.django_db


def outcome(appointment, *actions, reason=""):
    for action in actions:
        appointment = appointment_transition(
            actor=None, appointment=appointment, action=action, reason=reason, now=at(18)
        )
    return appointment


@pytest.fixture
def monday(clinic):
    """Four visits on MONDAY: two completed, one no-show, one cancelled."""
    outcome(book(clinic, at(9)), "check_in", "start", "complete")
    outcome(book(clinic, at(10), patient=clinic.other_patient), "check_in", "start", "complete")
    outcome(book(clinic, at(11)), "no_show")
    outcome(book(clinic, at(12), patient=clinic.other_patient), "cancel", reason="Unwell")
    return clinic


def test_counts_rates_and_utilization_for_one_day(monday):
    report = appointment_analytics(
        organization=monday.tenant.organization, first=MONDAY, last=MONDAY
    )
    assert report["total"] == 4
    assert report["by_status"]["completed"] == 2
    assert report["by_status"]["no_show"] == 1
    assert report["by_status"]["scheduled"] == 0
    assert report["no_show_rate"] == round(1 / 3, 3)
    assert report["cancellation_rate"] == 0.25
    doctor = next(p for p in report["practitioners"] if p["id"] == monday.doctor.pk)
    # 09:00–17:00 is 480 minutes; three 30-minute visits used time (cancelled does not).
    assert (doctor["available_minutes"], doctor["booked_minutes"]) == (480, 90)
    assert doctor["utilization"] == round(90 / 480, 3)
    nurse = next(p for p in report["practitioners"] if p["id"] == monday.second_doctor.pk)
    assert (nurse["appointments"], nurse["utilization"]) == (0, 0.0)


def test_weekends_and_holidays_have_no_working_time(clinic):
    org = clinic.tenant.organization
    org.country, org.subdivision = "AU", "NSW"
    org.save()
    # Sat 25 Apr 2026 is Anzac Day; the whole weekend is outside the weekday rules anyway.
    report = appointment_analytics(
        organization=org, first=date(2026, 4, 25), last=date(2026, 4, 26)
    )
    assert all(
        p["available_minutes"] == 0 and p["utilization"] is None for p in report["practitioners"]
    )
    # Good Friday, 3 April 2026, is a weekday holiday: no working time either.
    friday = appointment_analytics(organization=org, first=date(2026, 4, 3), last=date(2026, 4, 3))
    assert {p["available_minutes"] for p in friday["practitioners"]} == {0}


def test_the_api_reports_for_clinic_members_only(api_as, monday):
    url = f"/api/v1/appointments/analytics/?start={MONDAY}&end={MONDAY}"
    with time_machine.travel(NOW, tick=False):
        response = api_as(monday.tenant.admin).get(url)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["total"] == 4 and data["time_zone"] == "Australia/Sydney"
        assert api_as(monday.tenant.patient).get(url).status_code == 403
        narrowed = api_as(monday.tenant.staff).get(f"{url}&practitioner={monday.doctor.pk}")
        assert [p["id"] for p in narrowed.json()["practitioners"]] == [monday.doctor.pk]
        bad = api_as(monday.tenant.staff).get(f"{url[:-10]}2026-01-01")
        assert bad.status_code == 400
        assert bad.json()["error"]["fields"]["end"]


def test_another_organizations_appointments_are_not_counted(api_as, monday, tenant_b):
    response = api_as(tenant_b.admin).get(
        f"/api/v1/appointments/analytics/?start={MONDAY}&end={MONDAY}"
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0


def test_query_count_does_not_grow_with_practitioners_or_days(
    monday, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        appointment_analytics(
            organization=monday.tenant.organization, first=MONDAY, last=date(2026, 3, 31)
        )
