"""Write domain events to the outbox, inside the caller's transaction."""

from caresync.accounts.models import Organization, User
from caresync.notifications.models import OutboxEvent


def domain_event_record(
    *,
    kind: str,
    subject: object,
    organization: Organization | None,
    actor: User | None = None,
    payload: dict | None = None,
) -> OutboxEvent:
    """Record ``kind`` about ``subject`` (a model instance) and the notifications it
    causes; committed or rolled back with the change it describes."""
    from caresync.notifications.fanout import notifications_fan_out
    from caresync.notifications.reminders import reminders_follow

    event = OutboxEvent.objects.create(
        organization=organization,
        kind=kind,
        subject=f"{subject._meta.model_name}:{subject.pk}",
        payload=payload or {},
        actor=actor,
    )
    reminders_follow(event)
    notifications_fan_out(event)
    return event


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
