"""Failure tests on PostgreSQL + Redis with a real Celery worker (tier 2): the provider
down for a while, the worker killed mid-delivery, Redis unavailable to the web process.
Counted at the provider: every notification arrives once, none is lost."""

import os
import signal
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from caresync.celery import app as celery_app
from caresync.core.tests.test_worker import worker_database_url
from caresync.integrations.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from caresync.integrations.twilio.fake import FakeTwilio
from caresync.notifications.models import Notification, OutboxEvent
from caresync.notifications.tasks import deliver_notification
from caresync.notifications.tests.celery_worker import wait_for, worker_start, worker_stop

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("post")),
        reason="needs REDIS_URL and PostgreSQL (make test-pg)",
    ),
    pytest.mark.django_db(transaction=True),
]
N = Notification.Status
DONE = (N.SENT, N.DELIVERED)


@pytest.fixture(autouse=True)
def _at_now():
    """Real time here: the worker process runs on the real clock."""
    yield


@pytest.fixture
def fake():
    with FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as twilio:
        yield twilio


@pytest.fixture
def worker_env(fake, tmp_path):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and PostgreSQL (make test-pg)")
    celery_app.conf.task_always_eager = False
    return {
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "VAR_DIR": str(tmp_path),
        "SMS_BACKEND": "caresync.integrations.twilio.client.TwilioSmsTransport",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+61400000000",
        "TWILIO_API_BASE_URL": fake.base_url,
        "HEARTBEAT_INTERVAL_SECONDS": "3600",
    }


WEB_REQUEST = """
import json, sys
import django
django.setup()
from django.test import Client
from caresync.accounts.models import User
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(pk=int(sys.argv[1])))
response = client.post(
    sys.argv[2], sys.argv[3], content_type="application/json", HTTP_X_ORGANIZATION=sys.argv[4]
)
print(json.dumps({"status": response.status_code, "body": response.content.decode()[:2000]}))
"""


def web_request_without_redis(env, *, user_id, path, data, organization):
    """One API request in a separate web process whose Redis is unreachable."""
    import json
    import subprocess
    import sys

    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", WEB_REQUEST, str(user_id), path, json.dumps(data), organization],
        env={**os.environ, **env, "REDIS_URL": "redis://127.0.0.1:1/0", "LOG_LEVEL": "ERROR"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-3000:]
    answer = json.loads(lines[-1])
    return answer["status"], answer["body"]


def queue_texts(count: int) -> list[int]:
    """``count`` queued text messages, each to its own number with its own text."""
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(
            event_kind="appointment.reminder",
            channel="sms",
            recipient_key=f"phone:{i}",
            to_address=f"+614{i:08d}",
            body=f"Reminder {i}: your appointment is tomorrow.",
            next_attempt_at=now,
        )
        for i in range(count)
    )
    return [row.pk for row in rows]


def enqueue(ids):
    for notification_id in ids:
        deliver_notification.apply_async(args=[notification_id])


def done_count() -> int:
    return Notification.objects.filter(status__in=DONE).count()


def assert_each_arrived_once(fake, count):
    receipts = Counter(m["to"] for m in fake.receipts())
    assert len(receipts) == count, f"{count - len(receipts)} lost"
    assert max(receipts.values()) == 1, f"duplicates: {[t for t, n in receipts.items() if n > 1]}"
    recorded = set(Notification.objects.values_list("provider_message_id", flat=True))
    assert recorded == {m["sid"] for m in fake.receipts()}


def test_provider_down_for_a_while_then_everything_arrives_once(fake, worker_env, tmp_path):
    ids = queue_texts(40)
    fake.fail_with = (503, 20500)
    process = worker_start(env=worker_env, log_path=tmp_path / "worker.log")
    try:
        enqueue(ids)
        assert wait_for(
            lambda: Notification.objects.filter(attempts__gte=2).count() >= 10, timeout=90
        ), (tmp_path / "worker.log").read_text()[-3000:]
        assert done_count() == 0 and fake.receipts() == []
        fake.fail_with = None  # the provider recovers
        assert wait_for(lambda: done_count() == len(ids), timeout=120), Counter(
            Notification.objects.values_list("status", flat=True)
        )
    finally:
        worker_stop(process)
    assert_each_arrived_once(fake, len(ids))
    failed_tries = Notification.objects.filter(delivery_attempts__ok=False).distinct().count()
    assert failed_tries >= 10  # the outage is on record, attempt by attempt
    assert not Notification.objects.filter(status=N.FAILED).exists()


