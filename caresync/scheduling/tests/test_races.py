"""Concurrent bookings of one slot, each on its own database connection: exactly one wins.

On PostgreSQL the exclusion constraints decide; on SQLite the serialized write
transactions do. Both run in CI (tiers 1 and 2)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from caresync.core.errors import ApplicationError
from caresync.directory.services import patient_create
from caresync.scheduling.models import Appointment
from caresync.scheduling.services import appointment_book, appointment_reschedule, idempotent
from caresync.scheduling.tests.conftest import NOW

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 12
START = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Australia/Sydney"))


def run_concurrently(task, count=CLIENTS):
    barrier = threading.Barrier(count)

    def worker(index):
        try:
            barrier.wait()
            return task(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_many_clients_booking_the_same_slot_yield_one_appointment(clinic):
    from datetime import date

    patients = [
        patient_create(
            actor=None,
            organization=clinic.tenant.organization,
            given_name=f"P{n}",
            family_name="Race",
            date_of_birth=date(1990, 1, n + 1),
        )
        for n in range(CLIENTS)
    ]

    def book(index):
        try:
            appointment_book(
                actor=None,
                organization=clinic.tenant.organization,
                patient=patients[index],
                service=clinic.consult,
                start=START,
                practitioner=clinic.doctor,
                now=NOW,
            )
            return 201
        except ApplicationError as exc:
            return exc.status_code

    outcomes = run_concurrently(book)
    assert sorted(outcomes) == [201] + [409] * (CLIENTS - 1), (connection.vendor, outcomes)
    assert Appointment.objects.filter(practitioner=clinic.doctor).count() == 1


def test_two_moves_into_one_free_slot_leave_one_there(clinic):
    first = appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.patient,
        service=clinic.consult,
        start=START,
        practitioner=clinic.doctor,
        now=NOW,
    )
    second = appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.other_patient,
        service=clinic.consult,
        start=START.replace(hour=10),
        practitioner=clinic.doctor,
        now=NOW,
    )
    target = START.replace(hour=14)

    def move(index):
        try:
            appointment_reschedule(
                actor=None, appointment=(first, second)[index], start=target, now=NOW
            )
            return 200
        except ApplicationError as exc:
            return exc.status_code

    assert sorted(run_concurrently(move, count=2)) == [200, 409]
    assert Appointment.objects.filter(start=target).count() == 1


def test_duplicate_requests_with_one_idempotency_key_book_once(clinic):
    user = clinic.tenant.staff

    def handler():
        appointment = appointment_book(
            actor=user,
            organization=clinic.tenant.organization,
            patient=clinic.patient,
            service=clinic.consult,
            start=START,
            practitioner=clinic.doctor,
            now=NOW,
        )
        return 201, {"id": appointment.pk}

    def request(index):
        return idempotent(
            user=user, key="same-key", payload={"start": START.isoformat()}, handler=handler
        )

    # 100 on SQLite; PostgreSQL's default 100-connection limit is shared with the suite.
    responses = run_concurrently(request, count=100 if connection.vendor == "sqlite" else 60)
    assert all(response == responses[0] for response in responses)
    assert responses[0][0] == 201
    assert Appointment.objects.count() == 1
