"""The slot engine's inputs as the selector loads them: every blocking appointment, with the
buffers of its own service, whatever the database."""

from datetime import date, time, timedelta

import pytest

from caresync.directory.services import location_save, service_save
from caresync.scheduling import selectors
from caresync.scheduling.models import Appointment
from caresync.scheduling.selectors import slot_inputs
from caresync.scheduling.services import (
    availability_exception_save,
    availability_rule_save,
    slots_search,
)
from caresync.scheduling.slots import Interval, WeeklyRule
from caresync.scheduling.tests.conftest import NOW, at, book

pytestmark = pytest.mark.django_db


def _appointment(clinic, start, minutes, *, service=None, practitioner=None, patient=None, **f):
    return Appointment.objects.create(
        organization=clinic.tenant.organization,
        patient=patient or clinic.other_patient,
        practitioner=practitioner or clinic.doctor,
        service=service or clinic.consult,
        start=start,
        end=start + timedelta(minutes=minutes),
        status=f.pop("status", "scheduled"),
        **f,
    )


def _inputs(clinic, **extra):
    return slot_inputs(
        organization=clinic.tenant.organization,
        service=clinic.consult,
        window=Interval(at(0), at(0, day=5)),
        now=NOW,
        **extra,
    )


@pytest.fixture
def procedure(clinic):
    return service_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="Procedure",
        category="in_person",
        duration_minutes=20,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        practitioners=[clinic.doctor],
    )


def test_each_appointment_blocks_its_time_widened_by_its_own_services_buffers(clinic, procedure):
    odd = at(10) + timedelta(seconds=7, microseconds=250_001)
    _appointment(clinic, at(9), 30)
    _appointment(clinic, odd, 20, service=procedure, status="confirmed")
    _appointment(clinic, at(11), 30, status="cancelled")
    _appointment(clinic, at(13), 30, status="completed")
    _appointment(clinic, at(9, day=9), 30)  # far outside the window
    _, calendars = _inputs(clinic)
    busy = {c.practitioner_id: sorted(c.busy) for c in calendars}
    assert busy[clinic.doctor.pk] == [
        Interval(at(9), at(9, 30)),
        Interval(odd - timedelta(minutes=5), odd + timedelta(minutes=30)),
    ]
    assert busy[clinic.second_doctor.pk] == []


def test_the_patients_own_appointments_block_them_with_anyone(clinic, procedure):
    own = _appointment(clinic, at(14), 20, service=procedure, patient=clinic.patient)
    theirs = _appointment(
        clinic, at(15), 30, practitioner=clinic.second_doctor, patient=clinic.patient
    )
    _appointment(clinic, at(16), 30, practitioner=clinic.second_doctor)
    query, calendars = _inputs(clinic, patient=clinic.patient)
    assert sorted(query.patient_busy) == [
        Interval(own.start, own.end),
        Interval(theirs.start, theirs.end),
    ]
    nurse = next(c for c in calendars if c.practitioner_id == clinic.second_doctor.pk)
    assert sorted(nurse.busy) == [Interval(at(15), at(15, 30)), Interval(at(16), at(16, 30))]
    query, _ = _inputs(clinic)
    assert list(query.patient_busy) == []


def test_the_appointment_being_moved_does_not_block_its_own_new_time(clinic):
    moving = book(clinic, at(9))
    query, calendars = _inputs(clinic, patient=clinic.patient, exclude_appointment_id=moving.pk)
    assert list(query.patient_busy) == []
    assert all(list(c.busy) == [] for c in calendars)


def test_appointments_of_practitioners_who_do_not_offer_the_service_are_not_loaded(
    clinic, procedure
):
    _appointment(clinic, at(9), 20, service=procedure)
    query, calendars = slot_inputs(
        organization=clinic.tenant.organization,
        service=procedure,
        window=Interval(at(0), at(0, day=5)),
        now=NOW,
    )
    assert [c.practitioner_id for c in calendars] == [clinic.doctor.pk]
    assert list(calendars[0].busy) == [Interval(at(8, 55), at(9, 30))]


