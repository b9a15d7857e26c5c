"""The staff calendar: its event and resource feeds (colours, resource columns, closed days,
time off, working hours), moving and resizing a visit by drag and drop, and click-to-book."""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from caresync.directory.services import patient_update, service_save
from caresync.scheduling.services import (
    appointment_transition,
    availability_exception_save,
    closure_save,
)
from caresync.scheduling.tests.conftest import NOW, at, book
from caresync.scheduling.views.calendar import SERVICE_PALETTE
from caresync.scheduling.views.common import STATUS_COLOURS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


WEEK = {"start": "2026-03-02T00:00:00", "end": "2026-03-09T00:00:00"}
CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "web" / "css" / "app.css"


def signed_in(client, user):
    client.force_login(user)
    return client


def events(client, **params):
    response = client.get(reverse("calendar-events"), {**WEEK, **params})
    assert response.status_code == 200
    return response.json()


def appointments_in(feed):
    return [e for e in feed if e.get("extendedProps", {}).get("kind") == "appointment"]


def backgrounds_in(feed):
    return [e for e in feed if e.get("display") == "background"]


def move(client, appointment, **body):
    return client.post(
        reverse("calendar-move", args=[appointment.pk]),
        data=json.dumps(body),
        content_type="application/json",
    )


def contrast_with_white(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
    return 1.05 / (luminance + 0.05)


# --- The event feed -----------------------------------------------------------------------


def test_events_carry_status_and_service_colours_and_their_resource_columns(client, clinic):
    consult = book(clinic, at(9))
    scan = book(clinic, at(11), service=clinic.mri, patient=clinic.other_patient)

    feed = {e["id"]: e for e in appointments_in(events(signed_in(client, clinic.tenant.staff)))}

    first, second = feed[str(consult.pk)], feed[str(scan.pk)]
    assert first["backgroundColor"] == STATUS_COLOURS["scheduled"][0]
    assert first["extendedProps"]["statusColour"] == STATUS_COLOURS["scheduled"][0]
    # Colour by service: one palette colour per service, different for these two.
    assert first["extendedProps"]["serviceColour"] in SERVICE_PALETTE
    assert second["extendedProps"]["serviceColour"] in SERVICE_PALETTE
    assert first["extendedProps"]["serviceColour"] != second["extendedProps"]["serviceColour"]
    # Practitioner column, and the scanner the scan holds.
    assert first["resourceIds"] == [f"p-{clinic.doctor.pk}"]
    assert second["resourceIds"] == [f"p-{clinic.doctor.pk}", f"r-{clinic.scanner.pk}"]
    assert (first["start"], first["end"]) == ("2026-03-02T09:00:00", "2026-03-02T09:30:00")
    assert first["editable"] is True


def test_visits_that_have_begun_cannot_be_dragged(client, clinic):
    appointment = book(clinic, at(9))
    appointment_transition(actor=None, appointment=appointment, action="check_in", now=at(9))

    (event,) = appointments_in(events(signed_in(client, clinic.tenant.staff)))
    assert event["extendedProps"]["status"] == "checked_in"
    assert event["editable"] is False


def test_every_calendar_colour_carries_white_text_at_aa_contrast():
    for colour in SERVICE_PALETTE:
        assert contrast_with_white(colour) >= 4.5, colour
    for colour, text in STATUS_COLOURS.values():
        assert text == "#ffffff"
        assert contrast_with_white(colour) >= 4.5, colour


def test_the_legend_swatches_use_the_same_service_palette_as_the_events():
    css = CSS.read_text()
    swatches = dict(
        re.findall(r"\.legend--service-(\d+)::before \{ background: (#[0-9a-f]{6})", css)
    )
    assert [swatches[str(i)] for i in range(len(SERVICE_PALETTE))] == list(SERVICE_PALETTE)


def test_services_keep_their_colour_when_services_are_added_or_retired(client, clinic):
    book(clinic, at(11), service=clinic.mri)
    staff = signed_in(client, clinic.tenant.staff)
    before = appointments_in(events(staff))[0]["extendedProps"]["serviceColour"]
    service_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="Dressing",
        category="follow_up",
        duration_minutes=15,
        practitioners=[clinic.second_doctor],
    )
    service_save(
        actor=None, organization=clinic.tenant.organization, service=clinic.consult, is_active=False
    )

    assert appointments_in(events(staff))[0]["extendedProps"]["serviceColour"] == before
    legend = staff.get(reverse("calendar")).content.decode()
    index = SERVICE_PALETTE.index(before)
    assert f'<span class="legend legend--service-{index}">MRI</span>' in legend
    assert ">Consult</span>" not in legend  # retired: not offered in the legend


