"""Scheduling pages: booking, appointment detail and actions, lists, dashboards, calendar
feed and availability, including who must not see or do what."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from caresync.directory.services import patient_update
from caresync.scheduling.models import Appointment
from caresync.scheduling.services import appointment_book
from caresync.scheduling.tests.conftest import MONDAY, NOW

# Monday 2 March 2026 09:00 in Sydney (UTC+11) is 22:00 UTC on the Sunday.
NINE = datetime(2026, 3, 1, 22, tzinfo=UTC)


@pytest.fixture
def patient_user(clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    return clinic.tenant.patient


def signed_in(client, user):
    client.force_login(user)
    return client


def book(clinic, patient=None, start=NINE, practitioner=None):
    return appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient or clinic.patient,
        service=clinic.consult,
        start=start,
        practitioner=practitioner or clinic.doctor,
        reason="Check-up",
    )


@time_machine.travel(NOW, tick=False)
def test_patient_books_a_visit_step_by_step_and_lands_on_the_summary(client, clinic, patient_user):
    signed_in(client, patient_user)
    url = reverse("booking")

    services = client.get(url)
    assert "Consult" in services.content.decode()

    days = client.get(url, {"service": clinic.consult.pk, "practitioner": "any"})
    page = days.content.decode()
    assert "Times are in Australia/Sydney" in page
    # Saturday 21 February has no working hours: shown, but not a link.
    assert 'class="day-chip is-disabled"' in page

    times = client.get(
        url, {"service": clinic.consult.pk, "practitioner": "any", "day": MONDAY.isoformat()}
    )
    assert ">09:00<" in times.content.decode()

    response = client.post(
        url,
        {
            "service": clinic.consult.pk,
            "practitioner": "any",
            "start": "2026-03-01T22:00:00Z",
            "reason": "Sore knee",
        },
    )
    appointment = Appointment.objects.get(patient=clinic.patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("booking-success", args=[appointment.pk])
    assert appointment.start == NINE and appointment.reason == "Sore knee"
    assert appointment.created_by == patient_user

    success = client.get(response["Location"]).content.decode()
    assert "Appointment booked" in success
    assert "Monday 2 March 2026, 09:00–09:30" in success
    assert reverse("appointment-detail", args=[appointment.pk]) in success


@time_machine.travel(NOW, tick=False)
def test_a_taken_time_shows_the_nearest_free_times_to_book_instead(client, clinic, patient_user):
    book(clinic, patient=clinic.other_patient)
    signed_in(client, patient_user)

    response = client.post(
        reverse("booking"),
        {
            "service": clinic.consult.pk,
            "practitioner": clinic.doctor.pk,
            "start": "2026-03-01T22:00:00Z",
        },
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert "Someone just took that time" in page
    # 09:30 local, the next free time with the same doctor, is offered as a button.
    assert 'name="start" value="2026-03-01T22:30:00Z"' in page
    assert not Appointment.objects.filter(patient=clinic.patient).exists()

    retry = client.post(
        reverse("booking"),
        {
            "service": clinic.consult.pk,
            "practitioner": clinic.doctor.pk,
            "start": "2026-03-01T22:30:00Z",
        },
    )
    assert retry.status_code == 302
    assert Appointment.objects.get(patient=clinic.patient).start == NINE + timedelta(minutes=30)


@time_machine.travel(NOW, tick=False)
def test_staff_pick_the_patient_before_booking_for_them(client, clinic):
    signed_in(client, clinic.tenant.staff)

    search = client.get(reverse("booking"), {"q": "Lovelace"}).content.decode()
    assert "Ada Lovelace" in search and "Alan Turing" not in search

    response = client.post(
        reverse("booking"),
        {
            "patient": clinic.patient.pk,
            "service": clinic.consult.pk,
            "practitioner": clinic.second_doctor.pk,
            "start": "2026-03-01T22:00:00Z",
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.patient == clinic.patient
    assert appointment.practitioner == clinic.second_doctor


@time_machine.travel(NOW, tick=False)
def test_a_patient_cannot_book_for_someone_else(client, clinic, patient_user):
    signed_in(client, patient_user)
    client.post(
        reverse("booking"),
        {
            "patient": clinic.other_patient.pk,
            "service": clinic.consult.pk,
            "practitioner": "any",
            "start": "2026-03-01T22:00:00Z",
        },
    )
    assert Appointment.objects.get().patient == clinic.patient


@time_machine.travel(NOW, tick=False)
def test_another_organizations_appointment_is_not_found(client, clinic, tenant_b):
    appointment = book(clinic)
    url = reverse("appointment-detail", args=[appointment.pk])
    assert signed_in(client, tenant_b.staff).get(url).status_code == 404
    action = reverse("appointment-action", args=[appointment.pk])
    assert client.post(action, {"action": "check_in"}).status_code == 404
    assert Appointment.objects.get().status == "scheduled"


@time_machine.travel(NOW, tick=False)
def test_patient_sees_only_their_own_appointments_and_no_clinic_buttons(
    client, clinic, patient_user
):
    own = book(clinic)
    other = book(clinic, patient=clinic.other_patient, start=NINE + timedelta(hours=1))
    signed_in(client, patient_user)

    assert client.get(reverse("appointment-detail", args=[other.pk])).status_code == 404
    listing = client.get(reverse("appointment-list")).content.decode()
    assert reverse("appointment-detail", args=[own.pk]) in listing
    assert reverse("appointment-detail", args=[other.pk]) not in listing
    assert "Alan Turing" not in listing

    detail = client.get(reverse("appointment-detail", args=[own.pk])).content.decode()
    assert "Cancel appointment" in detail and "Confirm" in detail
    assert "Check in" not in detail and "Mark no-show" not in detail

    refused = client.post(reverse("appointment-action", args=[own.pk]), {"action": "check_in"})
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.status == "scheduled"


@time_machine.travel(NOW, tick=False)
def test_patient_cancels_and_the_history_shows_it(client, clinic, patient_user):
    appointment = book(clinic)
    signed_in(client, patient_user)
    url = reverse("appointment-action", args=[appointment.pk])

    response = client.post(url, {"action": "cancel", "reason": "Feeling better"}, follow=True)

    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    page = response.content.decode()
    assert "Your appointment is cancelled." in page
    assert "Scheduled → Cancelled" in page and "Feeling better" in page


def test_inside_the_cancellation_window_a_patient_is_told_to_call(client, clinic, patient_user):
    with time_machine.travel(NOW, tick=False):
        appointment = book(clinic)
    with time_machine.travel(NINE - timedelta(hours=2), tick=False):
        response = signed_in(client, patient_user).post(
            reverse("appointment-action", args=[appointment.pk]),
            {"action": "cancel"},
            follow=True,
        )
    assert "Please call the clinic" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_staff_checks_a_patient_in_from_the_front_desk_queue(client, clinic):
    with time_machine.travel(NOW, tick=False):
        appointment = book(clinic)
        book(clinic, patient=clinic.other_patient, start=NINE + timedelta(days=1))  # tomorrow
    with time_machine.travel(NINE - timedelta(minutes=10), tick=False):
        signed_in(client, clinic.tenant.staff)
        queue = client.get(reverse("web:dashboard")).content.decode()
        assert "Ada Lovelace" in queue and "Alan Turing" not in queue
        assert 'Check in<span class="sr-only"> Ada Lovelace' in queue

        response = client.post(
            reverse("appointment-action", args=[appointment.pk]),
            {"action": "check_in", "next": reverse("web:dashboard")},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("web:dashboard")
        appointment.refresh_from_db()
        assert appointment.status == "checked_in"

        after = client.get(reverse("web:dashboard")).content.decode()
        assert "Ada Lovelace: checked in." in after
        assert 'Check in<span class="sr-only"> Ada Lovelace' not in after


def test_practitioner_dashboard_lists_only_their_own_visits_today(client, clinic):
    with time_machine.travel(NOW, tick=False):
        book(clinic)
        book(clinic, patient=clinic.other_patient, practitioner=clinic.second_doctor)
    with time_machine.travel(NINE - timedelta(hours=1), tick=False):
        page = signed_in(client, clinic.tenant.doctor).get(reverse("web:dashboard"))
    html = page.content.decode()
    assert "Ada Lovelace" in html and "Alan Turing" not in html
    assert page.context["today_count"] == 1


@time_machine.travel(NOW, tick=False)
def test_patient_dashboard_shows_the_next_visit(client, clinic, patient_user):
    book(clinic)
    html = signed_in(client, patient_user).get(reverse("web:dashboard")).content.decode()
    assert "Mon 2 Mar, 09:00" in html
    assert reverse("booking") in html


@time_machine.travel(NOW, tick=False)
def test_calendar_feed_returns_own_organization_appointments_in_the_window(
    client, clinic, tenant_b
):
    inside = book(clinic)
    book(clinic, patient=clinic.other_patient, start=NINE + timedelta(days=7))  # next week
    window = {"start": "2026-03-02T00:00:00", "end": "2026-03-09T00:00:00"}

    events = signed_in(client, clinic.tenant.staff).get(reverse("calendar-events"), window).json()
    assert [event["id"] for event in events] == [str(inside.pk)]
    assert events[0]["start"] == "2026-03-02T09:00:00"  # Sydney wall time
    assert events[0]["title"] == "Ada Lovelace · Consult"
    assert events[0]["url"] == reverse("appointment-detail", args=[inside.pk])
    assert events[0]["backgroundColor"]

    other = signed_in(client, tenant_b.staff).get(reverse("calendar-events"), window).json()
    assert other == []


@time_machine.travel(NOW, tick=False)
def test_patients_have_no_calendar(client, clinic, patient_user):
    signed_in(client, patient_user)
    assert client.get(reverse("calendar")).status_code == 403
    window = {"start": "2026-03-02T00:00:00", "end": "2026-03-09T00:00:00"}
    assert client.get(reverse("calendar-events"), window).status_code == 403


@time_machine.travel(NOW, tick=False)
def test_calendar_page_allows_fullcalendar_styles_by_nonce_only(client, clinic):
    response = signed_in(client, clinic.tenant.doctor).get(reverse("calendar"))
    policy = response["Content-Security-Policy"]
    style = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    nonce = style.split("'nonce-")[1].split("'")[0]
    assert "unsafe-inline" not in policy
    assert f'<meta name="csp-nonce" content="{nonce}">' in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_availability_shows_the_weekly_hours(client, clinic, patient_user):
    page = signed_in(client, patient_user).get(reverse("availability", args=[clinic.doctor.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "09:00–17:00" in html and "Not working" in html


@time_machine.travel(NOW, tick=False)
def test_navigation_offers_booking_to_patients_and_the_calendar_to_the_clinic(
    client, clinic, patient_user
):
    patient_page = signed_in(client, patient_user).get(reverse("web:dashboard"))
    labels = [item["label"] for item in patient_page.context["nav_items"]]
    assert "Book a visit" in labels and "Appointments" in labels and "Calendar" not in labels
    staff_page = signed_in(client, clinic.tenant.staff).get(reverse("web:dashboard"))
    labels = [item["label"] for item in staff_page.context["nav_items"]]
    assert "Calendar" in labels and "Book a visit" not in labels
