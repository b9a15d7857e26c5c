"""Booking and the appointment lifecycle: the one path every interface uses."""

from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from caresync.accounts.models import Organization, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Patient, Practitioner, Service
from caresync.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentResource,
)
from caresync.scheduling.selectors import slot_inputs
from caresync.scheduling.slots import Interval, Slot, slot_times, slots_for

S = Appointment.Status
# status → {action: next status}; who may take each action is in the policy layer.
TRANSITIONS = {
    S.REQUESTED: {
        "approve": S.SCHEDULED,
        "reject": S.REJECTED,
        "propose": S.PROPOSED,
        "cancel": S.CANCELLED,
    },
    S.PROPOSED: {"accept": S.SCHEDULED, "decline": S.CANCELLED, "cancel": S.CANCELLED},
    S.SCHEDULED: {
        "confirm": S.CONFIRMED,
        "check_in": S.CHECKED_IN,
        "cancel": S.CANCELLED,
        "no_show": S.NO_SHOW,
    },
    S.CONFIRMED: {"check_in": S.CHECKED_IN, "cancel": S.CANCELLED, "no_show": S.NO_SHOW},
    S.CHECKED_IN: {"start": S.IN_PROGRESS, "cancel": S.CANCELLED},
    S.IN_PROGRESS: {"complete": S.COMPLETED, "cancel": S.CANCELLED},
}
ALTERNATIVES = 5


def _slot_payload(slot: Slot) -> dict:
    return {
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "practitioner": slot.practitioner_id,
    }


def slots_search(
    *,
    organization: Organization,
    service: Service,
    window: Interval,
    practitioner_ids=None,
    patient: Patient | None = None,
    now: datetime | None = None,
    distinct_times: bool = False,
) -> list[Slot]:
    """Bookable slots (every practitioner offering the service unless narrowed); with
    ``distinct_times``, the times at which anyone is free ("any practitioner")."""
    query, calendars = slot_inputs(
        organization=organization,
        service=service,
        window=window,
        now=now or timezone.now(),
        practitioner_ids=practitioner_ids,
        patient=patient,
    )
    return (slot_times if distinct_times else slots_for)(query, calendars)


def slot_alternatives(
    *, organization, service, wanted: datetime, practitioner_ids, patient, now
) -> list[dict]:
    """Up to five free slots nearest to ``wanted`` (within a week either side)."""
    window = Interval(max(wanted - timedelta(days=7), now), wanted + timedelta(days=7))
    found = slots_search(
        organization=organization,
        service=service,
        window=window,
        practitioner_ids=practitioner_ids,
        patient=patient,
        now=now,
    )
    by_start: dict[datetime, Slot] = {}
    for slot in found:
        by_start.setdefault(slot.start, slot)
    nearest = sorted(by_start.values(), key=lambda s: (abs(s.start - wanted), s.start))
    return [_slot_payload(slot) for slot in nearest[:ALTERNATIVES]]


def _refuse_unavailable(*, organization, service, start, practitioner_ids, patient, now):
    raise ApplicationError(
        "That time is no longer available.",
        code="slot_unavailable",
        status_code=409,
        extra={
            "alternatives": slot_alternatives(
                organization=organization,
                service=service,
                wanted=start,
                practitioner_ids=practitioner_ids,
                patient=patient,
                now=now,
            )
        },
    )


def _least_loaded(candidates: list[Slot], organization: Organization) -> Slot:
    """'Any practitioner': the free practitioner with the fewest blocking appointments that
    local day; ties go to the lowest id (stable, documented)."""
    if len(candidates) == 1:
        return candidates[0]
    local = candidates[0].local_start
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    load = dict(
        Appointment.objects.filter(
            practitioner_id__in=[c.practitioner_id for c in candidates],
            status__in=Appointment.BLOCKING,
            start__gte=day_start,
            start__lt=day_start + timedelta(days=1),
        )
        .values_list("practitioner_id")
        .annotate(total=Count("id"))
    )
    return min(candidates, key=lambda c: (load.get(c.practitioner_id, 0), c.practitioner_id))


def _record(
    appointment: Appointment,
    *,
    actor: User | None,
    from_status: str = "",
    reason: str = "",
    from_start=None,
    action: str = "update",
) -> None:
    AppointmentEvent.objects.create(
        appointment=appointment,
        actor=actor,
        from_status=from_status,
        to_status=appointment.status,
        from_start=from_start,
        to_start=appointment.start,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action=action,
        organization=appointment.organization,
        obj=appointment,
        patient_id=appointment.patient_id,
        details={"from": from_status, "to": appointment.status},
    )