def test_public_holidays_and_closures_shade_whole_days(client, clinic):
    closure_save(
        actor=None,
        organization=clinic.tenant.organization,
        start_date=date(2026, 4, 1),
        reason="Staff training",
    )
    easter = {"start": "2026-03-30T00:00:00", "end": "2026-04-06T00:00:00"}

    feed = events(signed_in(client, clinic.tenant.staff), **easter)

    shaded = {(e["start"], e["title"], e["extendedProps"]["kind"]) for e in backgrounds_in(feed)}
    assert ("2026-04-01T00:00:00", "Staff training", "closure") in shaded
    assert ("2026-04-03T00:00:00", "Good Friday", "public_holiday") in shaded
    good_friday = next(e for e in backgrounds_in(feed) if e["title"] == "Good Friday")
    assert good_friday["end"] == "2026-04-04T00:00:00"
    assert "resourceId" not in good_friday  # every column
    assert not [e for e in backgrounds_in(feed) if e["start"] < "2026-03-30"]


def test_time_off_shows_in_the_practitioner_column_and_for_that_practitioner_only(client, clinic):
    availability_exception_save(
        actor=None,
        practitioner=clinic.doctor,
        kind="time_off",
        start=at(13),
        end=at(17),
        reason="Conference",
    )
    availability_exception_save(
        actor=None, practitioner=clinic.second_doctor, kind="extra", start=at(17), end=at(19)
    )
    staff = signed_in(client, clinic.tenant.staff)

    # Everyone's week view: no one's time off greys the shared columns.
    assert backgrounds_in(events(staff)) == []
    resource_view = backgrounds_in(events(staff, resources="1"))
    assert [(e["title"], e["resourceId"], e["start"], e["end"]) for e in resource_view] == [
        ("Conference", f"p-{clinic.doctor.pk}", "2026-03-02T13:00:00", "2026-03-02T17:00:00")
    ]
    assert len(backgrounds_in(events(staff, practitioner=clinic.doctor.pk))) == 1
    assert backgrounds_in(events(staff, practitioner=clinic.second_doctor.pk)) == []


def test_the_feed_costs_the_same_queries_however_much_it_shows(client, clinic):
    staff = signed_in(client, clinic.tenant.staff)
    book(clinic, at(9))
    book(clinic, at(9), practitioner="second_doctor", patient=clinic.other_patient)
    events(staff)  # warm caches (sessions, holidays)
    with CaptureQueriesContext(connection) as small:
        events(staff, resources="1")

    for day in range(1, 5):  # the same two patients: one audit row each either way
        book(clinic, at(10, day=day))
        book(clinic, at(11, day=day), service=clinic.mri, patient=clinic.other_patient)
        availability_exception_save(
            actor=None,
            practitioner=clinic.second_doctor,
            kind="time_off",
            start=at(15, day=day),
            end=at(16, day=day),
        )
        closure_save(
            actor=None,
            organization=clinic.tenant.organization,
            start_date=date(2026, 3, 2 + day),
            reason=f"Closed {day}",
        )
    with CaptureQueriesContext(connection) as large:
        feed = events(staff, resources="1")

    assert len(appointments_in(feed)) == 10 and len(backgrounds_in(feed)) == 8
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_feed_is_for_the_clinic_of_the_signed_in_member(client, clinic, tenant_b):
    book(clinic, at(9))
    assert appointments_in(events(signed_in(client, tenant_b.staff))) == []
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    client.force_login(clinic.tenant.patient)
    assert client.get(reverse("calendar-events"), WEEK).status_code == 403
    assert client.get(reverse("calendar-resources"), WEEK).status_code == 403


