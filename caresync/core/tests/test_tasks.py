import pytest
import time_machine
from django.conf import settings

from caresync.core.models import Heartbeat
from caresync.core.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_beat_schedules_the_heartbeat_task():
    entry = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == heartbeat.name
    assert entry["schedule"] == settings.HEARTBEAT_INTERVAL_SECONDS


def test_each_heartbeat_advances_the_beat_time_and_count():
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        heartbeat.delay()
    with time_machine.travel("2026-03-01 10:01:00+00:00", tick=False):
        heartbeat.delay()
    beat = Heartbeat.objects.get(name="beat")
    assert beat.count == 2
    assert beat.beat_at.isoformat() == "2026-03-01T10:01:00+00:00"
