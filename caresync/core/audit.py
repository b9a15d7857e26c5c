"""The audit trail: record events inside the caller's transaction; verify the hash chain."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from caresync.core.locks import AUDIT_CHAIN, transaction_lock
from caresync.core.middleware import current_request_context
from caresync.core.models import AuditEvent

GENESIS_HASH = "0" * 64


def _content(event: AuditEvent) -> dict:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "organization": event.organization_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "patient_id": event.patient_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "reason": event.reason,
        "details": event.details,
    }


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(_content(event), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{payload}".encode()).hexdigest()


@transaction.atomic(savepoint=False)  # inside a change's transaction: no savepoint needed
def audit_record(
    *,
    actor,
    action: str,
    organization=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: str | int = "",
    reason: str = "",
    details: dict | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit event in the current transaction (rolled back with it)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    context = current_request_context()
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=user,
        actor_label=actor_label or (user.email if user else ""),
        organization=organization,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient_id=str(patient_id or ""),
        ip=context.ip,
        user_agent=context.user_agent,
        request_id=context.request_id if context.request_id != "-" else "",
        reason=reason,
        details=details or {},
    )
    # The chain appends one at a time until commit; the lock and the last hash in one trip.
    last = f"SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608
    event.prev_hash = transaction_lock(AUDIT_CHAIN, then=last) or GENESIS_HASH
    event.hash = event_hash(event.prev_hash, event)
    event.save()
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_chain_breaks(*, batch_size: int = 2000) -> Iterator[ChainBreak]:
    """Yield every place the chain is broken: edited rows, deleted rows, relinked rows."""
    expected_prev = GENESIS_HASH
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != expected_prev:
            yield ChainBreak(
                event.pk,
                "previous-hash link broken (a row before it was removed, inserted or edited)",
            )
        if event_hash(event.prev_hash, event) != event.hash:
            yield ChainBreak(event.pk, "content does not match its hash (the row was edited)")
        expected_prev = event.hash
