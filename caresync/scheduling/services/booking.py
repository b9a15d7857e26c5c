"""Booking and the appointment lifecycle: the one path every interface uses."""

from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count
from django.utils import timezone

from caresync.accounts.models import Organization, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Patient, Practitioner, Service
from caresync.notifications.outbox import domain_event_record
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
    S.REQUESTED: {"approve": S.SCHEDULED, "reject": S.REJECTED, "cancel": S.CANCELLED},
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
# Moving an appointment to another time (``appointment_reschedule``): status → status after.
# A confirmation was for the old time, so a confirmed appointment needs confirming again.
RESCHEDULABLE = {
    S.REQUESTED: S.REQUESTED,
    S.PROPOSED: S.PROPOSED,
    S.SCHEDULED: S.SCHEDULED,
    S.CONFIRMED: S.SCHEDULED,
}
# A practitioner proposes another time for a request (or changes the proposal).
PROPOSABLE = (S.REQUESTED, S.PROPOSED)
# The outbox event each action emits.
EVENT_KINDS = {
    "approve": "appointment.approved",
    "reject": "appointment.rejected",
    "propose": "appointment.proposed",
    "accept": "appointment.proposal_accepted",
    "decline": "appointment.proposal_declined",
    "confirm": "appointment.confirmed",
    "check_in": "appointment.checked_in",
    "start": "appointment.started",
    "complete": "appointment.completed",
    "cancel": "appointment.cancelled",
    "no_show": "appointment.no_show",
    "reschedule": "appointment.rescheduled",
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
    moving: Appointment | None = None,
) -> list[Slot]:
    """Bookable slots (every practitioner offering the service unless narrowed); with
    ``distinct_times``, the times at which anyone is free ("any practitioner"); with
    ``moving``, where that appointment could go (its own time counts as free)."""
    query, calendars = slot_inputs(
        organization=organization,
        service=service,
        window=window,
        now=now or timezone.now(),
        practitioner_ids=practitioner_ids,
        patient=patient,
        exclude_appointment_id=moving.pk if moving else None,
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
    event: str,
    from_status: str = "",
    reason: str = "",
    from_start=None,
) -> None:
    """History row, audit row and outbox event for one change, in the caller's
    transaction. ``event``: an action name (see ``EVENT_KINDS``) or ``booked``."""
    AppointmentEvent.objects.create(
        appointment=appointment,
        actor=actor,
        from_status=from_status,
        to_status=appointment.status,
        from_start=from_start,
        to_start=appointment.start,
        reason=reason,
    )
    payload = {
        "appointment": appointment.pk,
        "patient": appointment.patient_id,
        "practitioner": appointment.practitioner_id,
        "from_status": from_status,
        "to_status": appointment.status,
        "start": appointment.start.isoformat(),
    }
    if from_start is not None and from_start != appointment.start:
        payload["from_start"] = from_start.isoformat()
    kind = EVENT_KINDS.get(event) or (
        "appointment.requested" if appointment.status == S.REQUESTED else "appointment.booked"
    )
    domain_event_record(
        kind=kind,
        subject=appointment,
        organization=appointment.organization,
        actor=actor,
        payload=payload,
    )
    # Last: appending to the audit chain serializes writers until commit.
    audit_record(
        actor=actor,
        action="create" if event == "booked" else "update",
        organization=appointment.organization,
        obj=appointment,
        patient_id=appointment.patient_id,
        details={"from": from_status, "to": appointment.status},
    )


def _refuse_outside_window(service: Service, start: datetime, now: datetime) -> None:
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


def _refuse_not_offering() -> None:
    raise ApplicationError(
        "This practitioner does not offer this service.",
        code="practitioner_not_offering",
        fields={"practitioner": [{"code": "invalid", "message": "Does not offer this service."}]},
    )


def _free_slot(
    *,
    organization: Organization,
    service: Service,
    patient: Patient,
    start: datetime,
    practitioner_ids,
    now: datetime,
    moving: Appointment | None = None,
    duration: timedelta | None = None,
) -> tuple[Slot, int | None]:
    """The slot at ``start`` (the least-loaded free practitioner when several are), read
    inside the booking transaction, and the location where the practitioner works then.
    Taken: 409 with alternatives; not a bookable time: 400.
    ``moving``: an appointment being moved, whose own time does not count as taken;
    ``duration``: instead of the service's (a visit resized on the calendar)."""
    duration = duration or timedelta(minutes=service.duration_minutes)
    end = start + duration
    query, calendars = slot_inputs(
        organization=organization,
        service=service,
        window=Interval(start, end),
        now=now,
        practitioner_ids=practitioner_ids,
        patient=patient,
        exclude_appointment_id=moving.pk if moving else None,
    )
    query = replace(query, duration=duration)
    candidates = [s for s in slots_for(query, calendars) if s.start == start]
    if candidates:
        slot = _least_loaded(candidates, organization)
        (calendar,) = (c for c in calendars if c.practitioner_id == slot.practitioner_id)
        return slot, calendar.location_at(slot.local_start, slot.local_end)
    if practitioner_ids and not calendars:  # nobody asked for offers the service
        _refuse_not_offering()
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


