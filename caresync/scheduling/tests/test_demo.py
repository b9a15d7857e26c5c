"""The demo month shows every appointment status, moves and proposals."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from caresync.scheduling.models import Appointment, AppointmentEvent

pytestmark = pytest.mark.django_db


# A Wednesday afternoon in Sydney (16:00), late morning in Kathmandu.
@time_machine.travel(datetime(2026, 3, 4, 5, tzinfo=UTC), tick=False)
def test_the_demo_month_has_appointments_in_every_status_and_moves():
    call_command("seed_demo", quiet_logins=True)
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert statuses == set(Appointment.Status.values)
    moved = AppointmentEvent.objects.exclude(from_start=None).exclude(to_start=None)
    assert moved.filter(to_status="proposed").exists()
    assert moved.filter(to_status="scheduled").exists()
