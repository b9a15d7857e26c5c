"""The booking service: the only way appointments are made, and double booking impossible."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from psycopg.errors import DeadlockDetected

from caresync.core.errors import ApplicationError
from caresync.core.models import AuditEvent
from caresync.scheduling.models import Appointment, AppointmentEvent
from caresync.scheduling.selectors import slot_inputs
from caresync.scheduling.services import (
    appointment_requests_expire,
    appointment_transition,
    slots_search,
)
from caresync.scheduling.slots import Interval
from caresync.scheduling.tests.conftest import NOW, SYDNEY, at, book

pytestmark = pytest.mark.django_db


def test_booking_creates_a_scheduled_appointment_with_history_and_audit(clinic):
    appointment = book(clinic, at(9))
    assert appointment.status == "scheduled"
    assert appointment.end - appointment.start == timedelta(minutes=30)
    assert appointment.location == clinic.location, "where the practitioner works then"
    assert AppointmentEvent.objects.get(appointment=appointment).to_status == "scheduled"
    assert AuditEvent.objects.filter(
        action="create", patient_id=str(clinic.patient.pk), object_type="scheduling.appointment"
    ).exists()


def test_the_appointment_is_where_the_practitioner_works_at_that_time(clinic):
    from datetime import time

    from caresync.directory.services import location_save
    from caresync.scheduling.services import (
        appointment_reschedule,
        availability_exception_save,
        availability_rule_save,
    )

    branch = location_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="Branch",
        time_zone="Australia/Sydney",
    )
    availability_rule_save(  # Saturdays at the branch
        actor=None,
        practitioner=clinic.doctor,
        location=branch,
        weekday=5,
        start_time=time(9),
        end_time=time(13),
    )
    availability_exception_save(  # extra hours on Sunday, under no weekly rule
        actor=None,
        practitioner=clinic.doctor,
        kind="extra",
        start=at(9, day=6),
        end=at(12, day=6),
    )
    monday = book(clinic, at(10))
    assert monday.location == clinic.location
    assert book(clinic, at(10, day=5), patient=clinic.other_patient).location == branch
    # Extra hours: where the week's first rule is (Monday's, at the main clinic).
    assert book(clinic, at(10, day=6), patient=clinic.other_patient).location == clinic.location
    appointment_reschedule(actor=None, appointment=monday, start=at(11, day=5), now=NOW)
    monday.refresh_from_db()
    assert monday.location == branch  # kept with the new time


def test_a_taken_time_is_409_with_nearest_alternatives(clinic):
    book(clinic, at(9))
    with pytest.raises(ApplicationError) as refused:
        book(clinic, at(9), patient=clinic.other_patient)
    error = refused.value
    assert (error.code, error.status_code) == ("slot_unavailable", 409)
    alternatives = [datetime.fromisoformat(a["start"]) for a in error.extra["alternatives"]]
    assert len(alternatives) == 5
    assert at(9, 15) in alternatives or at(9, 30) in alternatives
    assert Appointment.objects.count() == 1


def test_a_patient_cannot_hold_two_overlapping_appointments(clinic):
    book(clinic, at(10))
    with pytest.raises(ApplicationError) as refused:
        book(clinic, at(10, 15), practitioner="second_doctor")
    assert refused.value.code == "slot_unavailable"


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (lambda: at(7), "outside_availability"),
        (lambda: at(16, 45), "outside_availability"),
        (lambda: NOW + timedelta(minutes=30), "too_soon"),
        (lambda: NOW + timedelta(days=400), "too_far"),
    ],
)
def test_times_that_are_never_bookable_are_400_with_a_specific_code(clinic, start, code):
    with pytest.raises(ApplicationError) as refused:
        book(clinic, start())
    assert (refused.value.code, refused.value.status_code) == (code, 400)


def test_any_practitioner_goes_to_the_least_loaded_that_day(clinic):
    book(clinic, at(9), practitioner="doctor")
    book(clinic, at(9, 30), practitioner="doctor", patient=clinic.other_patient)
    chosen = book(clinic, at(11), practitioner=None)
    assert chosen.practitioner == clinic.second_doctor


def test_a_scan_takes_a_free_scanner_and_holds_it(clinic):
    first = book(clinic, at(9), service=clinic.mri)
    assert list(first.resource_holds.values_list("resource_id", flat=True)) == [clinic.scanner.pk]
    with pytest.raises(ApplicationError) as refused:
        book(
            clinic,
            at(9, 15),
            service=clinic.mri,
            practitioner="doctor",
            patient=clinic.other_patient,
        )
    assert refused.value.code == "slot_unavailable"


def test_cancelling_frees_the_time(clinic):
    appointment = book(clinic, at(9))
    appointment_transition(
        actor=None, appointment=appointment, action="cancel", reason="Patient unwell", now=NOW
    )
    assert book(clinic, at(9), patient=clinic.other_patient).status == "scheduled"


def test_lifecycle_follows_the_state_machine(clinic):
    appointment = book(clinic, at(9))
    for action, status in [
        ("confirm", "confirmed"),
        ("check_in", "checked_in"),
        ("start", "in_progress"),
        ("complete", "completed"),
    ]:
        appointment = appointment_transition(
            actor=None, appointment=appointment, action=action, now=at(9)
        )
        assert appointment.status == status
    with pytest.raises(ApplicationError) as refused:
        appointment_transition(
            actor=None, appointment=appointment, action="cancel", reason="x", now=at(10)
        )
    assert refused.value.code == "invalid_transition"
    history = list(appointment.events.values_list("from_status", "to_status"))
    assert history[-1] == ("in_progress", "completed")


def test_patients_cancel_only_outside_the_window_and_no_show_waits_for_the_start(clinic):
    appointment = book(clinic, at(9))
    with pytest.raises(ApplicationError) as refused:
        appointment_transition(
            actor=None,
            appointment=appointment,
            action="cancel",
            by_patient=True,
            now=at(9) - timedelta(hours=2),
        )
    assert refused.value.code == "cancellation_window"
    with pytest.raises(ApplicationError):
        appointment_transition(actor=None, appointment=appointment, action="no_show", now=at(8))
    assert (
        appointment_transition(
            actor=None, appointment=appointment, action="no_show", now=at(9, 20)
        ).status
        == "no_show"
    )


def test_requests_hold_their_time_then_expire(clinic, settings):
    request = book(clinic, at(9), request_only=True)
    assert request.status == "requested"
    with pytest.raises(ApplicationError):
        book(clinic, at(9), patient=clinic.other_patient)
    assert appointment_requests_expire(now=NOW + timedelta(hours=settings.REQUEST_HOLD_HOURS)) == 1
    request.refresh_from_db()
    assert request.status == "cancelled"


def test_holidays_are_not_bookable(clinic):
    # Good Friday 2026 is 3 April: a public holiday in New South Wales.
    good_friday = datetime(2026, 4, 3, 10, tzinfo=SYDNEY)
    with pytest.raises(ApplicationError) as refused:
        book(clinic, good_friday)
    assert refused.value.code == "outside_availability"


def test_slot_inputs_cost_a_constant_number_of_queries(clinic, django_assert_max_num_queries):
    def load(days):
        window = Interval(at(0), at(0) + timedelta(days=days))
        query, calendars = slot_inputs(
            organization=clinic.tenant.organization,
            service=clinic.mri,
            window=window,
            now=NOW,
            patient=clinic.patient,
        )
        return calendars

    book(clinic, at(9), service=clinic.mri)
    with django_assert_max_num_queries(9):
        load(1)
    with django_assert_max_num_queries(9):
        load(60)


def test_slot_search_spans_practitioners(clinic):
    found = slots_search(
        organization=clinic.tenant.organization,
        service=clinic.consult,
        window=Interval(at(9), at(10)),
        now=NOW,
    )
    assert {s.practitioner_id for s in found} == {clinic.doctor.pk, clinic.second_doctor.pk}
    assert found[0].start == at(9).astimezone(UTC)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_database_refuses_overlapping_blocking_appointments(clinic):
    first = book(clinic, at(9))
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            organization=first.organization,
            patient=clinic.other_patient,
            practitioner=clinic.doctor,
            service=clinic.consult,
            start=at(9, 15),
            end=at(9, 45),
            status="scheduled",
        )
    # Cancelled appointments do not block.
    Appointment.objects.create(
        organization=first.organization,
        patient=clinic.other_patient,
        practitioner=clinic.doctor,
        service=clinic.consult,
        start=at(9, 15),
        end=at(9, 45),
        status="cancelled",
    )
    assert connection.vendor == "postgresql"


def _deadlock(*args, **kwargs):
    raise OperationalError("deadlock detected") from DeadlockDetected("deadlock detected")


def test_a_booking_broken_off_by_a_database_deadlock_is_a_lost_race(clinic, monkeypatch):
    """PostgreSQL breaks a deadlock between two bookings' constraint checks by failing one;
    that booking lost the race: 409 with alternatives, not a server error."""
    monkeypatch.setattr("caresync.scheduling.services.booking._hold_resources", _deadlock)
    with pytest.raises(ApplicationError) as refused:
        book(clinic, at(9))
    assert (refused.value.code, refused.value.status_code) == ("slot_unavailable", 409)
    assert refused.value.extra["alternatives"]
    assert not Appointment.objects.exists()