def test_worker_killed_mid_delivery_of_1000_loses_none_and_sends_none_twice(
    fake, worker_env, tmp_path
):
    fake.delay = 0.005
    ids = queue_texts(1000)
    log = tmp_path / "worker.log"
    process = worker_start(env=worker_env, log_path=log, concurrency=4)
    try:
        enqueue(ids)
        assert wait_for(lambda: done_count() >= 150, timeout=120), log.read_text()[-3000:]
    finally:
        worker_stop(process, sig=signal.SIGKILL)  # mid-delivery, no goodbye
    assert done_count() < len(ids), "the worker finished before it could be killed"
    restarted = worker_start(env=worker_env, log_path=log, concurrency=4)
    try:
        assert wait_for(lambda: done_count() == len(ids), timeout=240), Counter(
            Notification.objects.values_list("status", flat=True)
        )
    finally:
        worker_stop(restarted)
    assert_each_arrived_once(fake, len(ids))


def test_redis_down_for_the_web_process_keeps_requests_working_and_delivers_later(
    fake, worker_env, tmp_path
):
    from datetime import date, time

    from caresync.accounts.tests.factories import MembershipFactory, OrganizationFactory
    from caresync.directory.services import (
        location_save,
        patient_create,
        practitioner_profile_create,
        service_save,
    )
    from caresync.scheduling.services import availability_rule_save

    organization = OrganizationFactory(slug="redis-down", time_zone="UTC", country="AU")
    admin = MembershipFactory(organization=organization, role="org_admin").user
    doctor_member = MembershipFactory(
        organization=organization, role="practitioner", practitioner_kind="doctor"
    )
    location = location_save(actor=None, organization=organization, name="Main", time_zone="UTC")
    doctor = practitioner_profile_create(actor=None, membership=doctor_member)
    for weekday in range(7):
        availability_rule_save(
            actor=None,
            practitioner=doctor,
            location=location,
            weekday=weekday,
            start_time=time(0),
            end_time=time(23),
        )
    service = service_save(
        actor=None,
        organization=organization,
        name="Consult",
        category="in_person",
        duration_minutes=30,
        min_notice_minutes=0,
        practitioners=[doctor],
    )
    patient = patient_create(
        actor=None,
        organization=organization,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1985, 12, 10),
        phone="+61412345678",
        consent_sms=True,
    )
    queue = redis.Redis.from_url(settings.REDIS_URL)
    queue.delete("celery")  # whatever earlier tests left behind
    tomorrow = timezone.now() + timedelta(days=1)
    start = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    # The web process runs with Redis gone: cache, channel layer and broker all point at a
    # closed port.
    status, body = web_request_without_redis(
        worker_env,
        user_id=admin.pk,
        path="/api/v1/appointments/",
        data={
            "patient": patient.pk,
            "service": service.pk,
            "practitioner": doctor.pk,
            "start": start.isoformat(),
        },
        organization=organization.slug,
    )
    assert status == 201, body
    # Kept in the database, not lost with the broker: the event waits for the relay.
    event = OutboxEvent.objects.get(kind="appointment.booked", payload__patient=patient.pk)
    assert event.dispatched_at is None
    assert queue.llen("celery") == 0  # no task reached the broker: the sweep relays it
    process = worker_start(env=worker_env, log_path=tmp_path / "worker.log")
    sms = Notification.objects.filter(channel="sms", patient=patient)
    try:
        assert wait_for(lambda: sms.filter(status__in=DONE).exists(), timeout=90)
    finally:
        worker_stop(process)
    assert [m["to"] for m in fake.receipts()] == ["+61412345678"]