def test_rules_keep_their_services_dates_and_location_zone(clinic):
    kathmandu = location_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="Branch",
        time_zone="Asia/Kathmandu",
    )
    availability_rule_save(
        actor=None,
        practitioner=clinic.doctor,
        location=clinic.location,
        weekday=5,
        start_time=time(8, 0, 30),
        end_time=time(12),
        effective_from=date(2026, 3, 1),
        effective_to=date(2026, 3, 31),
        services=[clinic.consult],
    )
    availability_rule_save(
        actor=None,
        practitioner=clinic.second_doctor,
        location=kathmandu,
        weekday=6,
        start_time=time(10),
        end_time=time(11),
    )
    availability_exception_save(
        actor=None,
        practitioner=clinic.second_doctor,
        kind="time_off",
        start=at(9, day=1),
        end=at(10, day=1),
    )
    _, calendars = _inputs(clinic)
    doctor, nurse = sorted(calendars, key=lambda c: c.practitioner_id != clinic.doctor.pk)
    assert doctor.time_zone == nurse.time_zone == "Australia/Sydney"  # the first rule's
    assert doctor.rules[-1] == WeeklyRule(
        5,
        time(8, 0, 30),
        time(12),
        date(2026, 3, 1),
        date(2026, 3, 31),
        frozenset({clinic.consult.pk}),
    )
    assert doctor.rules[0] == WeeklyRule(0, time(9), time(17))
    assert nurse.rules[-1] == WeeklyRule(6, time(10), time(11))
    assert list(nurse.time_off) == [Interval(at(9, day=1), at(10, day=1))]


def test_the_zone_is_the_earliest_rules_location_then_the_older_rule(clinic):
    kathmandu = location_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="Branch",
        time_zone="Asia/Kathmandu",
    )
    for location, first, last in (
        (kathmandu, date(2026, 1, 1), date(2026, 2, 28)),
        (clinic.location, date(2026, 3, 1), date(2026, 4, 30)),
    ):
        availability_rule_save(
            actor=None,
            practitioner=clinic.second_doctor,
            location=location,
            weekday=0,
            start_time=time(7),
            end_time=time(8),
            effective_from=first,
            effective_to=last,
        )
    _, calendars = _inputs(clinic)
    nurse = next(c for c in calendars if c.practitioner_id == clinic.second_doctor.pk)
    assert nurse.time_zone == "Asia/Kathmandu"
    assert [(r.start, r.effective_from) for r in nurse.rules[:3]] == [
        (time(7), date(2026, 1, 1)),
        (time(7), date(2026, 3, 1)),
        (time(9), None),
    ]


def test_a_scanner_is_busy_for_its_scans_and_their_buffers(clinic):
    scan_with_buffers = service_save(
        actor=None,
        organization=clinic.tenant.organization,
        name="MRI with preparation",
        category="radiology",
        duration_minutes=30,
        buffer_before_minutes=15,
        buffer_after_minutes=5,
        practitioners=[clinic.doctor],
        resource_needs=[{"kind": "scanner", "modality": "MR"}],
    )
    scan = book(clinic, at(9), service=scan_with_buffers)
    query, _ = slot_inputs(
        organization=clinic.tenant.organization,
        service=clinic.mri,
        window=Interval(at(0), at(0, day=5)),
        now=NOW,
    )
    [scanner] = query.resources
    assert list(scanner.busy) == [Interval(at(8, 45), at(9, 35))]
    assert scan.resource_holds.get().resource_id == scanner.resource_id


def _any_practitioner_times(clinic):
    found = slots_search(
        organization=clinic.tenant.organization,
        service=clinic.consult,
        window=Interval(at(9), at(11)),
        now=NOW,
        distinct_times=True,
    )
    return [slot.start for slot in found]


def test_practitioners_after_the_first_load_their_appointments_in_one_more_query(
    clinic, monkeypatch, django_assert_max_num_queries
):
    _appointment(clinic, at(9), 60)  # the doctor, loaded first
    _appointment(clinic, at(9), 30, practitioner=clinic.second_doctor, patient=clinic.patient)
    expected = [at(9, 30), at(9, 45), at(10), at(10, 15), at(10, 30)]
    assert _any_practitioner_times(clinic) == expected
    monkeypatch.setattr(selectors, "FIRST_LOADED", 1)
    with django_assert_max_num_queries(8):
        assert _any_practitioner_times(clinic) == expected


def test_no_more_appointments_are_loaded_once_the_first_practitioners_settle_every_time(
    clinic, monkeypatch, django_assert_num_queries
):
    _appointment(clinic, at(9), 30, practitioner=clinic.second_doctor)
    monkeypatch.setattr(selectors, "FIRST_LOADED", 1)
    with django_assert_num_queries(7):
        times = _any_practitioner_times(clinic)
    assert times[0] == at(9) and len(times) == 7
