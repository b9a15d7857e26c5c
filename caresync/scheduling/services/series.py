"""Recurring appointment series: an RFC 5545 RRULE expanded in local wall time, a conflict
preview, all-or-nothing booking, and cancelling or moving one occurrence or the rest.

Every occurrence is booked, cancelled and moved through the one booking path
(``appointment_book``, ``appointment_transition``, ``appointment_reschedule``). Changes to
several occurrences are all-or-nothing: one refusal rolls back the whole change, and the
error lists every occurrence that could not be done.
"""

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule
from django.db import transaction
from django.utils import timezone

from caresync.accounts.models import Organization, User
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.models import Patient, Practitioner, Service
from caresync.scheduling.models import Appointment, AppointmentSeries, AvailabilityRule
from caresync.scheduling.selectors import slot_inputs
from caresync.scheduling.services.booking import (
    appointment_book,
    appointment_reschedule,
    appointment_transition,
    slot_alternatives,
)
from caresync.scheduling.slots import Interval, local_instant, slots_for

MAX_OCCURRENCES = 52
MAX_INTERVAL = 26  # every N weeks, at most half a year apart
ALTERNATIVES_PER_OCCURRENCE = 3
WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
WEEKDAY_CODES = {number: code for code, number in WEEKDAYS.items()}
# Why one occurrence cannot be booked (or moved); anything else aborts at once.
OCCURRENCE_REFUSALS = ("slot_unavailable", "outside_availability", "too_soon", "too_far")
TOOK_PLACE = (Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW)

_UNTIL_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_UNTIL_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(
        f"The recurrence rule is not supported: {message}",
        code="invalid_rrule",
        fields={"rrule": [{"code": "invalid_rrule", "message": message}]},
    )


