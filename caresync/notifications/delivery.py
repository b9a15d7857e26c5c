"""Delivery: hand queued notifications to their transport, at most once each.

A delivery first *claims* the row with a conditional update (queued → sending, with a
fresh claim token); only the winner sends, so a task that runs twice, or a task and the
sweeper at once, send once. The outcome is written only under the same claim token. A
worker that dies after claiming leaves the row ``sending``; after
``NOTIFICATION_SENDING_TIMEOUT_SECONDS`` the sweeper asks the transport whether the
provider already has the message (Twilio: listed by number and text) and records it, or
queues it again (email: resent with the same Message-ID). Every try is a DeliveryAttempt.
See docs/decisions/0007-notification-delivery.md.
"""

import logging
import secrets
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from caresync.integrations.smtp import EmailTransport
from caresync.integrations.transports import OutgoingMessage, SendResult, TransportError
from caresync.notifications.fanout import retry_delay
from caresync.notifications.models import Channel, DeliveryAttempt, Notification, SmsOptOut
from caresync.notifications.outbox import LINK_EMAIL_PREFIX, LINK_EMAIL_SCRUBBED

logger = logging.getLogger(__name__)
N = Notification.Status
_rng = secrets.SystemRandom()


class InAppTransport:
    """In-app messages are the stored row itself; delivery pushes it to the recipient's
    open pages over the WebSocket (best effort: the bell reads the rows on every page)."""

    name = "in_app"

    def send(self, message: OutgoingMessage) -> SendResult:
        from caresync.notifications.realtime import user_event_send

        notification = Notification.objects.get(pk=message.notification_id)
        if notification.recipient_user_id:
            user_event_send(
                user_ids=[notification.recipient_user_id],
                payload={
                    "type": "notification",
                    "id": notification.pk,
                    "title": notification.subject,
                    "body": notification.body,
                    "url": notification.link,
                    "icon": "bell",
                },
            )
        return SendResult(provider_message_id=f"in-app-{notification.pk}", status="delivered")

    def lookup(self, message, *, since):
        return None


def transport_for(channel: str):
    if channel == Channel.EMAIL:
        return EmailTransport()
    if channel == Channel.SMS:
        return import_string(settings.SMS_BACKEND)()
    return InAppTransport()


def _message(notification: Notification, *, for_lookup: bool = False) -> OutgoingMessage:
    callback = ""
    if notification.channel == Channel.SMS:
        # The id lets Twilio's report resolve a send whose worker died before recording it.
        callback = (
            settings.SITE_URL.rstrip("/")
            + reverse("twilio-status")
            + f"?notification={notification.pk}"
        )
    known = set()
    if for_lookup:  # provider ids already recorded for this address are other sends
        known = set(
            Notification.objects.filter(
                channel=notification.channel, to_address=notification.to_address
            )
            .exclude(pk=notification.pk)
            .exclude(provider_message_id="")
            .values_list("provider_message_id", flat=True)
        )
    return OutgoingMessage(
        notification_id=notification.pk,
        channel=notification.channel,
        to=notification.to_address,
        subject=notification.subject,
        body=notification.body,
        html=notification.html,
        reference=f"<notification-{notification.pk}@{reference_domain()}>",
        status_callback=callback,
        known_provider_ids=frozenset(known),
    )


def reference_domain() -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.SITE_URL).hostname or "caresync.local"


