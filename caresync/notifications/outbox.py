"""The transactional outbox: domain events are written inside the caller's transaction;
after commit a relay turns them into reminders and notifications, one event at a time in
the order they were recorded."""

import logging
import time

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from caresync.accounts.models import Organization, User
from caresync.core.locks import OUTBOX_RELAY, transaction_lock
from caresync.notifications.models import OutboxEvent

logger = logging.getLogger(__name__)
# Events per relay transaction: short, since on SQLite it holds the write lock throughout.
RELAY_BATCH = 25
# Relay tasks are queued to run this many seconds after the commit that asks for one; a
# commit within the first half of that finds one queued and queues none (the mark below).
RELAY_DELAY_SECONDS = 1.0
RELAY_QUEUED_MARK = "outbox:relay-queued"
# When (``time.monotonic``) this process last queued a relay or found one queued: for half
# the delay after that a relay is known to be still to start, without asking the cache.
_relay_known_at = float("-inf")


def domain_event_record(
    *,
    kind: str,
    subject: object,
    organization: Organization | None,
    actor: User | None = None,
    payload: dict | None = None,
) -> OutboxEvent:
    """Record ``kind`` about ``subject`` (a model instance): committed or rolled back with
    the change it describes. Its notifications follow after commit (``outbox_dispatch``)."""
    event = OutboxEvent.objects.create(
        organization=organization,
        kind=kind,
        subject=f"{subject._meta.model_name}:{subject.pk}",
        payload=payload or {},
        actor=actor,
    )
    _relay_after_commit()
    return event


def _relay_after_commit() -> None:
    """Queue one relay task when the transaction commits, however many events it wrote. A
    broker that is down loses nothing: the periodic sweep relays what is left."""
    if not any(func is _relay_enqueue for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_relay_enqueue, robust=True)


def _relay_enqueue() -> None:
    """Queue a relay that starts ``RELAY_DELAY_SECONDS`` from now, unless one queued less
    than half that ago still has to start: it relays this commit's events too, since they
    are committed before it reads. Under load that is one task a second instead of one per
    commit, and the publish is most of what the enqueue costs the request. Eager tasks (the
    tests) run at once, so each commit runs its own; a cache that cannot be reached (None,
    not False) queues one per commit, as a relay with no mark at all would."""
    global _relay_known_at
    from caresync.notifications.tasks import dispatch_outbox

    if not dispatch_outbox.app.conf.task_always_eager:
        # Read before asking: a mark found was set at most half the delay before this, so
        # its relay starts at least half the delay after it.
        now = time.monotonic()
        if now < _relay_known_at + RELAY_DELAY_SECONDS / 2:
            return
        marked = cache.add(RELAY_QUEUED_MARK, True, timeout=RELAY_DELAY_SECONDS / 2)
        _relay_known_at = now
        if marked is False:
            return
    try:
        dispatch_outbox.apply_async(countdown=RELAY_DELAY_SECONDS, retry=False)
    except Exception:  # the broker is down: the sweeper relays the events later
        logger.warning("Could not enqueue the outbox relay; the sweeper will run it")


def outbox_dispatch(*, batch: int = RELAY_BATCH) -> int:
    """Relay every undispatched event, oldest first: arm its reminders and create its
    notifications (each event in its own savepoint, marked dispatched with them). One relay
    runs at a time, so an appointment's events are told in the order they happened. An
    event that fails is logged and left for the next run. Returns how many were relayed."""
    from caresync.notifications.fanout import notifications_fan_out
    from caresync.notifications.reminders import reminders_follow

    relayed = 0
    failed: set[int] = set()
    while True:
        with transaction.atomic():
            transaction_lock(OUTBOX_RELAY)
            events = list(
                OutboxEvent.objects.filter(dispatched_at__isnull=True)
                .exclude(pk__in=failed)
                .order_by("pk")[:batch]
            )
            done = []
            for event in events:
                try:
                    with transaction.atomic():
                        reminders_follow(event)
                        notifications_fan_out(event)
                except Exception:
                    logger.exception("Outbox event %s failed; retried later", event)
                    failed.add(event.pk)
                else:
                    done.append(event.pk)
            OutboxEvent.objects.filter(pk__in=done).update(dispatched_at=timezone.now())
        relayed += len(done)
        if len(events) < batch:
            return relayed


# Emails carrying a secret (set-password links) keep their text only until sent.
LINK_EMAIL_PREFIX = "account."
LINK_EMAIL_SCRUBBED = "(Account email with a one-time link; the text is not kept after sending.)"


def email_message_queue(
    *,
    kind: str,
    user: User,
    organization: Organization | None,
    subject: str,
    body: str,
    html: str = "",
) -> None:
    """An email already rendered by its caller (account emails: their links are bound to
    the moment), delivered by the notification pipeline after commit: retried, with every
    attempt recorded. The outbox event keeps identifiers only."""
    from django.utils import timezone

    from caresync.notifications.fanout import delivery_queue
    from caresync.notifications.models import Channel, Notification

    event = domain_event_record(
        kind=kind, subject=user, organization=organization, payload={"user": user.pk}
    )
    notification = Notification.objects.create(
        organization=organization,
        outbox_event=event,
        event_kind=kind,
        channel=Channel.EMAIL,
        recipient_user=user,
        recipient_key=f"user:{user.pk}",
        to_address=user.email,
        subject=subject[:255],
        body=body,
        html=html,
        next_attempt_at=timezone.now(),
    )
    delivery_queue([notification.pk])
