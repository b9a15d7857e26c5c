"""Moving appointments: reschedule, propose another time, PUT/PATCH, and the outbox events
every change writes in its own transaction."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from caresync.core.errors import ApplicationError
from caresync.core.models import AuditEvent
from caresync.notifications.models import OutboxEvent
from caresync.scheduling.models import Appointment
from caresync.scheduling.services import (
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from caresync.scheduling.tests.conftest import NOW, at, book

pytestmark = pytest.mark.django_db


def move(appointment, start, **extra):
    return appointment_reschedule(
        actor=None, appointment=appointment, start=start, now=NOW, **extra
    )


def kinds(appointment):
    return list(
        OutboxEvent.objects.filter(subject=f"appointment:{appointment.pk}").values_list(
            "kind", flat=True
        )
    )


def test_rescheduling_moves_the_time_and_keeps_the_old_one_in_history(clinic):
    appointment = book(clinic, at(9))
    moved = move(appointment, at(14), reason="Patient asked for the afternoon")
    assert (moved.start, moved.end) == (at(14), at(14, 30))
    event = moved.events.last()
    assert (event.from_start, event.to_start, event.reason) == (
        at(9),
        at(14),
        "Patient asked for the afternoon",
    )
    assert kinds(moved) == ["appointment.booked", "appointment.rescheduled"]
    payload = OutboxEvent.objects.get(kind="appointment.rescheduled").payload
    assert datetime.fromisoformat(payload["from_start"]) == at(9)
    # The old time is free again, the new one is taken.
    assert book(clinic, at(9), patient=clinic.other_patient).status == "scheduled"
    with pytest.raises(ApplicationError) as refused:
        book(clinic, at(14), patient=clinic.other_patient)
    assert refused.value.code == "slot_unavailable"


def test_a_confirmed_appointment_moved_needs_confirming_again(clinic):
    appointment = book(clinic, at(9))
    appointment_transition(actor=None, appointment=appointment, action="confirm", now=NOW)
    assert move(appointment, at(11)).status == "scheduled"


def test_moving_onto_a_taken_time_is_409_with_alternatives_and_changes_nothing(clinic):
    taken = book(clinic, at(10), patient=clinic.other_patient)
    appointment = book(clinic, at(9))
    with pytest.raises(ApplicationError) as refused:
        move(appointment, taken.start)
    assert (refused.value.code, refused.value.status_code) == ("slot_unavailable", 409)
    assert refused.value.extra["alternatives"]
    appointment.refresh_from_db()
    assert appointment.start == at(9)
    assert kinds(appointment) == ["appointment.booked"]


def test_moving_within_its_own_time_is_allowed(clinic):
    """The appointment's own current time does not block its move by 15 minutes."""
    appointment = book(clinic, at(9))
    assert move(appointment, at(9, 15)).start == at(9, 15)


def test_moving_to_the_same_time_or_outside_hours_is_400(clinic):
    appointment = book(clinic, at(9))
    with pytest.raises(ApplicationError) as refused:
        move(appointment, at(9))
    assert (refused.value.code, refused.value.status_code) == ("unchanged", 400)
    with pytest.raises(ApplicationError) as refused:
        move(appointment, at(20))
    assert refused.value.code == "outside_availability"


def test_moving_to_another_practitioner_checks_they_offer_the_service(clinic):
    appointment = book(clinic, at(9))
    moved = move(appointment, at(9), practitioner=clinic.second_doctor)
    assert moved.practitioner == clinic.second_doctor
    scan = book(clinic, at(13), service=clinic.mri)
    with pytest.raises(ApplicationError) as refused:
        move(scan, at(14), practitioner=clinic.second_doctor)
    assert refused.value.code == "practitioner_not_offering"


def test_staff_resize_a_visit_within_free_time(clinic):
    appointment = book(clinic, at(9))
    book(clinic, at(10), patient=clinic.other_patient)
    longer = move(appointment, at(9), end=at(10))
    assert longer.end == at(10)
    assert move(longer, at(11)).end == at(12), "a move keeps the resized length"
    with pytest.raises(ApplicationError) as refused:
        move(longer, at(9, 30), end=at(10, 30))
    assert refused.value.code == "slot_unavailable"
    with pytest.raises(ApplicationError) as refused:
        move(longer, at(11), end=at(11, 7))
    assert refused.value.code == "invalid_duration"
    with pytest.raises(ApplicationError) as refused:
        appointment_reschedule(
            actor=None, appointment=longer, start=at(11), end=at(11, 45), by_patient=True, now=NOW
        )
    assert refused.value.code == "invalid_duration"


def test_a_moved_scan_takes_its_scanner_along(clinic):
    scan = book(clinic, at(9), service=clinic.mri)
    moved = move(scan, at(11))
    hold = moved.resource_holds.get()
    assert (hold.resource_id, hold.start, hold.end) == (clinic.scanner.pk, at(11), at(11, 45))
    other = book(clinic, at(9), service=clinic.mri, patient=clinic.other_patient)
    assert other.resource_holds.get().resource_id == clinic.scanner.pk


def test_patients_move_only_outside_the_cancellation_window(clinic):
    appointment = book(clinic, at(9))
    late = at(9) - timedelta(hours=2)
    with pytest.raises(ApplicationError) as refused:
        appointment_reschedule(
            actor=None, appointment=appointment, start=at(15), by_patient=True, now=late
        )
    assert refused.value.code == "cancellation_window"
    staff_move = appointment_reschedule(actor=None, appointment=appointment, start=at(15), now=late)
    assert staff_move.start == at(15)