def test_a_malformed_window_is_refused_with_a_400(client, clinic):
    staff = signed_in(client, clinic.tenant.staff)
    for window in ({"start": "soon"}, {**WEEK, "end": "2026-03-01T00:00:00"}):
        assert staff.get(reverse("calendar-events"), window).status_code == 400
        assert staff.get(reverse("calendar-resources"), window).status_code == 400


# --- Resources ------------------------------------------------------------------------------


def test_resources_are_practitioners_with_their_working_hours_and_rooms(client, clinic, tenant_b):
    columns = signed_in(client, clinic.tenant.staff).get(reverse("calendar-resources"), WEEK).json()

    people = [c for c in columns if c["group"] == "practitioner"]
    rooms = [c for c in columns if c["group"] == "room"]
    assert {c["id"] for c in people} == {f"p-{clinic.doctor.pk}", f"p-{clinic.second_doctor.pk}"}
    doctor = next(c for c in people if c["practitionerId"] == clinic.doctor.pk)
    # Mon–Fri 09–17; FullCalendar counts weekdays from Sunday = 0.
    assert doctor["businessHours"] == [
        {"daysOfWeek": [day], "startTime": "09:00", "endTime": "17:00"} for day in range(1, 6)
    ]
    assert rooms == [
        {
            "id": f"r-{clinic.scanner.pk}",
            "title": "MRI 1",
            "group": "room",
            "kind": "Scanner",
            "location": "Main",
        }
    ]
    other = signed_in(Client(), tenant_b.staff).get(reverse("calendar-resources"), WEEK).json()
    assert not {c["id"] for c in other} & {c["id"] for c in columns}


# --- Moving and resizing --------------------------------------------------------------------


def test_dropping_a_visit_on_a_free_time_moves_it_and_answers_the_new_event(client, clinic):
    appointment = book(clinic, at(9))

    response = move(
        signed_in(client, clinic.tenant.staff), appointment, start="2026-03-03T14:00:00"
    )

    assert response.status_code == 200
    event = response.json()["event"]
    assert (event["id"], event["start"], event["end"]) == (
        str(appointment.pk),
        "2026-03-03T14:00:00",
        "2026-03-03T14:30:00",
    )
    appointment.refresh_from_db()
    assert (appointment.start, appointment.end) == (at(14, day=1), at(14, 30, day=1))
    history = appointment.events.last()
    assert (history.from_start, history.actor) == (at(9), clinic.tenant.staff)


def test_dropping_a_visit_on_a_taken_time_is_refused_with_alternatives_and_changes_nothing(
    client, clinic
):
    moving = book(clinic, at(9))
    book(clinic, at(10), patient=clinic.other_patient)

    response = move(signed_in(client, clinic.tenant.staff), moving, start="2026-03-02T10:00:00")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_unavailable"
    assert error["message"] == "That time is no longer available."
    assert error["alternatives"]
    nearest = error["alternatives"][0]
    assert nearest["start"].startswith("2026-03-02T") and "+" not in nearest["start"]
    assert nearest["practitioner"] == clinic.doctor.pk
    assert "with" in nearest["label"] and nearest["start"][11:16] in nearest["label"]
    moving.refresh_from_db()
    assert (moving.start, moving.end, moving.status) == (at(9), at(9, 30), "scheduled")
    assert moving.events.count() == 1  # booked only


def test_dropping_a_visit_into_another_practitioner_column_hands_it_over(client, clinic):
    appointment = book(clinic, at(9))

    response = move(
        signed_in(client, clinic.tenant.staff),
        appointment,
        start="2026-03-02T09:00:00",
        end="2026-03-02T09:30:00",
        practitioner=clinic.second_doctor.pk,
    )

    assert response.status_code == 200
    assert response.json()["event"]["resourceIds"] == [f"p-{clinic.second_doctor.pk}"]
    appointment.refresh_from_db()
    assert appointment.practitioner == clinic.second_doctor