# --- The pure core: parse and expand ------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """A weekly RRULE: every ``interval`` weeks on ``weekdays`` (0 = Monday; empty: the
    first occurrence's weekday), ``count`` times or until ``until``. ``until`` is a local
    calendar date (inclusive), a UTC instant (aware) or a local wall time (naive)."""

    interval: int = 1
    weekdays: tuple[int, ...] = ()
    count: int | None = None
    until: date | datetime | None = None

    @property
    def text(self) -> str:
        """The canonical RRULE text (what a series stores)."""
        parts = ["FREQ=WEEKLY"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.weekdays:
            parts.append("BYDAY=" + ",".join(WEEKDAY_CODES[d] for d in self.weekdays))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        elif isinstance(self.until, datetime):
            if self.until.tzinfo is not None:
                parts.append(f"UNTIL={self.until.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            else:
                parts.append(f"UNTIL={self.until:%Y%m%dT%H%M%S}")
        elif self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        return ";".join(parts)


def _parse_until(value: str) -> date | datetime:
    if found := _UNTIL_DATE.match(value):
        numbers = [int(n) for n in found.groups()]
        try:
            return date(*numbers)
        except ValueError:
            raise _invalid(f"UNTIL={value} is not a calendar date.") from None
    if found := _UNTIL_TIME.match(value):
        *numbers, utc = found.groups()
        try:
            moment = datetime(*(int(n) for n in numbers))  # noqa: DTZ001 - zone set below
        except ValueError:
            raise _invalid(f"UNTIL={value} is not a valid date and time.") from None
        return moment.replace(tzinfo=UTC) if utc else moment
    raise _invalid("UNTIL must be a date (20260601) or a UTC time (20260601T230000Z).")


def _positive(name: str, value: str, most: int) -> int:
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise _invalid(f"{name} must be a whole number from 1 to {most}.")
    return int(value)


def recurrence_parse(text: str) -> Recurrence:
    """Parse the supported RRULE subset: ``FREQ=WEEKLY`` with optional ``INTERVAL`` and
    ``BYDAY`` and exactly one of ``COUNT`` or ``UNTIL``; anything else is a 400
    ``invalid_rrule`` that says what is wrong."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise _invalid("Give a rule such as FREQ=WEEKLY;COUNT=6.")
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not equals or not name or not value:
            raise _invalid(f"“{part}” is not NAME=VALUE.")
        if name in parts:
            raise _invalid(f"{name} is given twice.")
        parts[name] = value
    unknown = sorted(set(parts) - {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"})
    if unknown:
        raise _invalid(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not supported; "
            "use FREQ, INTERVAL, BYDAY and COUNT or UNTIL."
        )
    if parts.get("FREQ") != "WEEKLY":
        raise _invalid("Only weekly series (FREQ=WEEKLY) are supported.")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise _invalid("Give exactly one of COUNT or UNTIL.")
    weekdays: tuple[int, ...] = ()
    if "BYDAY" in parts:
        codes = parts["BYDAY"].split(",")
        if any(code not in WEEKDAYS for code in codes):
            raise _invalid("BYDAY takes weekday codes (MO, TU, WE, TH, FR, SA, SU).")
        if len(set(codes)) != len(codes):
            raise _invalid("BYDAY repeats a weekday.")
        weekdays = tuple(sorted(WEEKDAYS[code] for code in codes))
    return Recurrence(
        interval=_positive("INTERVAL", parts.get("INTERVAL", "1"), MAX_INTERVAL),
        weekdays=weekdays,
        count=_positive("COUNT", parts["COUNT"], MAX_OCCURRENCES) if "COUNT" in parts else None,
        until=_parse_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )


def occurrence_starts(
    *,
    first_start: datetime,
    recurrence: Recurrence | str,
    time_zone: str,
    limit: int = MAX_OCCURRENCES,
) -> list[datetime]:
    """The UTC start of every occurrence. Recurrence runs in local wall time of
    ``time_zone`` (a 09:00 visit stays at 09:00 across DST changes); a wall time that
    does not exist that day moves forward by the gap and an ambiguous one takes its first
    occurrence, as the slot engine does. At most ``limit`` occurrences, else 400."""
    if isinstance(recurrence, str):
        recurrence = recurrence_parse(recurrence)
    zone = ZoneInfo(time_zone)
    local_first = first_start.astimezone(zone).replace(tzinfo=None)
    if recurrence.weekdays and local_first.weekday() not in recurrence.weekdays:
        raise _invalid(
            f"BYDAY must include the weekday of the first occurrence "
            f"({WEEKDAY_CODES[local_first.weekday()]})."
        )
    until = recurrence.until
    if isinstance(until, datetime) and until.tzinfo is not None:
        until = until.astimezone(zone).replace(tzinfo=None)
    elif isinstance(until, date) and not isinstance(until, datetime):
        until = datetime.combine(until, time.max)
    if until is not None and until < local_first:
        raise _invalid("UNTIL is before the first occurrence.")
    rule = dateutil_rrule.rrule(
        dateutil_rrule.WEEKLY,
        dtstart=local_first,
        interval=recurrence.interval,
        byweekday=recurrence.weekdays or None,
        count=recurrence.count,
        until=until,
    )
    local_starts = list(itertools.islice(rule, limit + 1))
    if len(local_starts) > limit:
        raise _invalid(f"A series has at most {limit} occurrences; end it sooner.")
    return [local_instant(moment.date(), moment.time(), zone) for moment in local_starts]


# --- Reads the writes share --------------------------------------------------------------


def series_time_zone(*, organization: Organization, practitioner: Practitioner) -> str:
    """The zone a practitioner's series recurs in: the location of their first working-hours
    rule (the zone the slot engine uses for them), else the organization's."""
    rule = (
        AvailabilityRule.objects.filter(practitioner=practitioner)
        .select_related("location")
        .order_by("weekday", "start_time", "pk")
        .first()
    )
    if rule is not None and rule.location.time_zone:
        return rule.location.time_zone
    return organization.time_zone or "UTC"


@dataclass(frozen=True)
class OccurrenceCheck:
    """Whether one occurrence can be booked (or moved) and, if not, why and what is free
    nearby."""

    start: datetime
    end: datetime
    bookable: bool
    code: str = ""
    message: str = ""
    alternatives: list[dict] = field(default_factory=list)
    appointment_id: int | None = None  # when moving an existing occurrence

    def payload(self) -> dict:
        body = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "bookable": self.bookable,
            "code": self.code,
            "message": self.message,
            "alternatives": self.alternatives,
        }
        if self.appointment_id is not None:
            body["appointment"] = self.appointment_id
        return body


def _refuse_foreign(
    *,
    organization: Organization,
    patient: Patient,
    practitioner: Practitioner,
    service: Service,
) -> None:
    if service.organization_id != organization.pk or not service.is_active:
        raise ApplicationError("Service not found.", code="not_found", status_code=404)
    if patient.organization_id != organization.pk or not patient.is_active:
        raise ApplicationError("Patient not found.", code="not_found", status_code=404)
    if practitioner.organization_id != organization.pk or not practitioner.is_active:
        raise ApplicationError("Practitioner not found.", code="not_found", status_code=404)
    if not service.practitioners.filter(pk=practitioner.pk).exists():
        raise ApplicationError(
            "This practitioner does not offer this service.",
            code="practitioner_not_offering",
            fields={
                "practitioner": [{"code": "invalid", "message": "Does not offer this service."}]
            },
        )


def _series_starts(
    *,
    organization: Organization,
    practitioner: Practitioner,
    service: Service,
    first_start: datetime,
    rrule: str,
    now: datetime,
) -> tuple[Recurrence, str, list[datetime]]:
    recurrence = recurrence_parse(rrule)
    zone = series_time_zone(organization=organization, practitioner=practitioner)
    starts = occurrence_starts(first_start=first_start, recurrence=recurrence, time_zone=zone)
    horizon = now + timedelta(days=service.booking_horizon_days)
    if starts[-1] > horizon:
        last_day = horizon.astimezone(ZoneInfo(zone)).date()
        raise _invalid(
            f"{service.name} can be booked at most {service.booking_horizon_days} days "
            f"ahead: end the series by {last_day:%d %b %Y}."
        )
    return recurrence, zone, starts


def _nearby(
    *,
    organization: Organization,
    service: Service,
    practitioner: Practitioner,
    patient: Patient,
    wanted: datetime,
    occurrences: list[Interval],
    now: datetime,
) -> list[dict]:
    """Up to three free times near ``wanted`` with the same practitioner that do not clash
    with another occurrence of the series."""
    found = slot_alternatives(
        organization=organization,
        service=service,
        wanted=wanted,
        practitioner_ids=[practitioner.pk],
        patient=patient,
        now=now,
    )
    clear = []
    for alternative in found:
        slot = Interval(
            datetime.fromisoformat(alternative["start"]), datetime.fromisoformat(alternative["end"])
        )
        if not any(slot.overlaps(other) for other in occurrences):
            clear.append(alternative)
    return clear[:ALTERNATIVES_PER_OCCURRENCE]


_REFUSAL_MESSAGES = {
    "too_soon": "That time is too soon to book.",
    "too_far": "That time is too far ahead to book.",
    "slot_unavailable": "That time is already taken.",
    "outside_availability": "That time is outside the practitioner's availability.",
}


def appointment_series_preview(
    *,
    organization: Organization,
    patient: Patient,
    practitioner: Practitioner,
    service: Service,
    first_start: datetime,
    rrule: str,
    now: datetime | None = None,
) -> list[OccurrenceCheck]:
    """Each occurrence of the series, bookable or not (with the reason booking would give
    and up to three alternatives). Reads only. The slot inputs of the whole span load once
    (a constant number of queries) and are judged the way ``appointment_book`` judges one
    time: notice and horizon, then free, then taken versus outside working hours."""
    now = now or timezone.now()
    _refuse_foreign(
        organization=organization, patient=patient, practitioner=practitioner, service=service
    )
    _, _, starts = _series_starts(
        organization=organization,
        practitioner=practitioner,
        service=service,
        first_start=first_start,
        rrule=rrule,
        now=now,
    )
    duration = timedelta(minutes=service.duration_minutes)
    occurrences = [Interval(start, start + duration) for start in starts]
    query, calendars = slot_inputs(
        organization=organization,
        service=service,
        window=Interval(starts[0], starts[-1] + duration),
        now=now,
        practitioner_ids=[practitioner.pk],
        patient=patient,
    )
    free = {slot.start for slot in slots_for(query, calendars)}
    # The same test as booking: would the time be free if nobody had booked anything?
    free_world = replace(query, patient_busy=(), resources=(), resource_needs=())
    working = {
        slot.start for slot in slots_for(free_world, [replace(c, busy=()) for c in calendars])
    }
    checks = []
    for occurrence in occurrences:
        start = occurrence.start
        if start < now + timedelta(minutes=service.min_notice_minutes):
            code = "too_soon"
        elif start > now + timedelta(days=service.booking_horizon_days):
            code = "too_far"
        elif start in free:
            checks.append(OccurrenceCheck(start, occurrence.end, bookable=True))
            continue
        elif start in working:
            code = "slot_unavailable"
        else:
            code = "outside_availability"
        checks.append(
            OccurrenceCheck(
                start,
                occurrence.end,
                bookable=False,
                code=code,
                message=_REFUSAL_MESSAGES[code],
                alternatives=_nearby(
                    organization=organization,
                    service=service,
                    practitioner=practitioner,
                    patient=patient,
                    wanted=start,
                    occurrences=occurrences,
                    now=now,
                ),
            )
        )
    return checks


def _conflict(checks: list[OccurrenceCheck], *, verb: str) -> ApplicationError:
    refused = [c for c in checks if not c.bookable]
    return ApplicationError(
        f"{len(refused)} of {len(checks)} occurrences cannot be {verb}, so none were.",
        code="series_conflict",
        status_code=409,
        extra={"conflicts": [c.payload() for c in refused]},
    )


# --- Writes ------------------------------------------------------------------------------


@transaction.atomic
def appointment_series_book(
    *,
    actor: User | None,
    organization: Organization,
    patient: Patient,
    practitioner: Practitioner,
    service: Service,
    first_start: datetime,
    rrule: str,
    reason: str = "",
    now: datetime | None = None,
) -> AppointmentSeries:
    """Create the series and book every occurrence through ``appointment_book``, or none:
    any refused occurrence answers 409 ``series_conflict`` with ``conflicts`` (start, code,
    message and up to three alternatives each) and nothing is kept. A rule that is not
    supported, too long or past the booking horizon is a 400 ``invalid_rrule``."""
    now = now or timezone.now()
    _refuse_foreign(
        organization=organization, patient=patient, practitioner=practitioner, service=service
    )
    recurrence, zone, starts = _series_starts(
        organization=organization,
        practitioner=practitioner,
        service=service,
        first_start=first_start,
        rrule=rrule,
        now=now,
    )
    series = AppointmentSeries.objects.create(
        organization=organization,
        patient=patient,
        practitioner=practitioner,
        service=service,
        rrule=recurrence.text,
        first_start=starts[0],
        time_zone=zone,
        reason=reason,
        created_by=actor,
    )
    duration = timedelta(minutes=service.duration_minutes)
    occurrences = [Interval(start, start + duration) for start in starts]
    checks = []
    for occurrence in occurrences:
        try:
            appointment = appointment_book(
                actor=actor,
                organization=organization,
                patient=patient,
                service=service,
                start=occurrence.start,
                practitioner=practitioner,
                reason=reason,
                now=now,
                series=series,
            )
        except ApplicationError as exc:
            if exc.code not in OCCURRENCE_REFUSALS:
                raise
            nearby = _nearby(
                organization=organization,
                service=service,
                practitioner=practitioner,
                patient=patient,
                wanted=occurrence.start,
                occurrences=occurrences,
                now=now,
            )
            checks.append(
                OccurrenceCheck(
                    occurrence.start,
                    occurrence.end,
                    bookable=False,
                    code=exc.code,
                    message=_REFUSAL_MESSAGES.get(exc.code, exc.message),
                    alternatives=nearby,
                )
            )
        else:
            checks.append(OccurrenceCheck(appointment.start, appointment.end, bookable=True))
    if any(not check.bookable for check in checks):
        raise _conflict(checks, verb="booked")
    audit_record(
        actor=actor,
        action="create",
        organization=organization,
        obj=series,
        patient_id=patient.pk,
        details={"rrule": series.rrule, "occurrences": len(checks), "time_zone": zone},
    )
    return series


def _settle(series: AppointmentSeries, *, actor: User | None, details: dict) -> None:
    """Once no occurrence is left to attend, the series is over: ``ended`` if any took
    place, ``cancelled`` if none did."""
    occurrences = series.appointments.all()
    if occurrences.filter(status__in=Appointment.BLOCKING).exists():
        status = series.status
    elif occurrences.filter(status__in=TOOK_PLACE).exists():
        status = AppointmentSeries.Status.ENDED
    else:
        status = AppointmentSeries.Status.CANCELLED
    if status != series.status:
        series.status = status
        series.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="update",
        organization=series.organization,
        obj=series,
        patient_id=series.patient_id,
        details={**details, "status": series.status},
    )


