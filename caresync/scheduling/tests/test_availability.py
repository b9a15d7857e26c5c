"""Working hours: availability rules, exceptions and closures (services, API and the
editor page), seed 002's doctor schedule endpoints, holidays, and who may change what."""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from caresync.core.models import AuditEvent
from caresync.directory.services import location_save
from caresync.scheduling.models import AvailabilityException, AvailabilityRule, Closure
from caresync.scheduling.selectors import holidays_between
from caresync.scheduling.services import (
    appointment_book,
    availability_exception_save,
    availability_rule_save,
    closure_save,
)
from caresync.scheduling.slots import (
    Interval,
    PractitionerCalendar,
    SlotQuery,
    WeeklyRule,
    slots_for,
)
from caresync.scheduling.tests.conftest import MONDAY, NOW
from caresync.scheduling.views.availability import week_grid

pytestmark = pytest.mark.django_db

SYDNEY = ZoneInfo("Australia/Sydney")
GOOD_FRIDAY = date(2026, 4, 3)  # a public holiday in NSW, two days before DST ends


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def rule_body(clinic, **extra):
    return {
        "practitioner": clinic.doctor.pk,
        "location": clinic.location.pk,
        "weekday": 5,
        "start_time": "09:00",
        "end_time": "12:00",
        **extra,
    }


def local_slot_times(response) -> list[str]:
    return [datetime.fromisoformat(s["local_start"]).strftime("%H:%M") for s in response.json()]


def doctor_slots(client, clinic, day: date, service=None):
    return client.get(
        f"/api/v1/doctors/{clinic.doctor.pk}/available-slots/",
        {"date": day.isoformat(), "service": (service or clinic.consult).pk},
    )


def monday_rule(practitioner) -> AvailabilityRule:
    return practitioner.availability_rules.get(weekday=0)


# --- Rules: who may change them -----------------------------------------------------------


