"""Series pages: "Repeat" at the booking confirm step with the per-date preview, booking the
whole series, and the series panel with its cancel buttons on an appointment's page."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from caresync.core.models import AuditEvent
from caresync.directory.services import patient_update
from caresync.scheduling.models import Appointment, AppointmentSeries
from caresync.scheduling.services import appointment_book, appointment_series_book
from caresync.scheduling.tests.conftest import NOW

pytestmark = pytest.mark.django_db
SYDNEY = ZoneInfo("Australia/Sydney")
# Tuesday 3 March 2026, 09:00 in Sydney.
FIRST = datetime(2026, 3, 3, 9, tzinfo=SYDNEY)


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(client, user):
    client.force_login(user)
    return client


def repeat(clinic, **extra):
    return {
        "patient": clinic.patient.pk,
        "service": clinic.consult.pk,
        "practitioner": clinic.doctor.pk,
        "start": FIRST.isoformat(),
        "every": "1",
        "ends": "count",
        "count": "4",
        **extra,
    }


def series_of(clinic, count=4, patient=None):
    return appointment_series_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient or clinic.patient,
        practitioner=clinic.doctor,
        service=clinic.consult,
        first_start=FIRST,
        rrule=f"FREQ=WEEKLY;COUNT={count}",
    )


def test_the_confirm_step_offers_repeat_when_a_practitioner_is_chosen(client, clinic):
    signed_in(client, clinic.tenant.staff)
    confirm = {
        "patient": clinic.patient.pk,
        "service": clinic.consult.pk,
        "start": "2026-03-02T22:00:00Z",
    }
    page = client.get(reverse("booking"), {**confirm, "practitioner": clinic.doctor.pk})
    assert "Repeat this visit" in page.content.decode()
    assert reverse("booking-series") in page.content.decode()
    anyone = client.get(reverse("booking"), {**confirm, "practitioner": "any"})
    assert anyone.status_code == 200
    assert "Repeat this visit" not in anyone.content.decode()


def test_staff_preview_every_date_then_book_the_whole_series(client, clinic):
    signed_in(client, clinic.tenant.staff)
    page = client.get(reverse("booking-series"), repeat(clinic))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="pill pill--ok"') == 4
    assert "Every date is free" in html
    assert "every week, 4 visits" in html
    assert "Book all 4 visits" in html
    assert not Appointment.objects.exists()
    assert AuditEvent.objects.filter(
        action="read", patient_id=str(clinic.patient.pk), reason="booking"
    ).exists()

    booked = client.post(reverse("booking-series"), {**repeat(clinic), "reason": "Rehab"})
    series = AppointmentSeries.objects.get()
    visits = list(series.appointments.order_by("start"))
    assert booked.status_code == 302
    assert booked.url == reverse("appointment-detail", args=[visits[0].pk])
    assert [v.start.astimezone(SYDNEY).strftime("%a %d %H:%M") for v in visits] == [
        "Tue 03 09:00",
        "Tue 10 09:00",
        "Tue 17 09:00",
        "Tue 24 09:00",
    ]
    assert {v.reason for v in visits} == {"Rehab"}


def test_a_taken_date_shows_alternatives_and_nothing_can_be_booked(client, clinic):
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=FIRST + timedelta(weeks=2),
        practitioner=clinic.doctor,
    )
    signed_in(client, clinic.tenant.staff)
    html = client.get(reverse("booking-series"), repeat(clinic)).content.decode()
    assert "1 of 4 not free" in html
    assert "Taken" in html
    assert re.search(r"Free nearby: Tue 17 Mar \d\d:\d\d", html)
    assert "Book all" not in html
    # Sent anyway (a stale page): refused as a whole.
    refused = client.post(reverse("booking-series"), repeat(clinic))
    assert refused.status_code == 409
    assert "Nothing was booked" in refused.content.decode()
    assert Appointment.objects.count() == 1
    assert not AppointmentSeries.objects.exists()


def test_an_incomplete_repeat_is_a_400_that_says_what_is_missing(client, clinic):
    signed_in(client, clinic.tenant.staff)
    page = client.get(reverse("booking-series"), repeat(clinic, ends="until"))
    assert page.status_code == 400
    assert "Choose the last date." in page.content.decode()
    too_long = client.get(reverse("booking-series"), repeat(clinic, count="20"))
    assert too_long.status_code == 400
    assert "end the series by" in too_long.content.decode()


def test_patients_cannot_use_the_repeat_page(client, clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    signed_in(client, clinic.tenant.patient)
    assert client.get(reverse("booking-series"), repeat(clinic)).status_code == 403
    assert client.post(reverse("booking-series"), repeat(clinic)).status_code == 403
    assert not Appointment.objects.exists()


def test_an_occurrence_shows_its_place_in_the_series_and_links_to_the_others(client, clinic):
    visits = list(series_of(clinic).appointments.order_by("start"))
    signed_in(client, clinic.tenant.staff)
    html = client.get(reverse("appointment-detail", args=[visits[1].pk])).content.decode()
    assert "Part of a series (2 of 4)" in html
    for other in (visits[0], visits[2], visits[3]):
        assert reverse("appointment-detail", args=[other.pk]) in html
    assert "Cancel this occurrence" in html
    assert "Cancel 3 visits" in html
    single = appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=FIRST + timedelta(days=1),
        practitioner=clinic.doctor,
    )
    other = client.get(reverse("appointment-detail", args=[single.pk])).content.decode()
    assert "Part of a series" not in other


def test_staff_cancel_one_occurrence_then_this_and_following(client, clinic):
    visits = list(series_of(clinic).appointments.order_by("start"))
    signed_in(client, clinic.tenant.staff)
    url = reverse("series-cancel", args=[visits[0].pk])
    client.post(url, {"scope": "this", "reason": "Unwell"})
    url = reverse("series-cancel", args=[visits[2].pk])
    response = client.post(url, {"scope": "following", "reason": "Discharged"}, follow=True)
    assert "This visit and the following ones are cancelled." in response.content.decode()
    statuses = list(Appointment.objects.order_by("start").values_list("status", flat=True))
    assert statuses == ["cancelled", "scheduled", "cancelled", "cancelled"]


def test_a_patient_inside_the_window_is_told_and_nothing_is_cancelled(client, clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    visits = list(series_of(clinic).appointments.order_by("start"))
    with time_machine.travel(visits[0].start - timedelta(hours=3), tick=False):
        signed_in(client, clinic.tenant.patient)  # signed in that day: sessions expire
        page = client.get(reverse("appointment-detail", args=[visits[0].pk]))
        assert "Cancel this and following" in page.content.decode()
        response = client.post(
            reverse("series-cancel", args=[visits[0].pk]), {"scope": "following"}, follow=True
        )
    assert "up to 24 hours before" in response.content.decode()
    assert not Appointment.objects.filter(status="cancelled").exists()
    with time_machine.travel(visits[0].start - timedelta(hours=3), tick=False):
        client.post(reverse("series-cancel", args=[visits[1].pk]), {"scope": "following"})
    statuses = list(Appointment.objects.order_by("start").values_list("status", flat=True))
    assert statuses == ["scheduled", "cancelled", "cancelled", "cancelled"]


def test_another_organization_cannot_cancel_a_series(client, clinic, tenant_b):
    visits = list(series_of(clinic).appointments.order_by("start"))
    signed_in(client, tenant_b.admin)
    response = client.post(
        reverse("series-cancel", args=[visits[0].pk]), {"scope": "following", "reason": "x"}
    )
    assert response.status_code == 404
    assert client.get(reverse("appointment-detail", args=[visits[0].pk])).status_code == 404
    assert not Appointment.objects.filter(status="cancelled").exists()
