"""Reads for scheduling: everything the slot engine needs, in a constant number of queries."""

import functools
import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as public_holidays
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from caresync.accounts.models import Organization
from caresync.core.policy import Actor
from caresync.directory.models import Patient, Practitioner, Resource, Service
from caresync.scheduling.models import (
    Appointment,
    AppointmentResource,
    AppointmentSeries,
    AvailabilityException,
    AvailabilityRule,
    CalendarFeed,
    Closure,
)
from caresync.scheduling.slots import (
    Interval,
    PractitionerCalendar,
    ResourceCalendar,
    SlotQuery,
    WeeklyRule,
    availability,
    local_instant,
)


@functools.lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str, years: tuple[int, ...]) -> frozenset[date]:
    try:
        return frozenset(
            public_holidays.country_holidays(country, subdiv=subdivision or None, years=years)
        )
    except NotImplementedError:
        return frozenset()


def closed_days(organization: Organization, first: date, last: date) -> frozenset[date]:
    """Public holidays (the ``holidays`` package, for the organization's country and
    subdivision) and the organization's own closures between two dates."""
    days: set[date] = set()
    if organization.country:
        years = tuple(range(first.year, last.year + 1))
        calendar = _public_holidays(organization.country, organization.subdivision, years)
        days.update(day for day in calendar if first <= day <= last)
    for closure in Closure.objects.filter(
        organization=organization, start_date__lte=last, end_date__gte=first
    ):
        day = max(closure.start_date, first)
        while day <= min(closure.end_date, last):
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)


@functools.lru_cache(maxsize=64)
def _public_holiday_names(
    country: str, subdivision: str, years: tuple[int, ...]
) -> tuple[tuple[date, str], ...]:
    try:
        calendar = public_holidays.country_holidays(
            country, subdiv=subdivision or None, years=years
        )
    except NotImplementedError:
        return ()
    return tuple(sorted(calendar.items()))


def holidays_between(organization: Organization, first: date, last: date) -> list[dict]:
    """Closed days from ``first`` to ``last`` (inclusive) in date order, for calendars and
    editors: ``{"date", "name", "kind"}`` with kind ``public_holiday`` (the ``holidays``
    package's name) or ``closure`` (one entry per closed day, named by its reason)."""
    found: list[dict] = []
    if organization.country and first <= last:
        years = tuple(range(first.year, last.year + 1))
        for day, name in _public_holiday_names(
            organization.country, organization.subdivision, years
        ):
            if first <= day <= last:
                found.append({"date": day, "name": name, "kind": "public_holiday"})
    for closure in Closure.objects.filter(
        organization=organization, start_date__lte=last, end_date__gte=first
    ):
        day = max(closure.start_date, first)
        while day <= min(closure.end_date, last):
            found.append({"date": day, "name": closure.reason, "kind": "closure"})
            day += timedelta(days=1)
    found.sort(key=lambda entry: (entry["date"], entry["kind"] != "public_holiday"))
    return found


def availability_rule_list(*, actor: Actor) -> QuerySet[AvailabilityRule]:
    """Weekly rules of the actor's organization (working hours are not patient data)."""
    if actor.organization is None:
        return AvailabilityRule.objects.none()
    return (
        AvailabilityRule.objects.filter(organization=actor.organization)
        .select_related("practitioner__user", "location")
        .prefetch_related("services")
    )


def availability_exception_list(*, actor: Actor) -> QuerySet[AvailabilityException]:
    """Time off and extra hours in the actor's organization."""
    if actor.organization is None:
        return AvailabilityException.objects.none()
    return AvailabilityException.objects.filter(organization=actor.organization).select_related(
        "practitioner__user"
    )


def closure_list(*, actor: Actor) -> QuerySet[Closure]:
    """The actor's organization's closure days."""
    if actor.organization is None:
        return Closure.objects.none()
    return Closure.objects.filter(organization=actor.organization)