def _series_locked(series: AppointmentSeries) -> AppointmentSeries:
    return AppointmentSeries.objects.select_for_update().get(pk=series.pk)


def _refuse_outside_series(series: AppointmentSeries, appointment: Appointment | None) -> None:
    if appointment is not None and appointment.series_id != series.pk:
        raise ApplicationError(
            "That appointment is not part of this series.",
            code="not_in_series",
            fields={
                "from_appointment": [
                    {"code": "not_in_series", "message": "Not an occurrence of this series."}
                ]
            },
        )


def _the_rest(
    series: AppointmentSeries, from_appointment: Appointment | None, now: datetime
) -> list[Appointment]:
    """Blocking occurrences from ``from_appointment`` on (None: those not started yet)."""
    rest = series.appointments.filter(status__in=Appointment.BLOCKING)
    if from_appointment is not None:
        rest = rest.filter(start__gte=from_appointment.start)
    else:
        rest = rest.filter(start__gte=now)
    related = ("service", "practitioner", "patient", "organization")
    return list(rest.select_related(*related).order_by("start"))


def _naming(exc: ApplicationError, appointment: Appointment) -> ApplicationError:
    """The occurrence a refusal was about, so the caller can say which one."""
    exc.extra = {
        **exc.extra,
        "occurrence": {"appointment": appointment.pk, "start": appointment.start.isoformat()},
    }
    return exc