class _LostRace(Exception):
    """The database refused a booking's write: a concurrent one took the time. Carries what
    ``_refuse_unavailable`` needs to offer alternatives once the transaction is undone."""

    def __init__(self, **alternatives_for):
        super().__init__("lost race")
        self.alternatives_for = alternatives_for


@contextmanager
def _refusing_lost_races(**alternatives_for):
    """Around a booking's writes: constraint violations are lost races; so are deadlocks
    (SQLSTATE 40P01), which PostgreSQL breaks when two transactions wait on each other's
    exclusion constraint checks (practitioner, patient and resource rows written in
    different orders). Either raises ``_LostRace`` (``alternatives_for``: the arguments of
    ``_refuse_unavailable``) for ``_atomic_answering_lost_races`` to answer."""
    try:
        yield
    except (IntegrityError, OperationalError) as error:
        if isinstance(error, OperationalError) and (
            getattr(error.__cause__, "sqlstate", None) != "40P01"
        ):
            raise
        raise _LostRace(**alternatives_for) from error


def _atomic_answering_lost_races(service_function):
    """``transaction.atomic`` for a service that books or moves an appointment. A lost race
    undoes the transaction (a savepoint, inside another one) and then answers 409 with the
    nearest alternatives: no savepoint of its own around the write, two round trips fewer
    on every booking."""
    atomic = transaction.atomic(service_function)

    @wraps(service_function)
    def answering(*args, **kwargs):
        try:
            return atomic(*args, **kwargs)
        except _LostRace as lost:
            _refuse_unavailable(**lost.alternatives_for)

    return answering


def _hold_resources(appointment: Appointment, resource_ids) -> None:
    AppointmentResource.objects.bulk_create(
        AppointmentResource(
            appointment=appointment,
            resource_id=resource_id,
            start=appointment.start,
            end=appointment.end,
        )
        for resource_id in resource_ids
    )


@_atomic_answering_lost_races
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
    series=None,
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
    _refuse_outside_window(service, start, now)
    # What was asked for: the slot check and a lost race's alternatives both read it.
    asked = {
        "organization": organization,
        "service": service,
        "patient": patient,
        "start": start,
        "practitioner_ids": [practitioner.pk] if practitioner else None,
        "now": now,
    }
    slot, location_id = _free_slot(**asked)
    needs_approval = request_only or service.requires_approval
    with _refusing_lost_races(**asked):
        appointment = Appointment.objects.create(
            organization=organization,
            patient=patient,
            practitioner_id=slot.practitioner_id,
            service=service,
            location_id=location_id,
            start=slot.start,
            end=slot.end,
            status=S.REQUESTED if needs_approval else S.SCHEDULED,
            hold_expires_at=now + timedelta(hours=settings.REQUEST_HOLD_HOURS)
            if needs_approval
            else None,
            reason=reason,
            notes=notes,
            series=series,
            created_by=actor,
        )
        _hold_resources(appointment, slot.resource_ids)
    if practitioner is not None:
        appointment.practitioner = practitioner  # the caller's (loaded) one was booked
    _record(appointment, actor=actor, event="booked", reason=reason)
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("service", "organization", "patient", "practitioner")
        .get(pk=appointment.pk)
    )


