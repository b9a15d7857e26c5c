"""The outbox: events are relayed to notifications after commit, in order, once; account
emails (set-password links) go through the delivery pipeline."""

import pytest
from django.core import mail

from caresync.notifications import delivery
from caresync.notifications.models import Notification, OutboxEvent
from caresync.notifications.outbox import LINK_EMAIL_SCRUBBED, outbox_dispatch
from caresync.scheduling.tests.conftest import at, book

pytestmark = pytest.mark.django_db


def test_a_password_reset_email_is_delivered_by_the_pipeline_and_its_link_not_kept(
    api_client, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    (message,) = mail.outbox
    assert "/account/set-password/" in message.body
    notification = Notification.objects.get(event_kind="account.password_reset")
    assert notification.status == "sent" and notification.recipient_user == tenant_a.nurse
    assert notification.body == LINK_EMAIL_SCRUBBED and notification.html == ""
    assert notification.delivery_attempts.get().ok
    event = OutboxEvent.objects.get(kind="account.password_reset")
    assert event.payload == {"user": tenant_a.nurse.pk}  # identifiers only, never the link


def test_an_account_email_that_fails_is_retried_with_its_link(
    api_client, tenant_a, django_capture_on_commit_callbacks, monkeypatch
):
    from caresync.integrations.transports import TransportError

    class Down:
        name = "email"

        def send(self, message):
            raise TransportError("Mail server unavailable")

    monkeypatch.setattr(delivery, "transport_for", lambda channel: Down())
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    notification = Notification.objects.get(event_kind="account.password_reset")
    assert notification.status == "queued" and notification.attempts == 1
    assert "/account/set-password/" in notification.body  # kept until it is sent


# --- The relay, after commit --------------------------------------------------------------


def _undispatched():
    return OutboxEvent.objects.filter(dispatched_at__isnull=True)


@pytest.mark.after_commit
def test_events_are_relayed_after_commit_by_one_task_per_transaction(
    reachable, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        first = book(reachable, at(10))
        second = book(reachable, at(11))
    # Committed: the events are there, nothing is told yet, and one relay is queued.
    assert _undispatched().count() == 2
    assert not Notification.objects.exists()
    assert [c.__name__ for c in callbacks] == ["_relay_enqueue"]
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the broker runs the relay (eager in tests)
    assert not _undispatched().exists()
    for appointment in (first, second):
        told = Notification.objects.filter(outbox_event__payload__appointment=appointment.pk)
        assert {"email", "sms", "in_app"} <= {n.channel for n in told}
    assert reachable.patient.appointments.get(pk=first.pk).reminders.exists()


@pytest.mark.after_commit
@pytest.mark.django_db(transaction=True)  # each booking commits
def test_commits_close_together_share_one_delayed_relay_that_tells_them_all(reachable, monkeypatch):
    import time

    from caresync.celery import app as celery_app
    from caresync.notifications import tasks
    from caresync.notifications.outbox import RELAY_DELAY_SECONDS

    celery_app.conf.task_always_eager = False
    queued = []
    monkeypatch.setattr(tasks.dispatch_outbox, "apply_async", lambda **k: queued.append(k))
    first = book(reachable, at(10))
    second = book(reachable, at(11))  # the relay queued for the first is still to run
    assert queued == [{"countdown": RELAY_DELAY_SECONDS, "retry": False}]
    # It starts after both commits, so it relays both events.
    tasks.dispatch_outbox()
    assert not _undispatched().exists()
    for appointment in (first, second):
        assert Notification.objects.filter(outbox_event__payload__appointment=appointment.pk)
    # Half the delay later the mark is gone, well before a relay queued then could start:
    # the next commit queues its own.
    time.sleep(RELAY_DELAY_SECONDS / 2)
    book(reachable, at(12))
    assert len(queued) == 2


@pytest.mark.after_commit
def test_a_rolled_back_change_leaves_no_event_and_queues_no_relay(
    reachable, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            book(reachable, at(10))
            raise RuntimeError("the request failed after booking")
    assert callbacks == [] and not OutboxEvent.objects.exists()


@pytest.mark.after_commit
def test_with_the_broker_down_the_sweep_relays_the_events(
    reachable, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from caresync.notifications import tasks

    def down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.dispatch_outbox, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(reachable, at(10))
    assert "sweeper will run it" in caplog.text
    assert _undispatched().count() == 1 and not Notification.objects.exists()
    tasks.sweep_notifications()
    assert not _undispatched().exists()
    assert Notification.objects.filter(outbox_event__payload__appointment=appointment.pk).exists()


@pytest.mark.after_commit
def test_a_failing_event_is_retried_later_and_holds_up_no_other(reachable, monkeypatch, caplog):
    from caresync.notifications import fanout

    broken = book(reachable, at(10))
    fine = book(reachable, at(11))
    real = fanout.notifications_fan_out

    def fan_out(event, **kwargs):
        if event.payload["appointment"] == broken.pk:
            raise ValueError("a template engine bug")
        return real(event, **kwargs)

    monkeypatch.setattr(fanout, "notifications_fan_out", fan_out)
    assert outbox_dispatch() == 1
    assert "failed; retried later" in caplog.text
    (left,) = _undispatched()
    assert left.payload["appointment"] == broken.pk
    assert not Notification.objects.filter(outbox_event=left).exists()
    assert not broken.reminders.exists()  # its savepoint rolled back with it
    assert Notification.objects.filter(outbox_event__payload__appointment=fine.pk).exists()
    monkeypatch.setattr(fanout, "notifications_fan_out", real)
    assert outbox_dispatch() == 1
    assert not _undispatched().exists()


@pytest.mark.after_commit
def test_relaying_again_tells_nobody_twice(reachable):
    book(reachable, at(10))
    assert outbox_dispatch() == 1
    told = Notification.objects.count()
    OutboxEvent.objects.update(dispatched_at=None)  # as if the relay died before marking
    assert outbox_dispatch() == 1
    assert Notification.objects.count() == told


@pytest.mark.after_commit
def test_the_relay_works_through_the_backlog_in_batches_oldest_first(reachable, monkeypatch):
    from caresync.notifications import fanout

    for hour in (9, 10, 11, 12, 13):
        book(reachable, at(hour))
    seen = []
    real = fanout.notifications_fan_out

    def fan_out(event, **kwargs):
        seen.append(event.pk)
        return real(event, **kwargs)

    monkeypatch.setattr(fanout, "notifications_fan_out", fan_out)
    assert outbox_dispatch(batch=2) == 5
    assert seen == sorted(seen) and len(seen) == 5
    assert not _undispatched().exists()