@transaction.atomic
def appointment_series_cancel(
    *,
    actor: User | None,
    series: AppointmentSeries,
    reason: str,
    from_appointment: Appointment | None = None,
    only_this: bool = False,
    by_patient: bool = False,
    now: datetime | None = None,
) -> AppointmentSeries:
    """Cancel one occurrence (``only_this``), or it and every following one still booked
    (``from_appointment`` None: every occurrence not yet started), through
    ``appointment_transition``. All or nothing: if one occurrence may not be cancelled (a
    patient inside the cancellation window, say), none are and the error names it; a
    patient then cancels from the first occurrence outside the window. When nothing is left
    to attend the series becomes ``cancelled`` (or ``ended`` if some visits took place)."""
    now = now or timezone.now()
    series = _series_locked(series)
    _refuse_outside_series(series, from_appointment)
    if only_this:
        if from_appointment is None:
            raise ApplicationError(
                "Choose the occurrence to cancel.",
                code="validation_error",
                fields={"from_appointment": [{"code": "required", "message": "Required."}]},
            )
        targets = [from_appointment]
    else:
        targets = _the_rest(series, from_appointment, now)
        if not targets:
            raise ApplicationError(
                "No booked occurrence is left to cancel.",
                code="nothing_to_cancel",
                status_code=409,
            )
    for appointment in targets:
        try:
            appointment_transition(
                actor=actor,
                appointment=appointment,
                action="cancel",
                reason=reason,
                by_patient=by_patient,
                now=now,
            )
        except ApplicationError as exc:
            raise _naming(exc, appointment) from None
    _settle(
        series,
        actor=actor,
        details={"cancelled": [a.pk for a in targets], "reason": reason},
    )
    return series