@pytest.mark.parametrize("status_after", ["cancelled", "completed"])
def test_closed_appointments_cannot_be_moved(clinic, status_after):
    appointment = book(clinic, at(9))
    if status_after == "cancelled":
        appointment_transition(
            actor=None, appointment=appointment, action="cancel", reason="x", now=NOW
        )
    else:
        for action in ("check_in", "start", "complete"):
            appointment_transition(actor=None, appointment=appointment, action=action, now=at(9))
    with pytest.raises(ApplicationError) as refused:
        move(appointment, at(14))
    assert (refused.value.code, refused.value.status_code) == ("invalid_transition", 409)


def test_a_proposed_time_is_held_until_the_patient_accepts_or_declines(clinic):
    request = book(clinic, at(9), request_only=True)
    proposed = move(request, at(15), propose=True, reason="Morning is full")
    assert proposed.status == "proposed"
    assert proposed.start == at(15)
    with pytest.raises(ApplicationError):
        book(clinic, at(15), patient=clinic.other_patient)
    accepted = appointment_transition(
        actor=None, appointment=proposed, action="accept", by_patient=True, now=NOW
    )
    assert accepted.status == "scheduled"
    assert kinds(accepted) == [
        "appointment.requested",
        "appointment.proposed",
        "appointment.proposal_accepted",
    ]


def test_declining_a_proposal_cancels_and_frees_the_time(clinic):
    request = book(clinic, at(9), request_only=True)
    move(request, at(15), propose=True)
    declined = appointment_transition(
        actor=None, appointment=request, action="decline", by_patient=True, now=NOW
    )
    assert declined.status == "cancelled"
    assert book(clinic, at(15), patient=clinic.other_patient).status == "scheduled"


def test_only_requests_can_be_given_a_proposed_time(clinic):
    appointment = book(clinic, at(9))
    with pytest.raises(ApplicationError) as refused:
        move(appointment, at(15), propose=True)
    assert refused.value.code == "invalid_transition"


def test_update_edits_notes_in_place_and_reschedules_on_a_new_start(clinic):
    appointment = book(clinic, at(9))
    edited = appointment_update(actor=None, appointment=appointment, notes="Bring scans", now=NOW)
    assert edited.notes == "Bring scans"
    assert AuditEvent.objects.filter(
        object_id=str(appointment.pk), details__fields=["notes"]
    ).exists()
    moved = appointment_update(actor=None, appointment=appointment, start=at(10), now=NOW)
    assert moved.start == at(10)
    assert kinds(moved)[-1] == "appointment.rescheduled"


def test_every_transition_writes_one_outbox_event_and_a_failed_one_none(clinic):
    appointment = book(clinic, at(9))
    for action in ("confirm", "check_in", "start", "complete"):
        appointment_transition(actor=None, appointment=appointment, action=action, now=at(9))
    assert kinds(appointment) == [
        "appointment.booked",
        "appointment.confirmed",
        "appointment.checked_in",
        "appointment.started",
        "appointment.completed",
    ]
    before = OutboxEvent.objects.count()
    with pytest.raises(ApplicationError):
        appointment_transition(actor=None, appointment=appointment, action="no_show", now=at(10))
    assert OutboxEvent.objects.count() == before


def test_the_outbox_event_rolls_back_with_the_change(clinic):
    appointment = book(clinic, at(9))
    with pytest.raises(RuntimeError), transaction.atomic():
        appointment_transition(
            actor=None, appointment=appointment, action="cancel", reason="x", now=NOW
        )
        raise RuntimeError("the caller's transaction fails after the transition")
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert kinds(appointment) == ["appointment.booked"]


# --- REST ----------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_api_reschedule_moves_and_answers_409_with_alternatives(api_as, clinic, frozen):
    appointment = book(clinic, at(9))
    taken = book(clinic, at(10), patient=clinic.other_patient)
    client = api_as(clinic.tenant.staff)
    url = f"/api/v1/appointments/{appointment.pk}/reschedule/"
    refused = client.post(url, {"start": taken.start.isoformat()}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "slot_unavailable" and error["alternatives"]
    moved = client.post(url, {"start": at(11).isoformat(), "reason": "Clash"}, format="json")
    assert moved.status_code == 200, moved.content
    assert datetime.fromisoformat(moved.json()["start"]) == at(11)


def test_api_patient_reschedules_own_but_not_anothers(api_as, clinic, frozen):
    clinic.patient.user = clinic.tenant.patient
    clinic.patient.save()
    own = book(clinic, at(9))
    theirs = book(clinic, at(10), patient=clinic.other_patient)
    client = api_as(clinic.tenant.patient)
    body = {"start": at(14).isoformat()}
    assert client.post(f"/api/v1/appointments/{own.pk}/reschedule/", body).status_code == 200
    response = client.post(f"/api/v1/appointments/{theirs.pk}/reschedule/", body)
    assert response.status_code == 404
    response = client.post(f"/api/v1/appointments/{own.pk}/propose/", body)
    assert response.status_code == 403


def test_api_patch_and_put(api_as, clinic, frozen):
    appointment = book(clinic, at(9))
    client = api_as(clinic.tenant.staff)
    url = f"/api/v1/appointments/{appointment.pk}/"
    patched = client.patch(url, {"notes": "Interpreter needed"}, format="json")
    assert patched.status_code == 200 and patched.json()["notes"] == "Interpreter needed"
    assert client.put(url, {"notes": "x"}, format="json").status_code == 400
    put = client.put(url, {"start": at(13).isoformat(), "notes": "x"}, format="json")
    assert put.status_code == 200, put.content
    assert datetime.fromisoformat(put.json()["start"]) == at(13)
    unknown = client.patch(url, {"status": "completed"}, format="json")
    assert unknown.status_code == 400
    assert Appointment.objects.get(pk=appointment.pk).status == "scheduled"
