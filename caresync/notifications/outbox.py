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
    """Record ``kind`` about ``subject`` (a model instance); committed or rolled back with
    the change it describes."""
    return OutboxEvent.objects.create(
        organization=organization,
        kind=kind,
        subject=f"{subject._meta.model_name}:{subject.pk}",
        payload=payload or {},
        actor=actor,
    )