@_atomic_answering_lost_races
def appointment_reschedule(
    *,
    actor: User | None,
    appointment: Appointment,
    start: datetime,
    end: datetime | None = None,
    practitioner: Practitioner | None = None,
    reason: str = "",
    by_patient: bool = False,
    propose: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment to ``start`` (with ``practitioner``, default the same one; with
    ``end``, resized, staff only: the length stays whole 5-minute steps up to 8 hours). The
    history keeps the old time. With ``propose``, a practitioner offers another time for a
    request: it moves and becomes ``proposed`` until the patient accepts or declines.
    Patients move only outside the cancellation window. Taken times answer 409 with
    alternatives, as booking does; the database refuses a lost race the same way."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    service = appointment.service
    allowed = PROPOSABLE if propose else tuple(RESCHEDULABLE)
    if appointment.status not in allowed:
        verb = "given another proposed time" if propose else "rescheduled"
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be {verb}.",
            code="invalid_transition",
            status_code=409,
        )
    if by_patient:
        _refuse_inside_cancellation_window(appointment, now, verb="moved")
    practitioner = practitioner or appointment.practitioner
    duration = (end - start) if end is not None else appointment.end - appointment.start
    if end is not None and (
        by_patient
        or not timedelta(minutes=5) <= duration <= timedelta(hours=8)
        or duration % timedelta(minutes=5)
    ):
        raise ApplicationError(
            "Appointments last whole 5-minute steps, up to 8 hours.",
            code="invalid_duration",
            fields={"end": [{"code": "invalid", "message": "Choose another end time."}]},
        )
    if (
        start == appointment.start
        and practitioner.pk == appointment.practitioner_id
        and start + duration == appointment.end
    ):
        raise ApplicationError(
            "The appointment is already at that time.",
            code="unchanged",
            fields={"start": [{"code": "unchanged", "message": "Choose a different time."}]},
        )
    _refuse_outside_window(service, start, now)
    # What was asked for: the slot check and a lost race's alternatives both read it.
    asked = {
        "organization": appointment.organization,
        "service": service,
        "patient": appointment.patient,
        "start": start,
        "practitioner_ids": [practitioner.pk],
        "now": now,
    }
    slot, location_id = _free_slot(**asked, moving=appointment, duration=duration)
    previous_status, previous_start = appointment.status, appointment.start
    old_practitioner_id, old_end = appointment.practitioner_id, appointment.end
    appointment.start, appointment.end = slot.start, slot.end
    appointment.practitioner_id = slot.practitioner_id
    appointment.location_id = location_id
    appointment.status = S.PROPOSED if propose else RESCHEDULABLE[appointment.status]
    with _refusing_lost_races(**asked):
        appointment.save(
            update_fields=["start", "end", "practitioner", "location", "status", "updated_at"]
        )
        appointment.resource_holds.all().delete()
        _hold_resources(appointment, slot.resource_ids)
    _record(
        appointment,
        actor=actor,
        event="propose" if propose else "reschedule",
        from_status=previous_status,
        from_start=previous_start,
        reason=reason,
    )
    _offer_freed_time(
        practitioner_id=old_practitioner_id, start=previous_start, end=old_end, now=now
    )
    return appointment


@transaction.atomic
def appointment_update(
    *,
    actor: User | None,
    appointment: Appointment,
    start: datetime | None = None,
    practitioner: Practitioner | None = None,
    reason: str | None = None,
    notes: str | None = None,
    by_patient: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Edit the reason and notes; a different ``start`` or ``practitioner`` reschedules
    (``appointment_reschedule``, with its checks and history)."""
    if (start is not None and start != appointment.start) or (
        practitioner is not None and practitioner.pk != appointment.practitioner_id
    ):
        appointment = appointment_reschedule(
            actor=actor,
            appointment=appointment,
            start=start or appointment.start,
            practitioner=practitioner,
            by_patient=by_patient,
            now=now,
        )
    appointment = _locked(appointment)
    changed = [
        name
        for name, value in (("reason", reason), ("notes", notes))
        if value is not None and value != getattr(appointment, name)
    ]
    if changed:
        if reason is not None:
            appointment.reason = reason
        if notes is not None:
            appointment.notes = notes
        appointment.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            organization=appointment.organization,
            obj=appointment,
            patient_id=appointment.patient_id,
            details={"fields": changed},
        )
    return appointment


def _refuse_inside_cancellation_window(appointment: Appointment, now: datetime, verb: str):
    hours = appointment.service.cancellation_window_hours
    if appointment.start - now < timedelta(hours=hours):
        raise ApplicationError(
            f"Appointments can be {verb} online up to {hours} hours before. Please call the "
            "clinic.",
            code="cancellation_window",
            status_code=409,
        )


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
    appointment = _locked(appointment)
    target = TRANSITIONS.get(appointment.status, {}).get(action)
    if target is None:
        done = EVENT_KINDS.get(action, action).rpartition(".")[2].replace("_", " ")
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be {done}.",
            code="invalid_transition",
            status_code=409,
        )
    if action == "cancel" and by_patient:
        _refuse_inside_cancellation_window(appointment, now, verb="cancelled")
    grace = timedelta(minutes=settings.NO_SHOW_GRACE_MINUTES)
    if action == "no_show" and now < appointment.start + grace:
        raise ApplicationError(
            f"A no-show can be recorded from {settings.NO_SHOW_GRACE_MINUTES} minutes after "
            "the start time.",
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
    _record(appointment, actor=actor, event=action, from_status=previous, reason=reason)
    if target in (S.CANCELLED, S.REJECTED):
        _offer_freed_time(
            practitioner_id=appointment.practitioner_id,
            start=appointment.start,
            end=appointment.end,
            now=now,
        )
    return appointment


def _offer_freed_time(*, practitioner_id: int, start: datetime, end: datetime, now) -> None:
    """After commit, offer time that stopped being booked to the waitlist (not once past)."""
    from caresync.scheduling.services.waitlist import offer_time_later  # imports this module

    if end > now:
        offer_time_later(practitioner_id=practitioner_id, start=start, end=end)


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
