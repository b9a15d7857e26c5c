"""Reads for scheduling: everything the slot engine needs, in a constant number of queries."""

import functools
import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as public_holidays
from django.db import NotSupportedError
from django.db.models import (
    Aggregate,
    BigIntegerField,
    CharField,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from caresync.accounts.models import Organization
from caresync.core.policy import Actor
from caresync.core.querytemplates import ID, Param, QueryTemplate, Read, together
from caresync.directory.models import (
    Patient,
    Practitioner,
    Resource,
    Service,
    ServiceResourceNeed,
)
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
    EpochIntervals,
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


def _closures() -> QuerySet:
    return Closure.objects.filter(
        organization_id=Param("organization", ID),
        start_date__lte=Param("last", DateField()),
        end_date__gte=Param("first", DateField()),
    ).values_list("start_date", "end_date")


_CLOSURES = QueryTemplate(_closures)


def closed_days(organization: Organization, first: date, last: date) -> frozenset[date]:
    """Public holidays (the ``holidays`` package, for the organization's country and
    subdivision) and the organization's own closures between two dates."""
    return together(_closed_days_read(organization, first, last))[0]


def _closed_days_read(organization: Organization, first: date, last: date) -> Read:
    """``closed_days``, to run with other reads."""

    def closed(closures: list[tuple[date, date]]) -> frozenset[date]:
        days: set[date] = set()
        if organization.country:
            years = tuple(range(first.year, last.year + 1))
            calendar = _public_holidays(organization.country, organization.subdivision, years)
            days.update(day for day in calendar if first <= day <= last)
        for start_date, end_date in closures:
            day = max(start_date, first)
            while day <= min(end_date, last):
                days.add(day)
                day += timedelta(days=1)
        return frozenset(days)

    return _CLOSURES.read(organization=organization.pk, first=first, last=last).then(closed)


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


def _bookable(chosen: int | None) -> QuerySet[Practitioner]:
    """Active practitioners of ``organization`` offering ``service`` (of the ``chosen`` ones,
    when a count of them is given)."""
    practitioners = Practitioner.objects.filter(
        organization_id=Param("organization", ID), is_active=True, services=Param("service", ID)
    )
    if chosen is not None:
        practitioners = practitioners.filter(pk__in=Param("chosen", ID, many=chosen))
    return practitioners.order_by("pk")


_BOOKABLE = QueryTemplate(lambda chosen: _bookable(chosen).values_list("pk"))


def _among(among: tuple[str, int | None]):
    """Whom a calendar query reads: ``("ids", n)``, the ``n`` practitioners ``ids``;
    ``("bookable", chosen)``, those ``_bookable(chosen)`` finds, as a subquery, which spares
    the database a parameter per practitioner when they are many."""
    kind, count = among
    if kind == "ids":
        return Param("ids", ID, many=count)
    return _bookable(count).values("pk")


def working_calendars(
    *,
    organization: Organization,
    practitioners: list[Practitioner],
    window: Interval,
    busy: dict[int, Sequence[Interval]] | None = None,
) -> list[PractitionerCalendar]:
    """Each practitioner's weekly rules (in their location's zone), time off and extra hours
    around ``window``, with ``busy`` intervals when given; three queries."""
    ids = [p.pk for p in practitioners]
    if not ids:
        return []
    reads = _calendar_reads(("ids", len(ids)), {"ids": ids}, window)
    return _calendars(organization, ids, together(*reads), busy or {})


def _rule_text() -> Func:
    """A rule as "weekday start end first-day last-day zone location" ("-": no date)."""
    return Func(
        *(Cast(name, CharField()) for name in ("weekday", "start_time", "end_time")),
        Coalesce(Cast("effective_from", CharField()), Value("-")),
        Coalesce(Cast("effective_to", CharField()), Value("-")),
        F("location__time_zone"),
        Cast("location_id", CharField()),
        template="(%(expressions)s)",
        arg_joiner=" || ' ' || ",
        output_field=TextField(),
    )


def _parse_rules(
    described: str,
) -> tuple[list[tuple], bool, tuple[WeeklyRule, ...], str, tuple[int, ...]]:
    """``_rule_text``s joined by commas: each rule's fields in that order, whether two start
    on the same weekday and time, the rules in (weekday, start) order with the zone of the
    first one's location, and the rules' locations in that order."""
    fields = []
    for text in described.split(","):
        weekday, start, end, first, last, zone, location = text.split(" ")
        fields.append(
            (
                int(weekday),
                time.fromisoformat(start),
                time.fromisoformat(end),
                None if first == "-" else date.fromisoformat(first),
                None if last == "-" else date.fromisoformat(last),
                zone,
                int(location),
            )
        )
    ordered = sorted(fields, key=lambda rule: rule[:2])
    ties = len({rule[:2] for rule in fields}) < len(fields)
    rules = tuple(WeeklyRule(*rule[:5]) for rule in ordered)
    return fields, ties, rules, ordered[0][5], tuple(rule[6] for rule in ordered)


def _rules_and_zone(
    described: str, rule_ids: str, only: dict[int, set[int]], parsed: dict[str, tuple]
) -> tuple[tuple[WeeklyRule, ...], str, tuple[int, ...]]:
    """A practitioner's rules in (weekday, start, id) order, the zone of the first one's
    location and each rule's location, from their ``_rule_text``s and ids (joined in the
    same order). Practitioners mostly share their hours: ``parsed`` keeps what was read for
    the same text."""
    shared = parsed.get(described)
    if shared is None:
        shared = parsed[described] = _parse_rules(described)
    fields, ties, rules, zone, locations = shared
    ids = [int(pk) for pk in rule_ids.split(",")] if ties or only else []
    if not ties and only.keys().isdisjoint(ids):
        return rules, zone, locations
    found = sorted(zip(fields, ids, strict=True), key=lambda rule: (*rule[0][:2], rule[1]))
    return (
        tuple(
            WeeklyRule(*rule[:5], frozenset(only[pk]) if pk in only else None) for rule, pk in found
        ),
        found[0][0][5],
        tuple(rule[6] for rule, _ in found),
    )


_RULE_SERVICES = QueryTemplate(
    lambda among: AvailabilityRule.services.through.objects.filter(
        availabilityrule__practitioner_id__in=_among(among)
    ).values_list("availabilityrule_id", "service_id")
)
# One row per practitioner: 200 practitioners have thousands of rules, few distinct.
_RULES = QueryTemplate(
    lambda among: (
        AvailabilityRule.objects.filter(practitioner_id__in=_among(among))
        .order_by()
        .values("practitioner_id")
        .annotate(rules=_JoinedText(_rule_text()), ids=_JoinedText(Cast("pk", CharField())))
        .values_list("practitioner_id", "rules", "ids")
    )
)
_EXCEPTIONS = QueryTemplate(
    lambda among: AvailabilityException.objects.filter(
        start__lt=Param("until", DateTimeField()),
        end__gt=Param("since", DateTimeField()),
        practitioner_id__in=_among(among),
    ).values_list("practitioner_id", "kind", "start", "end")
)


def _calendar_reads(
    among: tuple[str, int | None], values: dict, window: Interval
) -> tuple[Read, Read, Read]:
    """What the calendars of the practitioners ``among`` says (``_among``, with the
    parameters ``values``) are made of: rules' services, rules, exceptions near ``window``."""
    margin = timedelta(days=1)
    return (
        _RULE_SERVICES.read(among, **values),
        _RULES.read(among, **values),
        _EXCEPTIONS.read(among, **values, until=window.end + margin, since=window.start - margin),
    )


def _calendars(
    organization: Organization,
    ids: list[int],
    fetched: list[list[tuple]],
    busy: dict[int, Sequence[Interval]],
) -> list[PractitionerCalendar]:
    """Calendars of the practitioners ``ids`` from what their ``_calendar_reads`` fetched."""
    rule_services, rules, exceptions = fetched
    only: dict[int, set[int]] = {}
    for rule_id, service_id in rule_services:
        only.setdefault(rule_id, set()).add(service_id)
    weekly: dict[int, tuple[tuple[WeeklyRule, ...], str, tuple[int, ...]]] = {}
    parsed: dict[str, tuple] = {}
    for practitioner_id, described, rule_ids in rules:
        weekly[practitioner_id] = _rules_and_zone(described, rule_ids, only, parsed)
    extra: dict[int, list[Interval]] = {pk: [] for pk in ids}
    time_off: dict[int, list[Interval]] = {pk: [] for pk in ids}
    for practitioner_id, kind, start, end in exceptions:
        target = extra if kind == AvailabilityException.Kind.EXTRA else time_off
        target[practitioner_id].append(Interval(start, end))
    calendars = []
    for pk in ids:
        own = busy.get(pk, ())
        rules, zone, locations = weekly.get(pk, ((), organization.time_zone, ()))
        calendars.append(
            PractitionerCalendar(
                practitioner_id=pk,
                time_zone=zone,
                rules=rules,
                extra=tuple(extra[pk]),
                time_off=tuple(time_off[pk]),
                busy=own if isinstance(own, EpochIntervals) else tuple(own),
                locations=locations,
            )
        )
    return calendars


class _JoinedText(Aggregate):
    """A group's values joined with commas, one string per group (GROUP_CONCAT on SQLite,
    STRING_AGG on PostgreSQL)."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def __init__(self, expression, **extra):
        super().__init__(expression, Value(","), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="STRING_AGG", **extra_context)


class _PerGroup(Subquery):
    """A subquery on columns the query groups by already: evaluated once per group."""

    def get_group_by_cols(self):
        return []


class _Ticks(Func):
    """A datetime column as integer microseconds since the Unix epoch (the slot engine's
    ticks), computed by the database: C speed, where Python would parse every value."""

    arity = 1
    output_field = BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("Ticks are computed on SQLite and PostgreSQL only.")

    def as_sqlite(self, compiler, connection, **extra_context):
        # Stored as UTC text: "YYYY-MM-DD HH:MM:SS", then ".ffffff" when there are microseconds.
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.Database.sqlite_version_info >= (3, 38):
            seconds = f"unixepoch({sql})"
        else:
            seconds = f"CAST(strftime('%%s', {sql}) AS INTEGER)"
        return f"({seconds} * 1000000 + CAST(substr({sql}, 21) AS INTEGER))", (*params, *params)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql}) * 1000000)::bigint", params


def _start_end_ticks() -> Func:
    """An appointment as "start,end" in ticks."""
    return Func(
        *(Cast(_Ticks(name), CharField()) for name in ("start", "end")),
        template="(%(expressions)s)",
        arg_joiner=" || ',' || ",
        output_field=TextField(),
    )


_MINUTE_TICKS = 60 * 1_000_000


def _ticks_from_text(text: str) -> list[tuple[int, int]]:
    """(start, end) pairs of "start,end,start,end,…"."""
    numbers = map(int, text.split(","))
    return list(zip(numbers, numbers, strict=True))


def _buffered_ticks(groups: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """One practitioner's appointments per service, widened by that service's buffers."""
    pairs = []
    for text, before, after in groups:
        if before or after:
            before, after = before * _MINUTE_TICKS, after * _MINUTE_TICKS
            pairs.extend((start - before, end + after) for start, end in _ticks_from_text(text))
        else:
            pairs.extend(_ticks_from_text(text))
    return pairs


def _blocking(count: int, mine: bool, excluding: bool) -> QuerySet:
    """Blocking appointments in [``since``, ``until``) of the ``count`` practitioners ``ids``
    (and of ``patient`` when ``mine``; but ``exclude`` when ``excluding``): one row per
    practitioner and service with their times ("start,end,…" in ticks) and that service's
    buffers, looked up per row rather than joined per appointment; with ``mine``, the
    patient's own times too."""
    blocking = Appointment.objects.filter(
        start__lt=Param("until", DateTimeField()),
        end__gt=Param("since", DateTimeField()),
        status__in=Appointment.BLOCKING,
    )
    if excluding:
        blocking = blocking.exclude(pk=Param("exclude", ID))
    service = Service.objects.filter(pk=OuterRef("service_id")).order_by()
    columns = {
        "before": _PerGroup(service.values("buffer_before_minutes")),
        "after": _PerGroup(service.values("buffer_after_minutes")),
        "times": _JoinedText(_start_end_ticks()),
    }
    whose = Q(practitioner_id__in=Param("ids", ID, many=count)) if count else Q()
    if mine:
        patient = Q(patient_id=Param("patient", ID))
        whose |= patient
        columns["mine"] = _JoinedText(_start_end_ticks(), filter=patient)
    elif not count:
        return Appointment.objects.none().values_list("pk")
    return (
        blocking.filter(whose)
        .order_by()
        .values("practitioner_id", "service_id")
        .annotate(**columns)
        .values_list("practitioner_id", *columns)
    )


_BLOCKING = QueryTemplate(_blocking)
_NEEDS = QueryTemplate(
    lambda: (
        ServiceResourceNeed.objects.filter(service_id=Param("service", ID))
        .order_by("pk")
        .values_list("kind", "modality")
    )
)


def _blocking_read(
    practitioner_ids: list[int],
    since: datetime,
    until: datetime,
    patient: Patient | None,
    exclude_appointment_id: int | None,
) -> Read:
    """One query (``_blocking``): each practitioner's blocking appointments as ("start,end,…"
    in ticks, buffer before, buffer after) per service; and the patient's own."""

    def grouped(rows) -> tuple[dict[int, list[tuple[str, int, int]]], list[tuple[int, int]]]:
        groups: dict[int, list[tuple[str, int, int]]] = {}
        mine: list[tuple[int, int]] = []
        for practitioner_id, before, after, times, *own in rows:
            groups.setdefault(practitioner_id, []).append((times, before, after))
            if own and own[0]:
                mine.extend(_ticks_from_text(own[0]))
        return groups, mine

    return _BLOCKING.read(
        len(practitioner_ids),
        patient is not None,
        exclude_appointment_id is not None,
        ids=practitioner_ids,
        patient=patient.pk if patient is not None else None,
        exclude=exclude_appointment_id,
        since=since,
        until=until,
    ).then(grouped)


# An any-practitioner search rarely needs everyone's appointments: a time is free as soon as
# one practitioner is free, and the engine skips practitioners who cannot add a time. The
# first practitioners' appointments come with the other inputs; everyone else's in one more
# query, made only when the engine reads one of them.
FIRST_LOADED = 24


def _blocking_ticks(
    ids: list[int],
    first_loaded: tuple[dict[int, list[tuple[str, int, int]]], list[tuple[int, int]]],
    since: datetime,
    until: datetime,
    exclude_appointment_id: int | None,
) -> tuple[dict[int, EpochIntervals], EpochIntervals]:
    """Blocking appointments: each practitioner's widened by the buffers of their service
    (made into ticks when the engine reads them), and the patient's as they are.
    ``first_loaded``: what ``_blocking_read`` found for the first ``FIRST_LOADED`` of ``ids``
    (with the patient's); the others' are read when the engine first asks for them."""
    first, rest = ids[:FIRST_LOADED], ids[FIRST_LOADED:]
    groups, mine = first_loaded
    busy = {
        pk: EpochIntervals.lazy(functools.partial(_buffered_ticks, groups.get(pk, [])))
        for pk in first
    }
    if rest:
        later = functools.cache(
            lambda: together(_blocking_read(rest, since, until, None, exclude_appointment_id))[0]
        )
        for pk in rest:
            busy[pk] = EpochIntervals.lazy(functools.partial(_loaded_later, later, pk))
    return busy, EpochIntervals(mine)


def _loaded_later(load, practitioner_id: int) -> list[tuple[int, int]]:
    groups, _ = load()
    return _buffered_ticks(groups.get(practitioner_id, []))


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
    """The engine's inputs for ``service`` in ``window``: 7–9 queries whatever the range or
    the number of practitioners, in two round trips on PostgreSQL (``together``), and one
    more query if the engine reads the appointments of practitioners after the first
    ``FIRST_LOADED``."""
    chosen = None if practitioner_ids is None else list(practitioner_ids)
    count = None if chosen is None else len(chosen)
    values = {"organization": organization.pk, "service": service.pk, "chosen": chosen}
    margin = timedelta(days=1)
    since, until = window.start - margin, window.end + margin
    # Who may be booked, what the service needs and the closed days.
    bookable, needs, closed = together(
        _BOOKABLE.read(count, **values) if count != 0 else None,
        _NEEDS.read(service=service.pk),
        _closed_days_read(
            organization, window.start.date() - timedelta(days=1), window.end.date() + margin
        ),
    )
    ids = [pk for (pk,) in bookable or ()]
    # Many practitioners: a subquery rather than a parameter each; a few: their ids, which
    # the database plans (and Django builds) faster.
    if len(ids) <= FIRST_LOADED:
        among: tuple[str, int | None] = ("ids", len(ids))
        values["ids"] = ids
    else:
        among = ("bookable", count)
    # Then their appointments (the first ones') and their calendars.
    first_loaded, *calendar_rows = together(
        _blocking_read(ids[:FIRST_LOADED], since, until, patient, exclude_appointment_id),
        *(_calendar_reads(among, values, window) if ids else ()),
    )
    busy, patient_busy = _blocking_ticks(ids, first_loaded, since, until, exclude_appointment_id)
    calendars = _calendars(organization, ids, calendar_rows, busy) if ids else []

    resources: list[ResourceCalendar] = []
    if needs:
        candidates = Resource.objects.filter(
            organization=organization, is_active=True, kind__in={k for k, _ in needs}
        )
        holds = AppointmentResource.objects.filter(
            start__lt=until, end__gt=since, blocking=True, resource__in=candidates
        )
        if exclude_appointment_id is not None:
            holds = holds.exclude(appointment_id=exclude_appointment_id)
        held: dict[int, list[Interval]] = {}
        for resource_id, start, end, before, after in holds.values_list(
            "resource_id",
            "start",
            "end",
            "appointment__service__buffer_before_minutes",
            "appointment__service__buffer_after_minutes",
        ):
            held.setdefault(resource_id, []).append(
                Interval(start - timedelta(minutes=before), end + timedelta(minutes=after))
            )
        resources = [
            ResourceCalendar(r.pk, r.kind, r.modality, tuple(held.get(r.pk, ())))
            for r in candidates.order_by("pk")
        ]

    query = SlotQuery(
        service_id=service.pk,
        duration=timedelta(minutes=service.duration_minutes),
        window=window,
        now=now,
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        min_notice=timedelta(minutes=service.min_notice_minutes),
        horizon=timedelta(days=service.booking_horizon_days),
        closed_days=closed,
        patient_busy=patient_busy,
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