@transaction.atomic
def appointment_book(
    *,
    actor: User | None,
    organization: Organization,
    patient: Patient,
    service: Service,
    start: datetime,
    practitioner: Practitioner | None = None,
    reason: str = "",
    notes: str = "",
    request_only: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Book ``service`` for ``patient`` at ``start`` with ``practitioner`` (None: any free
    one). Services that require approval, or ``request_only``, create a request that holds
    the time. A lost race or a taken time answers 409 ``slot_unavailable`` with the nearest
    alternatives; times outside availability, notice or horizon answer 400."""
    now = now or timezone.now()
    if service.organization_id != organization.pk or not service.is_active:
        raise ApplicationError("Service not found.", code="not_found", status_code=404)
    if patient.organization_id != organization.pk or not patient.is_active:
        raise ApplicationError("Patient not found.", code="not_found", status_code=404)
    if start < now + timedelta(minutes=service.min_notice_minutes):
        raise ApplicationError(
            "That time is too soon to book.",
            code="too_soon",
            fields={"start": [{"code": "too_soon", "message": "Book further ahead."}]},
        )
    if start > now + timedelta(days=service.booking_horizon_days):
        raise ApplicationError(
            "That time is too far ahead to book.",
            code="too_far",
            fields={"start": [{"code": "too_far", "message": "Book closer to today."}]},
        )
    if practitioner is not None and not service.practitioners.filter(pk=practitioner.pk).exists():
        raise ApplicationError(
            "This practitioner does not offer this service.",
            code="practitioner_not_offering",
            fields={
                "practitioner": [{"code": "invalid", "message": "Does not offer this service."}]
            },
        )
    practitioner_ids = [practitioner.pk] if practitioner else None
    end = start + timedelta(minutes=service.duration_minutes)
    query, calendars = slot_inputs(
        organization=organization,
        service=service,
        window=Interval(start, end),
        now=now,
        practitioner_ids=practitioner_ids,
        patient=patient,
    )
    candidates = [s for s in slots_for(query, calendars) if s.start == start]
    if not candidates:
        free_world = replace(query, patient_busy=(), resources=(), resource_needs=())
        idle = [replace(c, busy=()) for c in calendars]
        if any(s.start == start for s in slots_for(free_world, idle)):
            _refuse_unavailable(
                organization=organization,
                service=service,
                start=start,
                practitioner_ids=practitioner_ids,
                patient=patient,
                now=now,
            )
        raise ApplicationError(
            "That time is outside the practitioner's availability.",
            code="outside_availability",
            fields={"start": [{"code": "outside_availability", "message": "Not a bookable time."}]},
        )
    slot = _least_loaded(candidates, organization)
    needs_approval = request_only or service.requires_approval
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                organization=organization,
                patient=patient,
                practitioner_id=slot.practitioner_id,
                service=service,
                start=slot.start,
                end=slot.end,
                status=S.REQUESTED if needs_approval else S.SCHEDULED,
                hold_expires_at=now + timedelta(hours=settings.REQUEST_HOLD_HOURS)
                if needs_approval
                else None,
                reason=reason,
                notes=notes,
                created_by=actor,
            )
            AppointmentResource.objects.bulk_create(
                AppointmentResource(
                    appointment=appointment,
                    resource_id=resource_id,
                    start=appointment.start,
                    end=appointment.end,
                )
                for resource_id in slot.resource_ids
            )
    except IntegrityError:
        # Lost a race to a concurrent booking: the exclusion constraints refused it.
        _refuse_unavailable(
            organization=organization,
            service=service,
            start=start,
            practitioner_ids=practitioner_ids,
            patient=patient,
            now=now,
        )
    _record(appointment, actor=actor, reason=reason, action="create")
    return appointment


@transaction.atomic
def appointment_transition(
    *,
    actor: User | None,
    appointment: Appointment,
    action: str,
    reason: str = "",
    by_patient: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment through its lifecycle (``TRANSITIONS``). Patients may cancel only
    outside the service's cancellation window; no-shows only after the start."""
    now = now or timezone.now()
    appointment = (
        Appointment.objects.select_for_update().select_related("service").get(pk=appointment.pk)
    )
    target = TRANSITIONS.get(appointment.status, {}).get(action)
    if target is None:
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be {action}ed.",
            code="invalid_transition",
            status_code=409,
        )
    if action == "cancel" and by_patient:
        window = timedelta(hours=appointment.service.cancellation_window_hours)
        if appointment.start - now < window:
            raise ApplicationError(
                f"Appointments can be cancelled online up to "
                f"{appointment.service.cancellation_window_hours} hours before. Please call "
                "the clinic.",
                code="cancellation_window",
                status_code=409,
            )
    if action == "no_show" and now < appointment.start:
        raise ApplicationError(
            "A no-show can be recorded only after the start time.",
            code="too_early",
            status_code=409,
        )
    if action in ("reject", "cancel") and not reason.strip() and not by_patient:
        raise ApplicationError(
            "Give a reason.",
            code="reason_required",
            fields={"reason": [{"code": "required", "message": "This field is required."}]},
        )
    previous = appointment.status
    appointment.status = target
    if target != S.REQUESTED:
        appointment.hold_expires_at = None
    appointment.save(update_fields=["status", "hold_expires_at", "updated_at"])
    if target not in Appointment.BLOCKING:
        appointment.resource_holds.update(blocking=False)
    _record(appointment, actor=actor, from_status=previous, reason=reason)
    return appointment


def appointment_requests_expire(*, now: datetime | None = None) -> int:
    """Cancel requests whose hold has lapsed without approval; returns how many."""
    now = now or timezone.now()
    expired = 0
    for appointment in Appointment.objects.filter(status=S.REQUESTED, hold_expires_at__lte=now):
        appointment_transition(
            actor=None,
            appointment=appointment,
            action="cancel",
            reason="The request expired without approval.",
            now=now,
        )
        expired += 1
    return expired
