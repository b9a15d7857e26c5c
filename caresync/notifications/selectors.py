"""Notification reads, scoped to who asks."""

from django.db.models import QuerySet

from caresync.core.policy import Actor
from caresync.notifications.models import Channel, InboundMessage, Notification


def notification_inbox(*, user) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first (every organization: they are
    addressed to the person)."""
    return Notification.objects.filter(recipient_user=user, channel=Channel.IN_APP).exclude(
        status=Notification.Status.CANCELLED
    )


def notification_unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return notification_inbox(user=user).filter(read_at__isnull=True).count()


def correspondence_for_organization(*, actor: Actor) -> QuerySet[Notification]:
    """Messages to patients (email, SMS, in-app) of the actor's organization."""
    if actor.organization is None:
        return Notification.objects.none()
    return (
        Notification.objects.filter(
            organization=actor.organization, recipient_key__startswith="patient:"
        )
        .select_related("patient")
        .order_by("-created_at", "-id")
    )


def inbound_for_organization(*, actor: Actor) -> QuerySet[InboundMessage]:
    if actor.organization is None:
        return InboundMessage.objects.none()
    return InboundMessage.objects.filter(organization=actor.organization).select_related(
        "patient", "handled_by", "reply"
    )


def correspondence_timeline(*, patient, channel: str = "") -> list[dict]:
    """Everything sent to and received from one patient, newest first: emails, texts (both
    directions) and in-app messages, with their delivery status. (The caller audits.)"""
    items = []
    sent = Notification.objects.filter(recipient_key=f"patient:{patient.pk}")
    if channel and channel != "sms_in":
        sent = sent.filter(channel=channel)
    if channel != "sms_in":
        for n in sent.order_by("-created_at")[:300]:
            items.append(
                {
                    "at": n.created_at,
                    "direction": "out",
                    "channel": n.channel,
                    "channel_label": n.get_channel_display(),
                    "title": n.subject or n.body[:80],
                    "body": n.body,
                    "to": n.to_address,
                    "status": n.status,
                    "status_label": n.get_status_display(),
                    "detail": n.last_error,
                }
            )
    if channel in ("", "sms", "sms_in"):
        for m in InboundMessage.objects.filter(patient=patient).order_by("-received_at")[:300]:
            items.append(
                {
                    "at": m.received_at,
                    "direction": "in",
                    "channel": "sms",
                    "channel_label": "SMS received",
                    "title": m.body[:80],
                    "body": m.body,
                    "to": m.from_number,
                    "status": m.action,
                    "status_label": m.get_action_display(),
                    "detail": "",
                }
            )
    return sorted(items, key=lambda item: item["at"], reverse=True)
