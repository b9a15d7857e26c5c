"""Delivery: claimed once, retried with backoff, every attempt recorded, a lost worker's
send resolved without sending twice."""

import random
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from caresync.integrations.transports import SendResult, TransportError
from caresync.notifications import delivery
from caresync.notifications.delivery import (
    notification_deliver,
    notifications_deliver_due,
    notifications_recover_stale,
)
from caresync.notifications.fanout import retry_delay
from caresync.notifications.models import DeliveryAttempt, Notification, OfflineSms, SmsOptOut
from caresync.scheduling.tests.conftest import at, book

pytestmark = pytest.mark.django_db
N = Notification.Status


@pytest.fixture
def queued(reachable):
    """The notifications of one booking, still queued (the on-commit tasks did not run)."""
    book(reachable, at(10))
    to_patient = Notification.objects.filter(recipient_key=f"patient:{reachable.patient.pk}")
    return {n.channel: n for n in to_patient}


def test_each_channel_is_delivered_and_the_attempt_recorded(queued):
    for notification in queued.values():
        notification_deliver(notification_id=notification.pk)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.test"]
    html, mime = mail.outbox[0].alternatives[0]
    assert mime == "text/html" and "Hello Ada" in html
    assert mail.outbox[0].extra_headers["Message-ID"].startswith("<notification-")
    assert OfflineSms.objects.get().to == "+61412345678"
    for notification in queued.values():
        notification.refresh_from_db()
        assert notification.status in (N.SENT, N.DELIVERED)
        assert notification.provider_message_id
        attempt = notification.delivery_attempts.get()
        assert attempt.ok and attempt.provider_message_id == notification.provider_message_id


def test_running_the_task_twice_sends_once(queued):
    email = queued["email"]
    assert notification_deliver(notification_id=email.pk) == N.SENT
    assert notification_deliver(notification_id=email.pk) == "skipped"
    assert len(mail.outbox) == 1
    assert DeliveryAttempt.objects.filter(notification=email).count() == 1