def practitioner_time_zone(practitioner: Practitioner) -> str:
    """The zone a practitioner's day is read in: the location of their first weekly rule
    (as the slot engine does), else their first location, else the organization's."""
    rule = (
        AvailabilityRule.objects.filter(practitioner=practitioner)
        .select_related("location")
        .order_by("weekday", "start_time", "pk")
        .first()
    )
    if rule is not None:
        return rule.location.time_zone
    location = practitioner.locations.order_by("pk").first()
    if location is not None and location.time_zone:
        return location.time_zone
    return practitioner.organization.time_zone or "UTC"


def _buffered(appointment: Appointment) -> Interval:
    service = appointment.service
    return Interval(
        appointment.start - timedelta(minutes=service.buffer_before_minutes),
        appointment.end + timedelta(minutes=service.buffer_after_minutes),
    )


def bookable_practitioners(
    *, organization: Organization, service: Service, practitioner_ids=None
) -> QuerySet[Practitioner]:
    practitioners = Practitioner.objects.filter(
        organization=organization, is_active=True, services=service
    )
    if practitioner_ids is not None:
        practitioners = practitioners.filter(pk__in=practitioner_ids)
    return practitioners.order_by("pk")


def working_calendars(
    *,
    organization: Organization,
    practitioners: list[Practitioner],
    window: Interval,
    busy: dict[int, list[Interval]] | None = None,
) -> list[PractitionerCalendar]:
    """Each practitioner's weekly rules (in their location's zone), time off and extra hours
    around ``window``, with ``busy`` intervals when given; two queries."""
    ids = [p.pk for p in practitioners]
    margin = timedelta(days=1)
    rules = (
        AvailabilityRule.objects.filter(practitioner_id__in=ids)
        .select_related("location")
        .prefetch_related(Prefetch("services", to_attr="only"))
    )
    exceptions = AvailabilityException.objects.filter(
        start__lt=window.end + margin, end__gt=window.start - margin, practitioner_id__in=ids
    )
    rules_by_practitioner: dict[int, list] = {pk: [] for pk in ids}
    for rule in rules:
        rules_by_practitioner[rule.practitioner_id].append(rule)
    extra = {pk: [] for pk in ids}
    time_off = {pk: [] for pk in ids}
    for exception in exceptions:
        target = extra if exception.kind == AvailabilityException.Kind.EXTRA else time_off
        target[exception.practitioner_id].append(Interval(exception.start, exception.end))

    calendars = []
    for practitioner in practitioners:
        own = rules_by_practitioner[practitioner.pk]
        zone = own[0].location.time_zone if own else organization.time_zone
        calendars.append(
            PractitionerCalendar(
                practitioner_id=practitioner.pk,
                time_zone=zone,
                rules=tuple(
                    WeeklyRule(
                        r.weekday,
                        r.start_time,
                        r.end_time,
                        r.effective_from,
                        r.effective_to,
                        frozenset(s.pk for s in r.only) if r.only else None,
                    )
                    for r in own
                ),
                extra=tuple(extra[practitioner.pk]),
                time_off=tuple(time_off[practitioner.pk]),
                busy=tuple((busy or {}).get(practitioner.pk, ())),
            )
        )

    return calendars