def test_resizing_a_visit_changes_its_length(client, clinic):
    appointment = book(clinic, at(9))
    staff = signed_in(client, clinic.tenant.staff)

    response = move(staff, appointment, start="2026-03-02T09:00:00", end="2026-03-02T10:00:00")

    assert response.status_code == 200
    assert response.json()["event"]["end"] == "2026-03-02T10:00:00"
    appointment.refresh_from_db()
    assert appointment.end - appointment.start == timedelta(hours=1)

    odd = move(staff, appointment, start="2026-03-02T09:00:00", end="2026-03-02T09:07:00")
    assert (odd.status_code, odd.json()["error"]["code"]) == (400, "invalid_duration")


def test_a_refused_move_says_why(client, clinic):
    appointment = book(clinic, at(9))
    staff = signed_in(client, clinic.tenant.staff)

    evening = move(staff, appointment, start="2026-03-02T18:00:00")
    assert (evening.status_code, evening.json()["error"]["code"]) == (400, "outside_availability")
    past = move(staff, appointment, start="2026-02-19T10:00:00")
    assert (past.status_code, past.json()["error"]["code"]) == (400, "too_soon")
    appointment_transition(
        actor=None, appointment=appointment, action="cancel", reason="Unwell", now=NOW
    )
    cancelled = move(staff, appointment, start="2026-03-02T11:00:00")
    assert (cancelled.status_code, cancelled.json()["error"]["code"]) == (409, "invalid_transition")