def test_commit_queues_delivery_and_the_eager_task_sends(
    reachable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        book(reachable, at(10))
    assert len(mail.outbox) == 1
    statuses = set(Notification.objects.values_list("status", flat=True))
    assert statuses <= {N.SENT, N.DELIVERED}


class Flaky:
    name = "flaky"

    def __init__(self, failures, permanent=False):
        self.failures, self.permanent, self.calls = failures, permanent, 0

    def send(self, message):
        self.calls += 1
        if self.calls <= self.failures:
            raise TransportError("503 Service Unavailable", permanent=self.permanent)
        return SendResult(provider_message_id=f"ok-{message.notification_id}")

    def lookup(self, message, *, since):
        return None


def test_transient_failures_retry_with_backoff_until_sent(queued, monkeypatch, settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30
    flaky = Flaky(failures=2)
    monkeypatch.setattr(delivery, "transport_for", lambda channel: flaky)
    email = queued["email"]
    assert notification_deliver(notification_id=email.pk) == N.QUEUED
    email.refresh_from_db()
    first_wait = email.next_attempt_at - timezone.now()
    assert timedelta(seconds=14) <= first_wait <= timedelta(seconds=31)
    # Not due yet: neither the task nor the sweep sends it early.
    assert notification_deliver(notification_id=email.pk) == "skipped"
    later = email.next_attempt_at + timedelta(seconds=1)
    assert notification_deliver(notification_id=email.pk, now=later) == N.QUEUED
    email.refresh_from_db()
    assert email.next_attempt_at - later >= timedelta(seconds=29)  # doubled: 30–60 s
    assert notifications_deliver_due(now=email.next_attempt_at) >= 1
    email.refresh_from_db()
    assert email.status == N.SENT and email.attempts == 3
    outcomes = list(email.delivery_attempts.values_list("ok", "error"))
    assert outcomes == [(False, "503 Service Unavailable")] * 2 + [(True, "")]


def test_a_permanent_failure_stops_at_once(queued, monkeypatch):
    monkeypatch.setattr(delivery, "transport_for", lambda channel: Flaky(9, permanent=True))
    email = queued["email"]
    assert notification_deliver(notification_id=email.pk) == N.FAILED
    email.refresh_from_db()
    assert email.failed_at and email.last_error == "503 Service Unavailable"
    assert email.delivery_attempts.get().permanent


def test_transient_failures_give_up_after_the_attempt_limit(queued, monkeypatch, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    monkeypatch.setattr(delivery, "transport_for", lambda channel: Flaky(99))
    email = queued["email"]
    when = timezone.now()
    for _ in range(3):
        notification_deliver(notification_id=email.pk, now=when)
        when += timedelta(hours=2)
    email.refresh_from_db()
    assert email.status == N.FAILED and email.attempts == 3
    assert email.delivery_attempts.count() == 3


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 100
    rng = random.Random(7)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {retry_delay(attempt, rng=rng).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_a_lost_worker_send_found_at_the_provider_is_not_sent_again(queued, settings):
    sms = queued["sms"]
    # The worker claimed and sent, then died before recording the answer.
    assert delivery._claim([sms.pk], timezone.now())
    delivery.transport_for("sms").send(delivery._message(Notification.objects.get(pk=sms.pk)))
    assert OfflineSms.objects.count() == 1
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS + 1)
    assert notifications_recover_stale(now=later) == 1
    sms.refresh_from_db()
    assert sms.status == N.DELIVERED
    assert sms.provider_message_id == OfflineSms.objects.get().sid
    notifications_deliver_due(now=later)
    assert OfflineSms.objects.count() == 1


def test_a_lost_worker_send_missing_at_the_provider_is_sent_again(queued, settings):
    sms = queued["sms"]
    assert delivery._claim([sms.pk], timezone.now())  # then died before sending
    others = Notification.objects.count() - 1
    assert notifications_deliver_due() == others  # still "sending": not touched
    later = timezone.now() + timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS + 1)
    notifications_deliver_due(now=later)
    sms.refresh_from_db()
    assert sms.status == N.DELIVERED and OfflineSms.objects.count() == 1
    assert [a.ok for a in sms.delivery_attempts.all()] == [False, True]


def test_a_number_that_opted_out_is_never_texted(queued):
    SmsOptOut.objects.create(phone="+61412345678", opted_out_at=timezone.now())
    sms = queued["sms"]
    assert notification_deliver(notification_id=sms.pk) == N.FAILED
    assert not OfflineSms.objects.exists()
    assert "STOP" in sms.delivery_attempts.get().error


def test_in_app_delivery_pushes_to_the_recipients_socket(queued, monkeypatch):
    pushed = []
    monkeypatch.setattr(
        "caresync.notifications.realtime.user_event_send",
        lambda *, user_ids, payload: pushed.append((user_ids, payload)),
    )
    in_app = queued["in_app"]
    assert notification_deliver(notification_id=in_app.pk) == N.DELIVERED
    ((user_ids, payload),) = pushed
    assert user_ids == [in_app.recipient_user_id]
    assert payload["type"] == "notification" and payload["title"] == "Appointment booked"


def test_a_batch_member_taken_back_by_recovery_is_not_sent_by_its_first_claimer(queued, settings):
    sms = queued["sms"]
    claimed_at = timezone.now()
    token = delivery._claim([sms.pk], claimed_at)
    # The batch is slow: recovery takes the waiting row for a lost send and requeues it...
    later = claimed_at + timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS + 1)
    assert notifications_recover_stale(now=later) == 1
    # ...so the first claimer, reaching it at last, must leave it to the next claim.
    assert delivery._send_claimed(Notification.objects.get(pk=sms.pk), token, later) == "skipped"
    assert not OfflineSms.objects.exists()
    notifications_deliver_due(now=later)
    assert OfflineSms.objects.count() == 1


def test_a_renewed_claim_is_not_taken_for_a_lost_send(queued, settings):
    sms = queued["sms"]
    claimed_at = timezone.now()
    delivery._claim([sms.pk], claimed_at)
    later = claimed_at + timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS + 1)
    # Renewed just before sending (the sender is alive and working on it).
    Notification.objects.filter(pk=sms.pk).update(claimed_at=later)
    assert notifications_recover_stale(now=later) == 0
    assert Notification.objects.get(pk=sms.pk).status == N.SENDING