def slot_inputs(
    *,
    organization: Organization,
    service: Service,
    window: Interval,
    now: datetime,
    practitioner_ids=None,
    patient: Patient | None = None,
    exclude_appointment_id: int | None = None,
) -> tuple[SlotQuery, list[PractitionerCalendar]]:
    """The engine's inputs for ``service`` in ``window``; 8–9 queries whatever the range or
    the number of practitioners."""
    practitioners = list(
        bookable_practitioners(
            organization=organization, service=service, practitioner_ids=practitioner_ids
        )
    )
    ids = [p.pk for p in practitioners]
    margin = timedelta(days=1)
    span = Q(start__lt=window.end + margin, end__gt=window.start - margin)
    blocking = Appointment.objects.filter(span, status__in=Appointment.BLOCKING).exclude(
        pk=exclude_appointment_id
    )
    busy_by_practitioner: dict[int, list[Interval]] = {pk: [] for pk in ids}
    patient_busy: list[Interval] = []
    # Plain tuples, not model instances: a busy month has thousands of rows.
    rows = blocking.filter(Q(practitioner_id__in=ids) | Q(patient=patient)).values_list(
        "practitioner_id",
        "patient_id",
        "start",
        "end",
        "service__buffer_before_minutes",
        "service__buffer_after_minutes",
    )
    for practitioner_id, patient_id, start, end, before, after in rows:
        if practitioner_id in busy_by_practitioner:
            busy_by_practitioner[practitioner_id].append(
                Interval(start - timedelta(minutes=before), end + timedelta(minutes=after))
            )
        if patient is not None and patient_id == patient.pk:
            patient_busy.append(Interval(start, end))

    calendars = working_calendars(
        organization=organization,
        practitioners=practitioners,
        window=window,
        busy=busy_by_practitioner,
    )

    needs = [(n.kind, n.modality) for n in service.resource_needs.all()]
    resources: list[ResourceCalendar] = []
    if needs:
        candidates = Resource.objects.filter(
            organization=organization, is_active=True, kind__in={k for k, _ in needs}
        )
        holds: dict[int, list[Interval]] = {}
        for hold in (
            AppointmentResource.objects.filter(span, blocking=True, resource__in=candidates)
            .exclude(appointment_id=exclude_appointment_id)
            .select_related("appointment__service")
        ):
            holds.setdefault(hold.resource_id, []).append(_buffered(hold.appointment))
        resources = [
            ResourceCalendar(r.pk, r.kind, r.modality, tuple(holds.get(r.pk, ())))
            for r in candidates.order_by("pk")
        ]

    local_first = window.start.date() - timedelta(days=1)
    query = SlotQuery(
        service_id=service.pk,
        duration=timedelta(minutes=service.duration_minutes),
        window=window,
        now=now,
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        min_notice=timedelta(minutes=service.min_notice_minutes),
        horizon=timedelta(days=service.booking_horizon_days),
        closed_days=closed_days(organization, local_first, window.end.date() + margin),
        patient_busy=tuple(patient_busy),
        resource_needs=tuple(needs),
        resources=tuple(resources),
    )
    return query, calendars


# Statuses that used (or hold) a practitioner's time, for utilization.
TIME_USED = (*Appointment.BLOCKING, Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW)
ATTENDED = (
    Appointment.Status.CHECKED_IN,
    Appointment.Status.IN_PROGRESS,
    Appointment.Status.COMPLETED,
)


def appointment_analytics(
    *, organization: Organization, first: date, last: date, practitioner_ids=None
) -> dict:
    """Counts by status, no-show and cancellation rates, and per-practitioner utilization
    (minutes booked ÷ minutes of working time, holidays and time off excluded) for the
    organization-local days ``first``–``last``; a constant number of queries."""
    zone = ZoneInfo(organization.time_zone or "UTC")
    window = Interval(
        local_instant(first, time(0), zone), local_instant(last + timedelta(days=1), time(0), zone)
    )
    practitioners = Practitioner.objects.filter(organization=organization, is_active=True)
    rows = Appointment.objects.filter(
        organization=organization, start__gte=window.start, start__lt=window.end
    )
    if practitioner_ids is not None:
        practitioners = practitioners.filter(pk__in=practitioner_ids)
        rows = rows.filter(practitioner_id__in=practitioner_ids)
    practitioners = list(practitioners.select_related("user").order_by("pk"))
    by_status = dict.fromkeys(Appointment.Status.values, 0)
    by_status.update(rows.values_list("status").annotate(total=Count("id")).order_by())
    per_practitioner = {
        practitioner_id: (count, booked)
        for practitioner_id, count, booked in rows.filter(status__in=TIME_USED)
        .values_list("practitioner_id")
        .annotate(
            count=Count("id"),
            booked=Sum(ExpressionWrapper(F("end") - F("start"), output_field=DurationField())),
        )
        .order_by()
    }
    closed = closed_days(organization, first, last)
    minute = timedelta(minutes=1)
    staff = []
    for calendar, practitioner in zip(
        working_calendars(organization=organization, practitioners=practitioners, window=window),
        practitioners,
        strict=True,
    ):
        available = sum(
            (
                min(i.end, window.end) - max(i.start, window.start)
                for i in availability(calendar, window, None, closed)
            ),
            timedelta(0),
        )
        count, booked = per_practitioner.get(practitioner.pk, (0, timedelta(0)))
        staff.append(
            {
                "id": practitioner.pk,
                "name": str(practitioner),
                "appointments": count,
                "booked_minutes": booked // minute,
                "available_minutes": available // minute,
                "utilization": round(booked / available, 3) if available else None,
            }
        )
    total = sum(by_status.values())
    attended = sum(by_status[s] for s in ATTENDED)
    no_shows = by_status[Appointment.Status.NO_SHOW]
    return {
        "start": first,
        "end": last,
        "time_zone": str(zone),
        "total": total,
        "by_status": by_status,
        "no_show_rate": round(no_shows / (attended + no_shows), 3) if attended + no_shows else None,
        "cancellation_rate": round(by_status[Appointment.Status.CANCELLED] / total, 3)
        if total
        else None,
        "practitioners": staff,
    }


