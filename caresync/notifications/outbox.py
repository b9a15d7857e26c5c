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