def test_practitioner_adds_hours_to_their_own_week(api_as, clinic):
    response = api_as(clinic.tenant.doctor).post(
        "/api/v1/availability-rules/", rule_body(clinic, services=[clinic.consult.pk])
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["weekday_name"] == "Saturday" and data["time_zone"] == "Australia/Sydney"
    assert data["start_time"] == "09:00:00" and data["services"] == [clinic.consult.pk]
    rule = AvailabilityRule.objects.get(pk=data["id"])
    assert (
        AuditEvent.objects.filter(
            action="create", object_type="scheduling.availabilityrule", object_id=str(rule.pk)
        )
        .get()
        .actor
        == clinic.tenant.doctor
    )


def test_practitioner_cannot_change_a_colleagues_hours(api_as, clinic):
    client = api_as(clinic.tenant.doctor)
    colleague_rule = monday_rule(clinic.second_doctor)

    created = client.post(
        "/api/v1/availability-rules/", rule_body(clinic, practitioner=clinic.second_doctor.pk)
    )
    changed = client.patch(
        f"/api/v1/availability-rules/{colleague_rule.pk}/", {"end_time": "18:00"}
    )
    deleted = client.delete(f"/api/v1/availability-rules/{colleague_rule.pk}/")
    time_off = client.post(
        "/api/v1/availability-exceptions/",
        {
            "practitioner": clinic.second_doctor.pk,
            "kind": "time_off",
            "start": "2026-03-02T09:00:00+11:00",
            "end": "2026-03-02T17:00:00+11:00",
        },
    )

    assert [r.status_code for r in (created, changed, deleted, time_off)] == [403] * 4
    colleague_rule.refresh_from_db()
    assert colleague_rule.end_time == time(17)
    assert clinic.second_doctor.availability_rules.count() == 5
    assert not AvailabilityException.objects.exists()


def test_admin_changes_anyones_hours_in_the_organization(api_as, clinic):
    client = api_as(clinic.tenant.admin)
    rule = monday_rule(clinic.second_doctor)
    response = client.patch(f"/api/v1/availability-rules/{rule.pk}/", {"end_time": "18:30"})
    assert response.status_code == 200, response.content
    rule.refresh_from_db()
    assert rule.end_time == time(18, 30)
    assert client.delete(f"/api/v1/availability-rules/{rule.pk}/").status_code == 204
    assert not AvailabilityRule.objects.filter(pk=rule.pk).exists()
    assert AuditEvent.objects.filter(
        action="delete", object_type="scheduling.availabilityrule", object_id=str(rule.pk)
    ).exists()


def test_another_organizations_schedules_answer_404(api_as, clinic, tenant_b):
    rule = monday_rule(clinic.doctor)
    client = api_as(tenant_b.admin)
    assert client.get(f"/api/v1/availability-rules/{rule.pk}/").status_code == 404
    assert (
        client.patch(f"/api/v1/availability-rules/{rule.pk}/", {"end_time": "10:00"}).status_code
        == 404
    )
    assert client.delete(f"/api/v1/availability-rules/{rule.pk}/").status_code == 404
    assert client.post("/api/v1/availability-rules/", rule_body(clinic)).status_code == 404
    assert client.get(f"/api/v1/doctors/{clinic.doctor.pk}/schedules/").status_code == 404
    assert client.get("/api/v1/availability-rules/").json()["count"] == 0
    rule.refresh_from_db()
    assert rule.end_time == time(17)


def test_patients_see_working_hours_and_absences_but_not_why(api_as, clinic):
    availability_exception_save(
        actor=None,
        practitioner=clinic.doctor,
        kind="time_off",
        start=datetime(2026, 3, 3, 9, tzinfo=SYDNEY),
        end=datetime(2026, 3, 3, 17, tzinfo=SYDNEY),
        reason="Specialist appointment",
    )
    client = api_as(clinic.tenant.patient)
    rules = client.get("/api/v1/availability-rules/", {"practitioner": clinic.doctor.pk})
    assert rules.json()["count"] == 5
    absences = client.get("/api/v1/availability-exceptions/").json()["results"]
    assert len(absences) == 1 and absences[0]["reason"] == ""
    staff_view = api_as(clinic.tenant.staff).get("/api/v1/availability-exceptions/").json()
    assert staff_view["results"][0]["reason"] == "Specialist appointment"
    refused = api_as(clinic.tenant.patient).post("/api/v1/availability-rules/", rule_body(clinic))
    assert refused.status_code == 403


# --- Rules: validation ---------------------------------------------------------------------


def test_overlapping_hours_on_the_same_day_are_refused_with_what_they_overlap(api_as, clinic):
    existing = monday_rule(clinic.doctor)
    response = api_as(clinic.tenant.doctor).post(
        "/api/v1/availability-rules/",
        rule_body(clinic, weekday=0, start_time="16:00", end_time="19:00"),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "availability_overlap"
    assert "Monday 09:00–17:00 at Main" in error["message"]
    assert error["overlaps"] == [existing.pk]
    assert clinic.doctor.availability_rules.count() == 5


def test_several_intervals_a_day_and_later_periods_are_fine(clinic):
    monday = monday_rule(clinic.doctor)
    availability_rule_save(
        actor=None, practitioner=clinic.doctor, rule=monday, end_time=time(12, 30)
    )
    afternoon = availability_rule_save(
        actor=None,
        practitioner=clinic.doctor,
        location=clinic.location,
        weekday=0,
        start_time=time(12, 30),
        end_time=time(17),
    )
    availability_rule_save(
        actor=None, practitioner=clinic.doctor, rule=monday, effective_to=date(2026, 3, 31)
    )
    availability_rule_save(
        actor=None, practitioner=clinic.doctor, rule=afternoon, effective_to=date(2026, 3, 31)
    )
    from_april = availability_rule_save(
        actor=None,
        practitioner=clinic.doctor,
        location=clinic.location,
        weekday=0,
        start_time=time(8),
        end_time=time(14),
        effective_from=date(2026, 4, 1),
    )
    assert from_april.pk and clinic.doctor.availability_rules.filter(weekday=0).count() == 3


def test_changing_a_rule_into_an_overlap_is_refused(api_as, clinic):
    monday = monday_rule(clinic.doctor)
    evening = availability_rule_save(
        actor=None,
        practitioner=clinic.doctor,
        location=clinic.location,
        weekday=0,
        start_time=time(18),
        end_time=time(20),
    )
    response = api_as(clinic.tenant.admin).patch(
        f"/api/v1/availability-rules/{monday.pk}/", {"end_time": "18:30"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["overlaps"] == [evening.pk]
    monday.refresh_from_db()
    assert monday.end_time == time(17)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_time": "08:00"}, "end_time"),
        ({"weekday": 7}, "weekday"),
        ({"start_time": "nine"}, "start_time"),
        ({"effective_from": "2026-05-01", "effective_to": "2026-04-01"}, "effective_to"),
        ({"colour": "blue"}, "colour"),
        ({"services": [999999]}, "services"),
    ],
)
def test_bad_rule_input_is_a_field_error_and_changes_nothing(api_as, clinic, change, field):
    before = AuditEvent.objects.count()
    response = api_as(clinic.tenant.admin).post(
        "/api/v1/availability-rules/", rule_body(clinic, **change)
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert AvailabilityRule.objects.count() == 10
    assert AuditEvent.objects.count() == before


def test_a_location_or_service_of_another_organization_is_refused(api_as, clinic, tenant_b):
    elsewhere = location_save(
        actor=None, organization=tenant_b.organization, name="Far", time_zone="Asia/Kathmandu"
    )
    client = api_as(clinic.tenant.admin)
    response = client.post("/api/v1/availability-rules/", rule_body(clinic, location=elsewhere.pk))
    assert response.status_code == 400
    assert "location" in response.json()["error"]["fields"]
    moved = client.patch(
        f"/api/v1/availability-rules/{monday_rule(clinic.doctor).pk}/",
        {"practitioner": clinic.second_doctor.pk},
    )
    assert moved.status_code == 400
    assert "practitioner" in moved.json()["error"]["fields"]


@pytest.mark.parametrize(
    "query",
    [
        "holidays/?start=9999-12-31",
        "doctors/{doctor}/available-slots/?date=9999-12-31&service={service}",
        "doctors/{doctor}/available-slots/?date=0001-01-01&service={service}",
        "doctors/{doctor}/available-slots/?start=9999-12-30T00:00:00Z"
        "&end=9999-12-31T00:00:00Z&service={service}",
        "availability-exceptions/?start__gte=0001-01-01T00:00:00%2B11:00",
        "doctors/{doctor}/appointments/?start__lt=0001-01-01T00:00:00%2B11:00",
    ],
)
def test_dates_outside_any_schedule_are_a_400_not_a_crash(api_as, clinic, query):
    path = query.format(doctor=clinic.doctor.pk, service=clinic.consult.pk)
    response = api_as(clinic.tenant.admin).get(f"/api/v1/{path}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


# --- Exceptions and closures ----------------------------------------------------------------


def test_time_off_needs_an_offset_and_an_end_after_the_start(api_as, clinic):
    client = api_as(clinic.tenant.doctor)
    base = {"practitioner": clinic.doctor.pk, "kind": "time_off", "reason": "Conference"}
    naive = client.post(
        "/api/v1/availability-exceptions/",
        {**base, "start": "2026-03-02T09:00:00", "end": "2026-03-02T12:00:00+11:00"},
    )
    backwards = client.post(
        "/api/v1/availability-exceptions/",
        {**base, "start": "2026-03-02T12:00:00+11:00", "end": "2026-03-02T09:00:00+11:00"},
    )
    assert naive.status_code == 400 and "start" in naive.json()["error"]["fields"]
    assert backwards.status_code == 400 and "end" in backwards.json()["error"]["fields"]
    assert not AvailabilityException.objects.exists()

    ok = client.post(
        "/api/v1/availability-exceptions/",
        {**base, "start": "2026-03-02T09:00:00+11:00", "end": "2026-03-02T12:00:00+11:00"},
    )
    assert ok.status_code == 201, ok.content
    slots = local_slot_times(doctor_slots(client, clinic, MONDAY))
    assert slots[0] == "12:00" and "09:00" not in slots
    assert client.delete(f"/api/v1/availability-exceptions/{ok.json()['id']}/").status_code == 204
    assert local_slot_times(doctor_slots(client, clinic, MONDAY))[0] == "09:00"


def test_only_admins_close_the_organization_and_everyone_sees_it(api_as, clinic):
    body = {"start_date": "2026-03-02", "end_date": "2026-03-03", "reason": "Staff training"}
    assert api_as(clinic.tenant.doctor).post("/api/v1/closures/", body).status_code == 403
    created = api_as(clinic.tenant.admin).post("/api/v1/closures/", body)
    assert created.status_code == 201, created.content
    one_day = api_as(clinic.tenant.admin).post(
        "/api/v1/closures/", {"start_date": "2026-03-09", "reason": "Stocktake"}
    )
    assert one_day.json()["end_date"] == "2026-03-09"
    listed = api_as(clinic.tenant.patient).get("/api/v1/closures/").json()
    assert [c["reason"] for c in listed["results"]] == ["Staff training", "Stocktake"]
    backwards = api_as(clinic.tenant.admin).post(
        "/api/v1/closures/",
        {"start_date": "2026-03-05", "end_date": "2026-03-04", "reason": "Oops"},
    )
    assert backwards.status_code == 400
    assert Closure.objects.count() == 2


def test_closure_days_are_not_bookable(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    assert doctor_slots(client, clinic, MONDAY).json()
    closure_save(
        actor=None,
        organization=clinic.tenant.organization,
        start_date=MONDAY,
        reason="Staff training",
    )
    assert doctor_slots(client, clinic, MONDAY).json() == []
    assert doctor_slots(client, clinic, MONDAY + timedelta(days=1)).json()


def test_a_public_holiday_is_closed_unless_extra_hours_open_it(api_as, clinic):
    client = api_as(clinic.tenant.patient)
    assert doctor_slots(client, clinic, GOOD_FRIDAY).json() == []
    availability_exception_save(
        actor=None,
        practitioner=clinic.doctor,
        kind="extra",
        start=datetime(2026, 4, 3, 10, tzinfo=SYDNEY),
        end=datetime(2026, 4, 3, 12, tzinfo=SYDNEY),
        reason="Holiday clinic",
    )
    assert local_slot_times(doctor_slots(client, clinic, GOOD_FRIDAY)) == [
        "10:00",
        "10:15",
        "10:30",
        "10:45",
        "11:00",
        "11:15",
        "11:30",
    ]


def test_slot_engine_counts_extra_hours_on_a_closed_day():
    friday = date(2026, 4, 3)
    calendar = PractitionerCalendar(
        practitioner_id=1,
        time_zone="Australia/Sydney",
        rules=(WeeklyRule(4, time(9), time(17)),),
        extra=(
            Interval(
                datetime(2026, 4, 3, 10, tzinfo=SYDNEY), datetime(2026, 4, 3, 11, tzinfo=SYDNEY)
            ),
        ),
    )
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=30),
        window=Interval(datetime(2026, 4, 2, 13, tzinfo=UTC), datetime(2026, 4, 3, 13, tzinfo=UTC)),
        now=NOW,
        closed_days=frozenset({friday}),
    )
    starts = [slot.local_start.strftime("%H:%M") for slot in slots_for(query, [calendar])]
    assert starts == ["10:00", "10:15", "10:30"]


# --- Seed 002 doctor endpoints -----------------------------------------------------------


def test_doctor_schedules_use_seed_002_field_names(api_as, clinic):
    response = api_as(clinic.tenant.patient).get(f"/api/v1/doctors/{clinic.doctor.pk}/schedules/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["day_of_week"] for r in rows] == [0, 1, 2, 3, 4]
    first = rows[0]
    assert first["day_name"] == "Monday" and first["is_available"] is True
    assert (first["start_time"], first["end_time"]) == ("09:00:00", "17:00:00")
    assert first["doctor"] == clinic.doctor.pk and first["time_zone"] == "Australia/Sydney"
    nurse = api_as(clinic.tenant.patient).get(
        f"/api/v1/doctors/{clinic.second_doctor.pk}/schedules/"
    )
    assert nurse.status_code == 404  # a nurse is not a doctor…
    anyone = api_as(clinic.tenant.patient).get(
        f"/api/v1/practitioners/{clinic.second_doctor.pk}/schedules/"
    )
    assert anyone.json()["count"] == 5  # …but is a practitioner


def test_current_schedules_leave_out_rules_that_have_ended(api_as, clinic):
    availability_rule_save(
        actor=None,
        practitioner=clinic.doctor,
        location=clinic.location,
        weekday=5,
        start_time=time(9),
        end_time=time(12),
        effective_to=date(2026, 2, 14),
    )
    url = f"/api/v1/doctors/{clinic.doctor.pk}/schedules/"
    client = api_as(clinic.tenant.staff)
    assert client.get(url).json()["count"] == 6
    current = client.get(url, {"current": "true"}).json()["results"]
    assert [r["day_of_week"] for r in current] == [0, 1, 2, 3, 4]


def test_nine_to_five_stays_nine_to_five_local_across_the_april_clock_change(api_as, clinic):
    client = api_as(clinic.tenant.patient)
    before = doctor_slots(client, clinic, date(2026, 4, 2))  # Thursday, UTC+11
    after = doctor_slots(client, clinic, date(2026, 4, 7))  # Tuesday, UTC+10
    for response, offset in ((before, "+11:00"), (after, "+10:00")):
        slots = response.json()
        assert local_slot_times(response)[0] == "09:00"
        assert local_slot_times(response)[-1] == "16:30"
        assert len(slots) == 31
        assert slots[0]["local_start"].endswith(offset)
    assert before.json()[0]["start"] == "2026-04-01T22:00:00Z"
    assert after.json()[0]["start"] == "2026-04-06T23:00:00Z"


def test_available_slots_take_a_range_and_need_a_service_when_several_are_offered(api_as, clinic):
    client = api_as(clinic.tenant.staff)
    url = f"/api/v1/doctors/{clinic.doctor.pk}/available-slots/"
    ranged = client.get(
        url,
        {
            "service": clinic.consult.pk,
            "start": "2026-03-02T00:00:00+11:00",
            "end": "2026-03-04T00:00:00+11:00",
        },
    )
    assert len(ranged.json()) == 2 * 31
    missing = client.get(url, {"date": MONDAY.isoformat()})
    assert missing.status_code == 400 and "service" in missing.json()["error"]["fields"]
    both = client.get(
        url, {"date": "2026-03-02", "start": "2026-03-02T00:00:00Z", "service": clinic.consult.pk}
    )
    assert both.status_code == 400
    bad_date = client.get(url, {"date": "02/03/2026", "service": clinic.consult.pk})
    assert bad_date.status_code == 400 and "date" in bad_date.json()["error"]["fields"]
    too_long = client.get(
        url,
        {
            "service": clinic.consult.pk,
            "start": "2026-03-02T00:00:00Z",
            "end": "2026-05-02T00:00:00Z",
        },
    )
    assert too_long.status_code == 400
    not_offered = client.get(
        f"/api/v1/practitioners/{clinic.second_doctor.pk}/available-slots/",
        {"date": MONDAY.isoformat(), "service": clinic.mri.pk},
    )
    assert not_offered.status_code == 400
    assert not_offered.json()["error"]["fields"]["service"][0]["code"] == "not_offered"


def test_doctor_appointments_are_listed_and_every_patient_shown_is_audited(api_as, clinic):
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.patient,
        service=clinic.consult,
        start=datetime(2026, 3, 2, 9, tzinfo=SYDNEY),
        practitioner=clinic.doctor,
    )
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=datetime(2026, 3, 2, 9, tzinfo=SYDNEY),
        practitioner=clinic.second_doctor,
    )
    response = api_as(clinic.tenant.staff).get(f"/api/v1/doctors/{clinic.doctor.pk}/appointments/")
    assert response.status_code == 200
    assert [a["patient"] for a in response.json()["results"]] == [clinic.patient.pk]
    reads = AuditEvent.objects.filter(action="read", actor=clinic.tenant.staff)
    assert list(reads.values_list("patient_id", flat=True)) == [str(clinic.patient.pk)]


# --- Holidays ------------------------------------------------------------------------------


def test_holidays_name_public_holidays_and_closures_in_date_order(api_as, clinic):
    closure_save(
        actor=None,
        organization=clinic.tenant.organization,
        start_date=date(2026, 4, 2),
        end_date=date(2026, 4, 3),
        reason="Easter shutdown",
    )
    response = api_as(clinic.tenant.patient).get(
        "/api/v1/holidays/", {"start": "2026-04-01", "end": "2026-04-07"}
    )
    assert response.status_code == 200
    assert [(h["date"], h["name"], h["kind"]) for h in response.json()] == [
        ("2026-04-02", "Easter shutdown", "closure"),
        ("2026-04-03", "Good Friday", "public_holiday"),
        ("2026-04-03", "Easter shutdown", "closure"),
        ("2026-04-04", "Easter Saturday", "public_holiday"),
        ("2026-04-05", "Easter Sunday", "public_holiday"),
        ("2026-04-06", "Easter Monday", "public_holiday"),
    ]
    too_long = api_as(clinic.tenant.patient).get(
        "/api/v1/holidays/", {"start": "2026-01-01", "end": "2027-06-01"}
    )
    assert too_long.status_code == 400


def test_holidays_follow_the_organizations_country(tenant_b):
    organization = tenant_b.organization
    organization.country, organization.subdivision = "NP", ""
    organization.save()
    names = [h["name"] for h in holidays_between(organization, date(2026, 1, 1), date(2026, 1, 31))]
    assert "Prithvi Jayanti" in names and "Australia Day" not in names


def test_an_unknown_country_has_no_public_holidays(tenant_a):
    tenant_a.organization.country = "ZZ"
    assert holidays_between(tenant_a.organization, date(2026, 1, 1), date(2026, 12, 31)) == []


# --- The editor page -----------------------------------------------------------------------


def page(client, user, practitioner, **params):
    client.force_login(user)
    return client.get(reverse("availability", args=[practitioner.pk]), params)


def test_practitioners_edit_their_own_week_and_only_read_a_colleagues(client, clinic):
    own = page(client, clinic.tenant.doctor, clinic.doctor).content.decode()
    assert "Add working hours" in own and "Your working week" in own
    colleague = page(client, clinic.tenant.doctor, clinic.second_doctor).content.decode()
    assert "Add working hours" not in colleague and "09:00–17:00" in colleague
    refused = client.post(
        reverse("availability-rule-add", args=[clinic.second_doctor.pk]),
        {"weekdays": ["5"], "start_time": "09:00", "end_time": "12:00"},
    )
    rule = monday_rule(clinic.second_doctor)
    deleting = client.post(
        reverse("availability-rule-delete", args=[clinic.second_doctor.pk, rule.pk])
    )
    assert refused.status_code == 403 and deleting.status_code == 403
    assert clinic.second_doctor.availability_rules.count() == 5


def test_another_organizations_practitioner_page_is_not_found(client, clinic, tenant_b):
    assert page(client, tenant_b.admin, clinic.doctor).status_code == 404
    response = client.post(
        reverse("availability-rule-add", args=[clinic.doctor.pk]),
        {"weekdays": ["5"], "start_time": "09:00", "end_time": "12:00"},
    )
    assert response.status_code == 404


def test_hours_added_on_several_days_appear_as_blocks_in_the_week(client, clinic):
    client.force_login(clinic.tenant.doctor)
    response = client.post(
        reverse("availability-rule-add", args=[clinic.doctor.pk]),
        {
            "weekdays": ["5", "6"],
            "start_time": "10:00",
            "end_time": "13:30",
            "location": clinic.location.pk,
            "services": [clinic.consult.pk],
        },
    )
    assert response.status_code == 302
    weekend = clinic.doctor.availability_rules.filter(weekday__in=[5, 6])
    assert [(r.weekday, r.start_time, r.end_time) for r in weekend] == [
        (5, time(10), time(13, 30)),
        (6, time(10), time(13, 30)),
    ]
    assert [s.name for s in weekend[0].services.all()] == ["Consult"]
    html = client.get(response["Location"]).content.decode()
    assert "Working hours 10:00–13:30 added on Saturday, Sunday." in html
    # 30-minute rows: 09:00–17:00 spans 16 rows, 10:00–13:30 spans 7.
    assert html.count('rowspan="16"') == 5 and html.count('rowspan="7"') == 2
    assert "Consult only" in html


def test_an_overlap_is_shown_on_the_form_and_no_day_is_saved(client, clinic):
    client.force_login(clinic.tenant.admin)
    response = client.post(
        reverse("availability-rule-add", args=[clinic.doctor.pk]),
        {
            "weekdays": ["5", "0"],
            "start_time": "16:00",
            "end_time": "18:00",
            "location": clinic.location.pk,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Overlaps Monday 09:00–17:00 at Main." in html and 'role="alert"' in html
    assert not clinic.doctor.availability_rules.filter(weekday=5).exists()
    backwards = client.post(
        reverse("availability-rule-add", args=[clinic.doctor.pk]),
        {"weekdays": ["5"], "start_time": "12:00", "end_time": "09:00"},
    )
    assert "The end must be after the start." in backwards.content.decode()
    assert clinic.doctor.availability_rules.count() == 5


def test_admin_edits_and_deletes_a_rule_from_the_page(client, clinic):
    client.force_login(clinic.tenant.admin)
    rule = monday_rule(clinic.second_doctor)
    url = reverse("availability-rule-edit", args=[clinic.second_doctor.pk, rule.pk])
    form = client.get(url).content.decode()
    assert 'value="09:00"' in form and "Delete Monday 09:00–17:00" in form
    saved = client.post(
        url,
        {
            "weekday": "0",
            "start_time": "08:30",
            "end_time": "12:00",
            "location": clinic.location.pk,
            "effective_to": "2026-06-30",
        },
    )
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.start_time, rule.end_time, rule.effective_to) == (
        time(8, 30),
        time(12),
        date(2026, 6, 30),
    )
    clash = client.post(
        url,
        {"weekday": "1", "start_time": "10:00", "end_time": "11:00", "location": rule.location_id},
    )
    assert "Overlaps Tuesday 09:00–17:00 at Main." in clash.content.decode()
    rule.refresh_from_db()
    assert rule.weekday == 0
    deleted = client.post(
        reverse("availability-rule-delete", args=[clinic.second_doctor.pk, rule.pk])
    )
    assert deleted.status_code == 302
    assert not AvailabilityRule.objects.filter(pk=rule.pk).exists()


def test_time_off_is_entered_in_the_practitioners_local_time(client, clinic):
    client.force_login(clinic.tenant.doctor)
    response = client.post(
        reverse("availability-exception-add", args=[clinic.doctor.pk]),
        {
            "kind": "time_off",
            "start": "2026-03-03T09:00",
            "end": "2026-03-03T13:00",
            "reason": "Dentist",
        },
    )
    assert response.status_code == 302
    exception = clinic.doctor.availability_exceptions.get()
    assert exception.start == datetime(2026, 3, 2, 22, tzinfo=UTC)
    html = client.get(response["Location"]).content.decode()
    assert "Tue 3 Mar 09:00 – Tue 3 Mar 13:00" in html and "Dentist" in html
    assert AuditEvent.objects.filter(
        action="create", object_type="scheduling.availabilityexception", actor=clinic.tenant.doctor
    ).exists()

    invalid = client.post(
        reverse("availability-exception-add", args=[clinic.doctor.pk]),
        {"kind": "extra", "start": "2026-03-03T13:00", "end": "2026-03-03T09:00"},
    )
    assert "The end must be after the start." in invalid.content.decode()
    ancient = client.post(
        reverse("availability-exception-add", args=[clinic.doctor.pk]),
        {"kind": "extra", "start": "0001-01-01T09:00", "end": "0001-01-01T10:00"},
    )
    assert "Choose a date between 1900 and 2199." in ancient.content.decode()
    assert page(client, clinic.tenant.doctor, clinic.doctor, week="0001-01-01").status_code == 200
    assert clinic.doctor.availability_exceptions.count() == 1

    removed = client.post(
        reverse("availability-exception-delete", args=[clinic.doctor.pk, exception.pk])
    )
    assert removed.status_code == 302 and not clinic.doctor.availability_exceptions.exists()


def test_patients_see_the_week_but_not_why_a_practitioner_is_away(client, clinic):
    availability_exception_save(
        actor=None,
        practitioner=clinic.doctor,
        kind="time_off",
        start=datetime(2026, 3, 3, 9, tzinfo=SYDNEY),
        end=datetime(2026, 3, 3, 17, tzinfo=SYDNEY),
        reason="Surgery of her own",
    )
    html = page(client, clinic.tenant.patient, clinic.doctor).content.decode()
    assert "Time off" in html and "Surgery of her own" not in html
    assert "Add working hours" not in html and "Delete" not in html


def test_the_week_marks_public_holidays_and_the_next_eight_weeks_are_listed(client, clinic):
    html = page(client, clinic.tenant.doctor, clinic.doctor, week="2026-04-01").content.decode()
    assert "Week of 30 Mar 2026" in html
    assert '<span class="avail-blocks__holiday">Good Friday</span>' in html
    # Good Friday's 09:00–17:00 block is marked closed; Thursday's is not.
    assert html.count('class="avail-block is-closed"') == 1
    assert html.count('class="avail-block"') == 4
    # NOW is 20 February: the next eight weeks reach Good Friday and Easter Monday.
    assert "Friday 3 April 2026" in html and "Monday 6 April 2026" in html
    assert "ANZAC Day" not in html


def test_admins_close_the_organization_and_others_only_read_the_closures(client, clinic):
    client.force_login(clinic.tenant.admin)
    added = client.post(
        reverse("closures"), {"start_date": "2026-03-09", "reason": "Staff training"}
    )
    assert added.status_code == 302
    closure = Closure.objects.get()
    assert closure.end_date == date(2026, 3, 9)
    listing = client.get(reverse("closures")).content.decode()
    assert "Staff training" in listing and "Good Friday" in listing
    invalid = client.post(
        reverse("closures"),
        {"start_date": "2026-03-09", "end_date": "2026-03-01", "reason": "Backwards"},
    )
    assert "The last day must not be before the first day." in invalid.content.decode()

    client.force_login(clinic.tenant.doctor)
    read_only = client.get(reverse("closures")).content.decode()
    assert "Staff training" in read_only and "Add closure" not in read_only
    assert (
        client.post(reverse("closures"), {"start_date": "2026-03-10", "reason": "X"}).status_code
        == 403
    )
    assert client.post(reverse("closure-delete", args=[closure.pk])).status_code == 403

    client.force_login(clinic.tenant.admin)
    assert client.post(reverse("closure-delete", args=[closure.pk])).status_code == 302
    assert not Closure.objects.exists()


@pytest.mark.parametrize(("who", "shown"), [("admin", True), ("staff", True), ("patient", False)])
def test_the_sidebar_leads_admins_and_front_desk_to_everyones_working_hours(
    client, clinic, who, shown
):
    client.force_login(getattr(clinic.tenant, who))
    nav = {item["label"]: item["url"] for item in client.get("/").context["nav_items"]}
    assert ("Working hours" in nav) is shown
    if shown:
        html = client.get(nav["Working hours"]).content.decode()
        assert reverse("availability", args=[clinic.doctor.pk]) in html
        assert reverse("availability", args=[clinic.second_doctor.pk]) in html


@st.composite
def day_plans(draw):
    """Non-overlapping intervals (5-minute boundaries) on each weekday, some of them limited
    to an effective period."""
    rules, pk = [], 0
    for weekday in range(7):
        bounds = sorted(draw(st.sets(st.integers(0, 287), max_size=6)))
        for start, end in zip(bounds[::2], bounds[1::2], strict=False):
            pk += 1
            rules.append(
                SimpleNamespace(
                    pk=pk,
                    weekday=weekday,
                    start_time=time(start * 5 // 60, start * 5 % 60),
                    end_time=time(end * 5 // 60, end * 5 % 60),
                    effective_from=draw(st.sampled_from([None, date(2026, 3, 1), MONDAY])),
                    effective_to=draw(st.sampled_from([None, date(2026, 3, 4)])),
                )
            )
    return rules


def minutes_of(moment) -> int:
    hours, minutes = (moment if isinstance(moment, str) else moment.strftime("%H:%M")).split(":")
    return int(hours) * 60 + int(minutes)


@given(day_plans())
def test_week_grid_shows_each_rule_in_effect_once_with_its_exact_length(rules):
    days = [MONDAY + timedelta(days=n) for n in range(7)]
    rows = week_grid(rules, days, closed={days[4]})
    step = minutes_of(rows[1].label) - minutes_of(rows[0].label)
    shown = [cell for row in rows for cell in row.cells if cell.rule is not None]
    in_effect = [
        r
        for r in rules
        if (r.effective_from is None or r.effective_from <= days[r.weekday])
        and (r.effective_to is None or days[r.weekday] <= r.effective_to)
    ]
    assert sorted(c.rule.pk for c in shown) == sorted(r.pk for r in in_effect)
    for cell in shown:
        length = minutes_of(cell.rule.end_time) - minutes_of(cell.rule.start_time)
        assert cell.rows * step == length
        assert cell.day == days[cell.rule.weekday] and cell.closed == (cell.day == days[4])
    # Every column is filled exactly: one cell per row, or a block covering several.
    for day in days:
        covered = sum(c.rows for row in rows for c in row.cells if c.day == day)
        assert covered == len(rows)


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_rules_save_once(clinic):
    from caresync.core.errors import ApplicationError
    from caresync.scheduling.tests.test_races import run_concurrently

    def add(index):
        try:
            availability_rule_save(
                actor=None,
                practitioner=clinic.doctor,
                location=clinic.location,
                weekday=5,
                start_time=time(9),
                end_time=time(12),
            )
            return "saved"
        except ApplicationError as exc:
            return exc.code

    outcomes = run_concurrently(add, count=8)
    assert sorted(outcomes) == ["availability_overlap"] * 7 + ["saved"]
    assert clinic.doctor.availability_rules.filter(weekday=5).count() == 1