def appointment_list(*, actor: Actor) -> QuerySet[Appointment]:
    """Appointments the actor may see: a patient their own; clinic members their
    organization's."""
    if actor.organization is None:
        return Appointment.objects.none()
    appointments = Appointment.objects.filter(organization=actor.organization).select_related(
        "patient", "practitioner__user", "service", "location"
    )
    if actor.roles & {"org_admin", "platform_admin", "practitioner", "staff", "integration"}:
        return appointments
    if "patient" in actor.roles:
        return appointments.filter(patient__user=actor.user)
    return appointments.none()


# --- Calendar feeds -------------------------------------------------------------------

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)


def calendar_feed_token_hash(token: str) -> str:
    """The stored form of a feed token (SHA-256 hex); the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_by_token(*, token: str) -> CalendarFeed | None:
    """The live feed a secret URL token opens; None when unknown, revoked or the
    practitioner is inactive. Looked up by the token's hash, never by the token."""
    return (
        CalendarFeed.objects.filter(
            token_hash=calendar_feed_token_hash(token),
            revoked_at__isnull=True,
            practitioner__is_active=True,
        )
        .select_related("organization", "practitioner__user", "practitioner__organization")
        .first()
    )


def calendar_feed_current(*, practitioner: Practitioner) -> CalendarFeed | None:
    """The practitioner's live feed, if any (a caller must be allowed to manage it)."""
    return CalendarFeed.objects.filter(practitioner=practitioner, revoked_at__isnull=True).first()


def calendar_feed_appointments(*, feed: CalendarFeed, now: datetime) -> QuerySet[Appointment]:
    """What a practitioner's feed shows: their appointments from 30 days back to 180 days
    ahead in every status (cancelled and rejected ones too, so calendar apps drop them),
    with ``event_count`` for the iCalendar SEQUENCE."""
    return (
        Appointment.objects.filter(
            organization_id=feed.organization_id,
            practitioner_id=feed.practitioner_id,
            start__lt=now + FEED_AHEAD,
            end__gt=now - FEED_PAST,
        )
        .select_related("patient", "service", "location", "organization")
        .annotate(event_count=Count("events"))
        .order_by("start", "pk")
    )


def appointment_series_list(*, actor: Actor) -> QuerySet[AppointmentSeries]:
    """Recurring series the actor may see: a patient their own; clinic members their
    organization's. Occurrences come prefetched in time order."""
    if actor.organization is None:
        return AppointmentSeries.objects.none()
    series = (
        AppointmentSeries.objects.filter(organization=actor.organization)
        .select_related("patient", "practitioner__user", "service")
        .prefetch_related(Prefetch("appointments", queryset=Appointment.objects.order_by("start")))
    )
    if actor.roles & {"org_admin", "platform_admin", "practitioner", "staff", "integration"}:
        return series
    if "patient" in actor.roles:
        return series.filter(patient__user=actor.user)
    return series.none()
