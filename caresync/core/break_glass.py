"""Break-glass access: open (audited, time-limited), check, and review."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.core.models import BreakGlassAccess
from caresync.core.policy import Actor

MIN_REASON_LENGTH = 10


@transaction.atomic
def break_glass_open(*, actor: Actor, patient_id: str, reason: str) -> BreakGlassAccess:
    """Grant the actor time-limited access to a patient's chart, with a stated reason."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ApplicationError(
            "State why you need access (at least 10 characters).",
            code="reason_required",
            fields={"reason": [{"code": "min_length", "message": "Give a clinical reason."}]},
        )
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        organization=actor.organization,
        actor=actor.user,
        patient_id=str(patient_id),
        reason=reason,
        opened_at=now,
        expires_at=now + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
    )
    audit_record(
        actor=actor.user,
        action="break_glass",
        organization=actor.organization,
        obj=access,
        patient_id=patient_id,
        reason=reason,
    )
    return access


def break_glass_active(*, actor: Actor, patient_id: str) -> bool:
    """Whether the actor holds unexpired break-glass access to the patient."""
    return BreakGlassAccess.objects.filter(
        organization=actor.organization,
        actor=actor.user,
        patient_id=str(patient_id),
        expires_at__gt=timezone.now(),
    ).exists()


def break_glass_list(*, actor: Actor) -> QuerySet[BreakGlassAccess]:
    """Break-glass accesses of the actor's organization, for review."""
    if actor.organization is None:
        return BreakGlassAccess.objects.none()
    return BreakGlassAccess.objects.filter(organization=actor.organization).select_related(
        "actor", "reviewed_by"
    )


@transaction.atomic
def break_glass_review(*, actor: Actor, access: BreakGlassAccess, note: str = "") -> None:
    """Record that an admin reviewed a break-glass access."""
    if access.reviewed_at is not None:
        raise ApplicationError("Already reviewed.", code="already_reviewed", status_code=409)
    access.reviewed_by = actor.user
    access.reviewed_at = timezone.now()
    access.review_note = note
    access.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    audit_record(
        actor=actor.user,
        action="update",
        organization=actor.organization,
        obj=access,
        patient_id=access.patient_id,
        details={"reviewed": True},
    )
