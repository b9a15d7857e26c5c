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