@transaction.atomic
def appointment_series_reschedule(
    *,
    actor: User | None,
    series: AppointmentSeries,
    at: time,
    from_appointment: Appointment | None = None,
    days: int = 0,
    reason: str = "",
    by_patient: bool = False,
    now: datetime | None = None,
) -> AppointmentSeries:
    """Move the rest of the series (from ``from_appointment``, or every occurrence not yet
    started) to local time ``at`` in the series' zone, ``days`` later or earlier (-6..6),
    through ``appointment_reschedule``. All or nothing: taken or unbookable times answer
    409 ``series_conflict`` listing each refused occurrence with alternatives; other
    refusals (a patient inside the window) name the occurrence. The rule text keeps the
    original pattern; the occurrences and the audit trail hold the change."""
    now = now or timezone.now()
    if not -6 <= days <= 6:
        raise ApplicationError(
            "Move by at most six days either way.",
            code="validation_error",
            fields={"days": [{"code": "invalid", "message": "From -6 to 6."}]},
        )
    series = _series_locked(series)
    _refuse_outside_series(series, from_appointment)
    zone = ZoneInfo(series.time_zone)
    moves = []
    for appointment in _the_rest(series, from_appointment, now):
        local = appointment.start.astimezone(zone)
        target = local_instant(local.date() + timedelta(days=days), at, zone)
        if target != appointment.start:
            moves.append((appointment, target))
    if not moves:
        raise ApplicationError(
            "Nothing to move: the occurrences are already at that time.",
            code="unchanged",
            fields={"at": [{"code": "unchanged", "message": "Choose a different time."}]},
        )
    # Later-first when moving later, so an occurrence never lands on one not yet moved.
    if moves[0][1] > moves[0][0].start:
        moves.reverse()
    duration = moves[0][0].end - moves[0][0].start
    targets = [Interval(target, target + duration) for _, target in moves]
    checks = []
    for appointment, target in moves:
        try:
            appointment_reschedule(
                actor=actor,
                appointment=appointment,
                start=target,
                reason=reason,
                by_patient=by_patient,
                now=now,
            )
        except ApplicationError as exc:
            if exc.code not in OCCURRENCE_REFUSALS:
                raise _naming(exc, appointment) from None
            checks.append(
                OccurrenceCheck(
                    target,
                    target + duration,
                    bookable=False,
                    code=exc.code,
                    message=_REFUSAL_MESSAGES.get(exc.code, exc.message),
                    alternatives=_nearby(
                        organization=series.organization,
                        service=appointment.service,
                        practitioner=appointment.practitioner,
                        patient=appointment.patient,
                        wanted=target,
                        occurrences=targets,
                        now=now,
                    ),
                    appointment_id=appointment.pk,
                )
            )
        else:
            checks.append(
                OccurrenceCheck(target, target + duration, True, appointment_id=appointment.pk)
            )
    if any(not check.bookable for check in checks):
        raise _conflict(sorted(checks, key=lambda c: c.start), verb="moved")
    _settle(
        series,
        actor=actor,
        details={
            "moved": [appointment.pk for appointment, _ in moves],
            "at": at.isoformat(timespec="minutes"),
            "days": days,
            "reason": reason,
        },
    )
    return series