def _claim(notification_ids, now: datetime) -> uuid.UUID | None:
    token = uuid.uuid4()
    claimed = Notification.objects.filter(
        pk__in=notification_ids, status=N.QUEUED, next_attempt_at__lte=now
    ).update(status=N.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    return token if claimed else None


def _record(notification, *, transport, ok, started, error="", permanent=False, provider_id=""):
    DeliveryAttempt.objects.create(
        notification=notification,
        at=timezone.now(),
        transport=transport,
        ok=ok,
        permanent=permanent,
        error=error[:500],
        duration_ms=int((time.monotonic() - started) * 1000),
        provider_message_id=provider_id,
    )


def _blocked(notification: Notification) -> str:
    """Why this notification must not be sent now ('' if it may)."""
    if (
        notification.channel == Channel.SMS
        and SmsOptOut.objects.filter(phone=notification.to_address).exists()
    ):
        return "The number replied STOP (opted out of SMS)."
    if not notification.to_address and notification.channel != Channel.IN_APP:
        return "No address."
    return ""


def _send_claimed(notification: Notification, token: uuid.UUID, now: datetime) -> str:
    """Send one claimed notification and record the outcome under its claim. The claim is
    renewed just before sending: a row that waited in a batch is not taken for a lost
    send, and one that recovery already took back is left alone."""
    transport = transport_for(notification.channel)
    started = time.monotonic()
    mine = Notification.objects.filter(pk=notification.pk, claim_token=token, status=N.SENDING)
    if not mine.update(claimed_at=max(now, timezone.now())):
        return "skipped"
    blocked = _blocked(notification)
    if blocked:
        _record(
            notification,
            transport=transport.name,
            ok=False,
            started=started,
            error=blocked,
            permanent=True,
        )
        mine.update(status=N.FAILED, last_error=blocked, failed_at=timezone.now())
        return N.FAILED
    try:
        result = transport.send(_message(notification))
    except TransportError as exc:
        return _failed(notification, mine, transport.name, started, exc, now)
    except Exception as exc:  # a bug in a transport must not leave the row sending forever
        logger.exception("Transport %s crashed on notification %s", transport.name, notification.pk)
        return _failed(notification, mine, transport.name, started, TransportError(repr(exc)), now)
    _record(
        notification,
        transport=transport.name,
        ok=True,
        started=started,
        provider_id=result.provider_message_id,
    )
    now = timezone.now()
    status = N.DELIVERED if result.status == "delivered" else N.SENT
    secret = {}
    if notification.event_kind.startswith(LINK_EMAIL_PREFIX):
        secret = {"body": LINK_EMAIL_SCRUBBED, "html": ""}
    mine.update(
        status=status,
        provider_message_id=result.provider_message_id,
        sent_at=now,
        delivered_at=now if status == N.DELIVERED else None,
        last_error="",
        **secret,
    )
    return status


def _failed(notification, mine, transport_name, started, exc: TransportError, now) -> str:
    attempts = Notification.objects.values_list("attempts", flat=True).get(pk=notification.pk)
    permanent = exc.permanent or attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    _record(
        notification,
        transport=transport_name,
        ok=False,
        started=started,
        error=str(exc),
        permanent=exc.permanent,
    )
    now = max(now, timezone.now())
    if permanent:
        mine.update(status=N.FAILED, last_error=str(exc)[:500], failed_at=now)
        return N.FAILED
    mine.update(
        status=N.QUEUED,
        last_error=str(exc)[:500],
        next_attempt_at=now + retry_delay(attempts, rng=_rng),
        claim_token=None,
    )
    return N.QUEUED


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Deliver one notification if it is due and nobody else is; returns its status after
    (or ``skipped`` when it was not claimable: already sent, sending elsewhere, not due)."""
    now = now or timezone.now()
    token = _claim([notification_id], now)
    if token is None:
        return "skipped"
    notification = Notification.objects.get(pk=notification_id)
    return _send_claimed(notification, token, now)


def _claim_due_batch(now: datetime, limit: int) -> list[tuple[Notification, uuid.UUID]]:
    with transaction.atomic():
        due = Notification.objects.filter(status=N.QUEUED, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            # Concurrent sweepers take disjoint batches instead of waiting on each other.
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        token = _claim(ids, now)
    if token is None:
        return []
    return [(n, token) for n in Notification.objects.filter(claim_token=token)]


def notifications_deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The periodic sweep: resolve sends whose worker vanished, then deliver what is due
    (retries and anything whose task was lost). Returns how many were sent or failed."""
    now = now or timezone.now()
    notifications_recover_stale(now=now)
    done = 0
    for notification, token in _claim_due_batch(now, limit):
        _send_claimed(notification, token, now)
        done += 1
    return done


def notifications_recover_stale(*, now: datetime | None = None) -> int:
    """Rows left ``sending`` longer than the timeout: if the provider has the message,
    record it as sent; otherwise queue it again. Returns how many were resolved."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATION_SENDING_TIMEOUT_SECONDS)
    resolved = 0
    for notification in Notification.objects.filter(status=N.SENDING, claimed_at__lt=cutoff):
        stale = Notification.objects.filter(
            pk=notification.pk,
            status=N.SENDING,
            claim_token=notification.claim_token,
            claimed_at__lt=cutoff,  # not renewed meanwhile by a sender that is alive
        )
        transport = transport_for(notification.channel)
        started = time.monotonic()
        try:
            found = transport.lookup(
                _message(notification, for_lookup=True), since=notification.claimed_at
            )
        except TransportError as exc:
            logger.warning("Lookup of notification %s failed: %s", notification.pk, exc)
            continue
        if found is not None:
            _record(
                notification,
                transport=transport.name,
                ok=True,
                started=started,
                provider_id=found.provider_message_id,
                error="Worker lost before recording; found at the provider.",
            )
            stale.update(
                status=N.DELIVERED if found.status == "delivered" else N.SENT,
                provider_message_id=found.provider_message_id,
                sent_at=now,
            )
        else:
            _record(
                notification,
                transport=transport.name,
                ok=False,
                started=started,
                error="Worker lost mid-send; not at the provider, sending again.",
            )
            stale.update(status=N.QUEUED, next_attempt_at=now, claim_token=None)
        resolved += 1
    return resolved
