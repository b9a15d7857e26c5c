"""Notification writes other than delivery: reading, preferences, templates, provider
callbacks."""

from django.db import transaction
from django.utils import timezone

from caresync.notifications.models import Notification

N = Notification.Status
# Twilio MessageStatus → our status. https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
TWILIO_STATUSES = {
    "sent": N.SENT,
    "delivered": N.DELIVERED,
    "read": N.DELIVERED,
    "undelivered": N.FAILED,
    "failed": N.FAILED,
}
# A later callback never moves a message back (callbacks may arrive out of order).
RANK = {N.QUEUED: 0, N.SENDING: 1, N.SENT: 2, N.DELIVERED: 3, N.FAILED: 3}


@transaction.atomic
def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark one of the actor's in-app notifications read (idempotent)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's unread in-app notifications read: those in ``ids``, or all when
    ``ids`` is None. Others' ids are ignored. Returns how many changed."""
    from caresync.notifications.selectors import notification_inbox

    unread = notification_inbox(user=actor).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_provider_status_record(
    *,
    actor,
    provider_message_id: str,
    provider_status: str,
    error_code: str = "",
    notification_id: int | None = None,
) -> Notification | None:
    """Apply a provider's delivery report (Twilio ``MessageStatus``). Finds the message by
    its provider id, or by the notification id in the callback URL when the worker died
    before recording the id. Returns the notification (None if unknown)."""
    notification = (
        Notification.objects.select_for_update()
        .filter(provider_message_id=provider_message_id)
        .first()
    )
    if notification is None and notification_id is not None:
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, provider_message_id="")
            .first()
        )
    if notification is None:
        return None
    now = timezone.now()
    notification.provider_message_id = provider_message_id
    notification.provider_status = provider_status[:30]
    fields = ["provider_message_id", "provider_status"]
    target = TWILIO_STATUSES.get(provider_status)
    if notification.status == N.SENDING and target is None:
        target = N.SENT  # accepted by the provider: the send happened
    if target is not None and RANK[target] > RANK.get(notification.status, 3):
        notification.status = target
        fields.append("status")
        if target in (N.SENT, N.DELIVERED) and notification.sent_at is None:
            notification.sent_at = now
            fields.append("sent_at")
        if target == N.DELIVERED:
            notification.delivered_at = now
            fields.append("delivered_at")
        if target == N.FAILED:
            notification.failed_at = now
            notification.last_error = (
                f"Provider reported {provider_status} (error {error_code or '-'})"
            )
            fields += ["failed_at", "last_error"]
    notification.save(update_fields=fields)
    return notification