def test_bad_move_requests_get_a_400_and_change_nothing(client, clinic):
    appointment = book(clinic, at(9))
    staff = signed_in(client, clinic.tenant.staff)
    url = reverse("calendar-move", args=[appointment.pk])

    not_json = staff.post(url, data="{start:", content_type="application/json")
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "parse_error")
    a_list = staff.post(url, data="[1, 2]", content_type="application/json")
    assert a_list.status_code == 400
    for body in (
        {},
        {"start": "tuesday"},
        {"start": "2026-03-03T10:00:00", "colour": "red"},
        {"start": "2026-03-03T10:00:00", "practitioner": "nobody"},
        # Sydney's clocks go back at 03:00 on 5 April 2026 (02:30 happens twice) and forward
        # at 02:00 on 4 October (02:30 never happens): neither is one time.
        {"start": "2026-04-05T02:30:00"},
        {"start": "2026-10-04T02:30:00"},
        {"start": "2026-03-03T10:00:00", "end": "2026-10-04T02:15:00"},
    ):
        response = move(staff, appointment, **body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "validation_error"
    stranger = move(staff, appointment, start="2026-03-02T10:00:00", practitioner=999_999).json()[
        "error"
    ]
    assert stranger["fields"]["practitioner"][0]["message"] == "Unknown practitioner."
    appointment.refresh_from_db()
    assert appointment.start == at(9)


def test_patients_cannot_move_visits_on_the_calendar(client, clinic):
    patient_update(actor=None, patient=clinic.patient, user=clinic.tenant.patient)
    appointment = book(clinic, at(9))

    response = move(
        signed_in(client, clinic.tenant.patient), appointment, start="2026-03-03T10:00:00"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    appointment.refresh_from_db()
    assert appointment.start == at(9)


def test_another_organization_cannot_find_the_visit_to_move(client, clinic, tenant_b):
    appointment = book(clinic, at(9))

    response = move(signed_in(client, tenant_b.admin), appointment, start="2026-03-03T10:00:00")

    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.start == at(9)


def test_moving_needs_a_signed_in_user_and_a_post(client, clinic):
    appointment = book(clinic, at(9))
    assert move(client, appointment, start="2026-03-03T10:00:00").status_code == 302
    staff = signed_in(client, clinic.tenant.staff)
    assert staff.get(reverse("calendar-move", args=[appointment.pk])).status_code == 405


def test_moving_from_a_session_needs_the_csrf_token(clinic):
    appointment = book(clinic, at(9))
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clinic.tenant.staff)
    body = json.dumps({"start": "2026-03-03T10:00:00"})
    url = reverse("calendar-move", args=[appointment.pk])

    refused = browser.post(url, data=body, content_type="application/json")
    assert refused.status_code == 403
    appointment.refresh_from_db()
    assert appointment.start == at(9)

    page = browser.get(reverse("calendar"))
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.content.decode()).group(1)
    allowed = browser.post(url, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 200


# --- The page and click-to-book -------------------------------------------------------------


def test_the_calendar_page_offers_views_legends_and_the_feeds(client, clinic):
    page = signed_in(client, clinic.tenant.doctor).get(reverse("calendar"))
    html = page.content.decode()

    assert page.status_code == 200
    assert 'data-can-move="true"' in html and 'data-can-book="true"' in html
    assert reverse("calendar-resources") in html
    assert reverse("calendar-move", args=[0]) in html
    assert "vendor/fullcalendar-scheduler.min.js" in html
    assert '<span class="legend legend--service-0">Consult</span>' in html
    assert '<span class="legend legend--service-1">MRI</span>' in html
    assert '<span class="legend legend--proposed">Proposed</span>' in html
    # The doctor's own column is chosen for them; ?practitioner= picks another, or everyone.
    assert f'<option value="{clinic.doctor.pk}" selected>' in html
    other = client.get(reverse("calendar"), {"practitioner": clinic.second_doctor.pk})
    assert f'<option value="{clinic.second_doctor.pk}" selected>' in other.content.decode()
    everyone = client.get(reverse("calendar"), {"practitioner": ""}).content.decode()
    assert " selected>" not in everyone.split('id="calendar-practitioner"')[1].split("</select>")[0]
    assert "<script>" not in html and 'style="' not in html


def test_choosing_a_time_on_the_calendar_opens_booking_with_it_filled_in(client, clinic):
    staff = signed_in(client, clinic.tenant.staff)

    response = staff.get(
        reverse("calendar-book"),
        {"start": "2026-03-03T10:00:00", "practitioner": clinic.second_doctor.pk},
    )

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == reverse("booking")
    assert parse_qs(target.query) == {
        "practitioner": [str(clinic.second_doctor.pk)],
        "day": ["2026-03-03"],
        "start": ["2026-03-02T23:00:00Z"],  # 10:00 in Sydney
    }
    # The month view chooses a whole day; a time in the past keeps only its day.
    month = urlsplit(staff.get(reverse("calendar-book"), {"day": "2026-03-05"})["Location"])
    assert parse_qs(month.query) == {"day": ["2026-03-05"]}
    past = urlsplit(
        staff.get(reverse("calendar-book"), {"start": "2026-02-10T10:00:00"})["Location"]
    )
    assert parse_qs(past.query) == {"day": ["2026-02-10"]}
    junk = urlsplit(
        staff.get(reverse("calendar-book"), {"start": "x", "practitioner": "999999"})["Location"]
    )
    assert junk.query == ""


def test_booking_keeps_the_calendar_choice_through_the_patient_and_service_steps(client, clinic):
    staff = signed_in(client, clinic.tenant.staff)
    chosen = {
        "practitioner": clinic.second_doctor.pk,
        "day": "2026-03-03",
        "start": "2026-03-02T23:00:00Z",
    }

    patients = staff.get(reverse("booking"), {**chosen, "q": "Lovelace"})
    assert patients.context["step"] == "patient"
    (_, patient_url), *_ = patients.context["patient_results"]
    assert '<input type="hidden" name="day" value="2026-03-03">' in patients.content.decode()
    services = staff.get(reverse("booking") + patient_url)
    assert services.context["step"] == "service"
    service_url = next(url for s, url in services.context["services"] if s == clinic.consult)
    confirm = staff.get(reverse("booking") + service_url)

    assert confirm.context["step"] == "confirm"
    assert confirm.context["practitioner"] == clinic.second_doctor
    assert confirm.context["start"] == datetime(2026, 3, 2, 23, tzinfo=UTC)
    assert confirm.context["local_start"].time() == time(10)


def test_booking_asks_for_a_practitioner_when_the_chosen_one_does_not_offer_the_service(
    client, clinic
):
    staff = signed_in(client, clinic.tenant.staff)
    chosen = {
        "patient": clinic.patient.pk,
        "service": clinic.mri.pk,  # the doctor only
        "practitioner": clinic.second_doctor.pk,
        "start": "2026-03-02T23:00:00Z",
    }

    page = staff.get(reverse("booking"), chosen)

    assert page.context["step"] == "practitioner"
    (doctor, url), *_ = page.context["practitioner_options"]
    assert doctor == clinic.doctor and "start=2026-03-02T23%3A00%3A00Z" in url
