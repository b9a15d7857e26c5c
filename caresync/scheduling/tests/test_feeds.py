"""Calendar feeds and .ics files: RFC 5545 output with VTIMEZONE, the secret revocable feed
URL, who may manage it, PHI minimisation and the audit trail."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from caresync.core.models import AuditEvent
from caresync.directory.models import Patient
from caresync.directory.services import patient_update
from caresync.scheduling.calendars import patient_initials
from caresync.scheduling.models import CalendarFeed
from caresync.scheduling.services import (
    appointment_book,
    appointment_transition,
    calendar_feed_create,
    calendar_feed_revoke,
)
from caresync.scheduling.tests.conftest import NOW

# Sydney leaves daylight saving at 03:00 on Sunday 5 April 2026 (UTC+11 → UTC+10); the
# Friday and Monday around it are Easter holidays.
BEFORE_DST = datetime(2026, 4, 1, 22, tzinfo=UTC)  # Thursday 2 April, 09:00 AEDT
AFTER_DST = datetime(2026, 4, 6, 23, tzinfo=UTC)  # Tuesday 7 April, 09:00 AEST
MARCH_NINE = datetime(2026, 3, 1, 22, tzinfo=UTC)  # Monday 2 March, 09:00 AEDT


def book(clinic, start, *, patient=None, practitioner=None, service=None, **fields):
    return appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient or clinic.patient,
        service=service or clinic.consult,
        start=start,
        practitioner=practitioner or clinic.doctor,
        **fields,
    )


def new_feed(clinic, practitioner=None):
    """A live feed for the doctor (or ``practitioner``); returns (feed, feed path)."""
    feed, token = calendar_feed_create(
        actor=clinic.tenant.admin, practitioner=practitioner or clinic.doctor
    )
    return feed, reverse("calendar-feed-ics", args=[token])


def fetch(client, path) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events_by_uid(calendar: Calendar) -> dict:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


@pytest.fixture
def patient_user(clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    return clinic.tenant.patient


# --- The feed's iCalendar ----------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_feed_has_a_sydney_vtimezone_and_keeps_nine_oclock_across_the_dst_change(client, clinic):
    before = book(clinic, BEFORE_DST)
    after = book(clinic, AFTER_DST)
    _, path = new_feed(clinic)

    raw = client.get(path).content.decode()
    calendar = Calendar.from_ical(raw)

    (zone,) = [tz for tz in calendar.walk("VTIMEZONE") if str(tz["TZID"]) == "Australia/Sydney"]
    # Local wall times of the changes (naive: they are in the zone being defined).
    standard = {
        sub["DTSTART"].dt.isoformat(): sub["TZOFFSETTO"].td for sub in zone.walk("STANDARD")
    }
    daylight = {sub["TZOFFSETTO"].td for sub in zone.walk("DAYLIGHT")}
    assert standard["2026-04-05T03:00:00"] == timedelta(hours=10)  # AEDT ends at 03:00
    assert daylight == {timedelta(hours=11)}

    events = events_by_uid(calendar)
    for appointment, utc_start in ((before, BEFORE_DST), (after, AFTER_DST)):
        event = events[f"appointment-{appointment.pk}@127.0.0.1"]
        assert event["DTSTART"].params["TZID"] == "Australia/Sydney"
        assert (event.start.hour, event.start.minute) == (9, 0)
        assert event.start == utc_start
        assert event.end - event.start == timedelta(minutes=30)
    assert "DTSTART;TZID=Australia/Sydney:20260402T090000" in raw
    assert "DTSTART;TZID=Australia/Sydney:20260407T090000" in raw
    assert calendar.get_missing_tzids() == set()
    assert calendar.calendar_name == f"{clinic.doctor} · CareSync"
    assert calendar.refresh_interval == timedelta(hours=1)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in raw
    assert "X-PUBLISHED-TTL:PT1H" in raw


@time_machine.travel(NOW, tick=False)
def test_feed_names_patients_by_initials_only(client, clinic):
    appointment = book(
        clinic, MARCH_NINE, reason="Chest pain", notes="Type 2 diabetes, on metformin"
    )
    _, path = new_feed(clinic)

    raw = client.get(path).content.decode()
    (event,) = Calendar.from_ical(raw).walk("VEVENT")

    assert str(event["SUMMARY"]) == "A. L. · Consult"
    assert str(event["LOCATION"]) == "Main"
    assert str(event["URL"]) == f"http://testserver/appointments/{appointment.pk}/"
    for secret in ("Lovelace", "Ada", "Chest pain", "diabetes", clinic.patient.mrn):
        assert secret not in raw


@time_machine.travel(NOW, tick=False)
def test_cancelled_appointment_stays_in_the_feed_as_cancelled_with_a_higher_sequence(
    client, clinic
):
    appointment = book(clinic, MARCH_NINE)
    _, path = new_feed(clinic)
    uid = f"appointment-{appointment.pk}@127.0.0.1"

    booked = events_by_uid(fetch(client, path))[uid]
    assert (str(booked["STATUS"]), booked["SEQUENCE"]) == ("CONFIRMED", 0)

    appointment_transition(
        actor=clinic.tenant.staff, appointment=appointment, action="cancel", reason="Unwell"
    )
    cancelled = events_by_uid(fetch(client, path))[uid]

    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["SEQUENCE"] > booked["SEQUENCE"]
    assert str(cancelled["SUMMARY"]).startswith("Cancelled: ")
    assert str(cancelled["TRANSP"]) == "TRANSPARENT"


@time_machine.travel(NOW, tick=False)
def test_requests_are_tentative(client, clinic):
    book(clinic, MARCH_NINE, request_only=True)
    _, path = new_feed(clinic)

    (event,) = fetch(client, path).walk("VEVENT")

    assert str(event["STATUS"]) == "TENTATIVE"


def test_feed_shows_only_the_practitioners_appointments_from_30_days_back_to_180_ahead(
    client, clinic
):
    with time_machine.travel(NOW, tick=False):
        old = book(clinic, MARCH_NINE)
        recent = book(clinic, BEFORE_DST)
        colleague = book(
            clinic, BEFORE_DST, patient=clinic.other_patient, practitioner=clinic.second_doctor
        )
        _, path = new_feed(clinic)
    clinic.consult.booking_horizon_days = 400
    clinic.consult.save()
    # On 10 April, 2 March is 39 days back and 2 April 8 days back.
    with time_machine.travel(datetime(2026, 4, 10, tzinfo=UTC), tick=False):
        within = book(clinic, datetime(2026, 10, 5, 22, tzinfo=UTC))  # 6 Oct, 179 days ahead
        beyond = book(clinic, datetime(2026, 10, 12, 22, tzinfo=UTC))  # 13 Oct, 186 days
        uids = set(events_by_uid(fetch(client, path)))

    def uid(appointment):
        return f"appointment-{appointment.pk}@127.0.0.1"

    assert uids == {uid(recent), uid(within)}
    assert not uids & {uid(old), uid(colleague), uid(beyond)}


# --- The secret URL ------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_replaced_and_revoked_feed_urls_answer_404(client, clinic):
    first, first_path = new_feed(clinic)
    assert client.get(first_path).status_code == 200

    second, second_path = new_feed(clinic)
    assert client.get(first_path).status_code == 404
    assert client.get(second_path).status_code == 200

    calendar_feed_revoke(actor=clinic.tenant.doctor, feed=second)
    assert client.get(second_path).status_code == 404
    assert client.get(reverse("calendar-feed-ics", args=["x" * 43])).status_code == 404
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 0
    first.refresh_from_db()
    assert first.revoked_at is not None


@time_machine.travel(NOW, tick=False)
def test_only_a_hash_of_the_token_is_stored(clinic):
    feed, path = new_feed(clinic)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")

    assert len(token) >= 43
    assert token not in feed.token_hash
    assert not CalendarFeed.objects.filter(token_hash=token).exists()


def test_a_deactivated_practitioners_feed_stops(client, clinic):
    _, path = new_feed(clinic)
    clinic.doctor.is_active = False
    clinic.doctor.save()

    assert client.get(path).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_fetching_the_feed_stamps_last_used_and_audits_the_read(client, clinic):
    appointment = book(clinic, MARCH_NINE)
    feed, path = new_feed(clinic)
    assert feed.last_used_at is None

    response = client.get(path)

    feed.refresh_from_db()
    assert feed.last_used_at == NOW
    assert "private" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    read = AuditEvent.objects.get(action="read", object_type="scheduling.calendarfeed")
    assert read.object_id == str(feed.pk) and read.organization == clinic.tenant.organization
    assert read.details["feed"] == feed.pk
    assert read.details["patients"] == [appointment.patient_id]
    issued = AuditEvent.objects.get(action="token_issued", object_id=str(feed.pk))
    assert issued.actor == clinic.tenant.admin


# --- API -----------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_practitioner_creates_checks_and_revokes_own_feed_through_the_api(api_as, client, clinic):
    api = api_as(clinic.tenant.doctor)
    url = f"/api/v1/practitioners/{clinic.doctor.pk}/calendar-feed/"
    assert api.get(url).json()["active"] is False

    created = api.post(url, {}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["url"].startswith("http://testserver/calendar/feeds/")
    assert created["Cache-Control"] == "no-store"
    assert client.get(body["url"].removeprefix("http://testserver")).status_code == 200

    status = api.get(url).json()
    assert status["active"] is True and status["last_used_at"] is not None
    assert "url" not in status

    assert api.delete(url).status_code == 204
    assert client.get(body["url"].removeprefix("http://testserver")).status_code == 404
    assert api.get(url).json()["active"] is False
    assert api.delete(url).status_code == 204  # revoking again changes nothing
    assert AuditEvent.objects.filter(action="token_revoked").count() == 1


@time_machine.travel(NOW, tick=False)
def test_another_practitioner_cannot_manage_a_feed_but_an_admin_can(api_as, clinic, tenant_b):
    url = f"/api/v1/practitioners/{clinic.doctor.pk}/calendar-feed/"
    _, path = new_feed(clinic)

    for user in (clinic.tenant.nurse, clinic.tenant.staff, clinic.tenant.patient):
        api = api_as(user)
        assert api.post(url, {}, format="json").status_code == 403
        assert api.delete(url).status_code == 403
    assert api_as(tenant_b.admin).delete(url).status_code == 404
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1

    response = api_as(clinic.tenant.admin).post(url, {}, format="json")
    assert response.status_code == 201
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_unknown_fields_are_refused_and_change_nothing(api_as, clinic):
    url = f"/api/v1/practitioners/{clinic.doctor.pk}/calendar-feed/"

    response = api_as(clinic.tenant.doctor).post(url, {"token": "mine"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["token"][0]["code"] == "unknown_field"
    assert not CalendarFeed.objects.exists()


# --- Settings page -------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_feed_page_shows_the_url_once_then_only_its_status(client, clinic):
    client.force_login(clinic.tenant.doctor)
    page = reverse("calendar-feed", args=[clinic.doctor.pk])
    assert "Create feed URL" in client.get(page).content.decode()

    created = client.post(page, {"action": "create"})
    html = created.content.decode()
    feed = CalendarFeed.objects.get(revoked_at__isnull=True)
    url = html.split('id="calendar-feed-url" type="text" value="', 1)[1].split('"', 1)[0]
    assert created["Cache-Control"] == "no-store"
    assert url.startswith("http://testserver/calendar/feeds/")
    assert client.get(url.removeprefix("http://testserver")).status_code == 200
    assert 'src="/static/scheduling/js/calendar-feed.js"' in html
    assert "<script>" not in html and 'style="' not in html

    later = client.get(page).content.decode()
    assert url not in later and url.rsplit("/", 1)[1] not in later
    assert "Active since" in later and "Replace URL" in later
    assert "20 Feb 2026, 11:00" in later  # last used, Sydney time

    revoked = client.post(page, {"action": "revoke"}).content.decode()
    assert "The feed URL is revoked" in revoked and "Create feed URL" in revoked
    feed.refresh_from_db()
    assert feed.revoked_at is not None


def test_feed_page_refuses_other_practitioners_and_bad_actions(client, clinic, tenant_b):
    page = reverse("calendar-feed", args=[clinic.doctor.pk])
    client.force_login(clinic.tenant.nurse)
    assert client.get(page).status_code == 403
    assert client.post(page, {"action": "create"}).status_code == 403
    client.force_login(tenant_b.admin)
    assert client.get(page).status_code == 404
    client.force_login(clinic.tenant.doctor)
    assert client.post(page, {"action": "delete-everything"}).status_code == 400
    assert not CalendarFeed.objects.exists()


def test_availability_page_links_to_the_feed_for_its_practitioner_and_admins(client, clinic):
    availability = reverse("availability", args=[clinic.doctor.pk])
    link = reverse("calendar-feed", args=[clinic.doctor.pk])
    for user, shown in (
        (clinic.tenant.doctor, True),
        (clinic.tenant.admin, True),
        (clinic.tenant.nurse, False),
    ):
        client.force_login(user)
        assert (link in client.get(availability).content.decode()) is shown, user


# --- One appointment's .ics ----------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_patient_downloads_own_appointment_with_preparation_instructions(
    client, clinic, patient_user
):
    clinic.mri.preparation_instructions = "No metal. Arrive 15 minutes early."
    clinic.mri.save()
    appointment = book(clinic, BEFORE_DST, service=clinic.mri, notes="Claustrophobic")
    client.force_login(patient_user)

    response = client.get(reverse("appointment-ics", args=[appointment.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="appointment-{appointment.pk}.ics"'
    )
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"MRI with {clinic.doctor}"
    assert "No metal. Arrive 15 minutes early." in str(event["DESCRIPTION"])
    assert "Claustrophobic" not in response.content.decode()
    assert str(event["UID"]) == f"appointment-{appointment.pk}@127.0.0.1"
    assert event["DTSTART"].params["TZID"] == "Australia/Sydney"
    assert (event.start.hour, event.start.minute) == (9, 0)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Australia/Sydney"]
    assert AuditEvent.objects.filter(
        action="read", patient_id=str(clinic.patient.pk), actor=patient_user
    ).exists()


@time_machine.travel(NOW, tick=False)
def test_another_patient_cannot_download_the_ics(client, clinic, patient_user):
    patient_update(actor=None, patient=clinic.other_patient, user=clinic.tenant.other_patient)
    appointment = book(clinic, BEFORE_DST)
    client.force_login(clinic.tenant.other_patient)

    assert client.get(reverse("appointment-ics", args=[appointment.pk])).status_code == 404
    client.logout()
    anonymous = client.get(reverse("appointment-ics", args=[appointment.pk]))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@time_machine.travel(NOW, tick=False)
def test_appointment_pages_offer_the_ics_download(client, clinic, patient_user):
    appointment = book(clinic, BEFORE_DST)
    link = reverse("appointment-ics", args=[appointment.pk])
    client.force_login(patient_user)

    detail = client.get(reverse("appointment-detail", args=[appointment.pk])).content.decode()
    booked = client.get(reverse("booking-success", args=[appointment.pk])).content.decode()

    assert link in detail and "Add to calendar (.ics)" in detail
    assert link in booked


# --- Pure parts ----------------------------------------------------------------------------


LETTERS = st.characters(categories=["Lu", "Ll"], max_codepoint=0x24F)
NAMES = st.text(LETTERS, max_size=20)


@given(given_name=NAMES, preferred=NAMES, family_name=st.text(LETTERS, min_size=3, max_size=20))
def test_initials_never_reveal_more_than_the_first_letter_of_each_name(
    given_name, preferred, family_name
):
    patient = Patient(given_name=given_name, preferred_name=preferred, family_name=family_name)

    initials = patient_initials(patient)

    for name in (preferred or given_name, family_name):
        if len(name) >= 3:
            assert name not in initials
    assert len(initials.split(" ")) <= 2
