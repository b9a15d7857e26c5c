"""The slot engine: pure functions over plain interval data (no ORM, no I/O).

Inputs are loaded by ``caresync.scheduling.selectors`` with a constant number of queries.
All instants are timezone-aware; availability rules are local wall-clock times in the
location's IANA time zone and are converted per calendar day, so a 09:00–17:00 rule is
09:00–17:00 local on both sides of a DST change.

Local times that do not exist (the spring-forward gap) are resolved like ``zoneinfo`` does
with ``fold=0``: they keep the offset from before the change, which moves them forward by
the length of the gap (02:30 in a 02:00→03:00 gap becomes 03:30). Ambiguous local times
(the autumn repeat) take their first occurrence (``fold=0``). Both rules are deterministic.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo


class Interval(NamedTuple):
    """[start, end): a tuple, so it sorts by start then end and is cheap to make."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class WeeklyRule:
    """Available every ``weekday`` (0 = Monday) from ``start`` to ``end`` local time."""

    weekday: int
    start: time
    end: time
    effective_from: date | None = None
    effective_to: date | None = None
    service_ids: frozenset[int] | None = None  # None: every service

    def applies(self, day: date, service_id: int | None) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.effective_from is None or day >= self.effective_from)
            and (self.effective_to is None or day <= self.effective_to)
            and (self.service_ids is None or service_id is None or service_id in self.service_ids)
        )


@dataclass(frozen=True)
class PractitionerCalendar:
    """What the engine knows about one practitioner for the requested window."""

    practitioner_id: int
    time_zone: str
    rules: tuple[WeeklyRule, ...]
    extra: tuple[Interval, ...] = ()  # extra availability (exceptions that add hours)
    time_off: tuple[Interval, ...] = ()  # leave, meetings
    busy: tuple[Interval, ...] = ()  # blocking appointments, with their own buffers


@dataclass(frozen=True)
class ResourceCalendar:
    resource_id: int
    kind: str
    modality: str
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class SlotQuery:
    service_id: int | None
    duration: timedelta
    window: Interval
    now: datetime
    step: timedelta | None = None  # default: 15 minutes, or the duration if shorter
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=365)
    closed_days: frozenset[date] = frozenset()  # holidays and closures, organization-local
    closures: tuple[Interval, ...] = ()
    patient_busy: tuple[Interval, ...] = ()
    resource_needs: tuple[tuple[str, str], ...] = ()  # (kind, modality)
    resources: tuple[ResourceCalendar, ...] = ()


class Slot(NamedTuple):
    start: datetime
    end: datetime
    practitioner_id: int | None  # None: a time at which some practitioner is free
    time_zone: str
    resource_ids: tuple[int, ...] = ()

    @property
    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.time_zone))

    @property
    def local_end(self) -> datetime:
        return self.end.astimezone(ZoneInfo(self.time_zone))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at wall time ``at`` in ``zone``, as UTC (gaps move forward, repeats take the
    first occurrence; see the module docstring)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _days(window: Interval, zone: ZoneInfo) -> Iterator[date]:
    day = window.start.astimezone(zone).date() - timedelta(days=1)
    last = window.end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping, touching intervals joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if interval.end <= interval.start:
            continue
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(base: list[Interval], remove: list[Interval]) -> list[Interval]:
    """``base`` minus ``remove``; both merged (sorted, disjoint)."""
    result: list[Interval] = []
    j = 0
    for interval in base:
        start = interval.start
        while j < len(remove) and remove[j].end <= start:
            j += 1
        k = j
        while k < len(remove) and remove[k].start < interval.end:
            if remove[k].start > start:
                result.append(Interval(start, remove[k].start))
            start = max(start, remove[k].end)
            k += 1
        if start < interval.end:
            result.append(Interval(start, interval.end))
    return result


def availability(
    calendar: PractitionerCalendar,
    window: Interval,
    service_id: int | None,
    closed_days: frozenset[date] = frozenset(),
) -> list[Interval]:
    """The practitioner's working intervals that reach into ``window`` (not clipped: slot
    times are counted from where working time starts)."""
    zone = ZoneInfo(calendar.time_zone)
    working = []
    for day in _days(window, zone):
        if day in closed_days:
            continue
        for rule in calendar.rules:
            if rule.applies(day, service_id):
                start = local_instant(day, rule.start, zone)
                end = (
                    local_instant(day, rule.end, zone)
                    if rule.end != time(0)
                    else local_instant(day + timedelta(days=1), time(0), zone)
                )
                working.append(Interval(start, end))
    working.extend(calendar.extra)
    working = subtract(merge(working), merge(calendar.time_off))
    return [i for i in working if i.start < window.end and i.end > window.start]


def _expanded(intervals: Iterable[Interval], before: timedelta, after: timedelta) -> list[Interval]:
    # A new slot [s, e] with buffers (bb, ba) clashes with busy [x, y] exactly when
    # s < y + bb and e > x - ba.
    return merge(Interval(i.start - after, i.end + before) for i in intervals)


def _fits(free: list[Interval], starts: list[datetime], start: datetime, end: datetime) -> bool:
    index = bisect_right(starts, start) - 1
    return index >= 0 and free[index].end >= end


def _resource_choice(
    query: SlotQuery, free_by_resource, start: datetime, end: datetime
) -> tuple[int, ...] | None:
    chosen = []
    for kind, modality in query.resource_needs:
        for resource in query.resources:
            if resource.kind != kind or (modality and resource.modality != modality):
                continue
            if resource.resource_id in chosen:
                continue
            free, starts = free_by_resource[resource.resource_id]
            if _fits(free, starts, start, end):
                chosen.append(resource.resource_id)
                break
        else:
            return None
    return tuple(chosen)


@dataclass(frozen=True)
class _Plan:
    duration: timedelta
    step: timedelta
    window: Interval  # earliest start .. latest end allowed by notice and horizon
    free_by_resource: dict


def _plan(query: SlotQuery) -> _Plan | None:
    earliest = max(query.window.start, query.now + query.min_notice)
    latest = min(query.window.end, query.now + query.horizon)
    if earliest >= latest:
        return None
    everything = [Interval(earliest - timedelta(days=2), latest + timedelta(days=2))]
    free_by_resource = {}
    for resource in query.resources:
        free = subtract(
            everything, _expanded(resource.busy, query.buffer_before, query.buffer_after)
        )
        free_by_resource[resource.resource_id] = (free, [i.start for i in free])
    return _Plan(
        query.duration,
        query.step or min(timedelta(minutes=15), query.duration),
        Interval(earliest, latest),
        free_by_resource,
    )


def _start_runs(
    query: SlotQuery, plan: _Plan, calendar: PractitionerCalendar
) -> Iterator[tuple[datetime, datetime]]:
    """(first, last) bookable start of each run of grid slots of one practitioner. The grid
    is anchored where working time starts (09:00, 09:15…), whatever the notice or the
    appointments around it."""
    blocked = list(query.closures) + list(query.patient_busy) + list(calendar.busy)
    busy = _expanded(blocked, query.buffer_before, query.buffer_after)
    for working in availability(calendar, plan.window, query.service_id, query.closed_days):
        anchor = working.start
        for free in subtract([working], busy):
            first = max(free.start, plan.window.start)
            first = anchor + -(-(first - anchor) // plan.step) * plan.step
            last = min(free.end, plan.window.end) - plan.duration
            if first <= last:
                yield first, last


def _grid(first: datetime, last: datetime, step: timedelta) -> Iterator[datetime]:
    while first <= last:
        yield first
        first += step


def _with_resources(query: SlotQuery, plan: _Plan, start: datetime):
    if not query.resource_needs:
        return ()
    return _resource_choice(query, plan.free_by_resource, start, start + plan.duration)


def slots_for(query: SlotQuery, calendars: Iterable[PractitionerCalendar]) -> list[Slot]:
    """Every bookable slot of every practitioner, in time order (then practitioner id)."""
    plan = _plan(query)
    if plan is None:
        return []
    found: list[Slot] = []
    for calendar in calendars:
        for first, last in _start_runs(query, plan, calendar):
            for start in _grid(first, last, plan.step):
                resources = _with_resources(query, plan, start)
                if resources is not None:
                    found.append(
                        Slot(
                            start,
                            start + plan.duration,
                            calendar.practitioner_id,
                            calendar.time_zone,
                            resources,
                        )
                    )
    found.sort(key=lambda slot: (slot.start, slot.practitioner_id))
    return found


def slot_times(query: SlotQuery, calendars: Iterable[PractitionerCalendar]) -> list[Slot]:
    """ "Any practitioner": the distinct times at which at least one practitioner is free
    (``practitioner_id`` None; the booking service picks who). Each practitioner's runs of
    bookable starts are merged per grid phase before enumerating, so the cost follows the
    number of distinct times, not practitioners × times."""
    plan = _plan(query)
    if plan is None:
        return []
    calendars = list(calendars)
    if not calendars:
        return []
    runs_by_phase: dict[timedelta, list[Interval]] = {}
    for calendar in calendars:
        for first, last in _start_runs(query, plan, calendar):
            phase = (first - _EPOCH) % plan.step
            # Closed at ``last``: the tiny nudge keeps touching runs merged and ``last`` in.
            runs_by_phase.setdefault(phase, []).append(Interval(first, last + _NUDGE))
    zone = calendars[0].time_zone
    found = []
    for runs in runs_by_phase.values():
        for run in merge(runs):
            for start in _grid(run.start, run.end - _NUDGE, plan.step):
                resources = _with_resources(query, plan, start)
                if resources is not None:
                    found.append(Slot(start, start + plan.duration, None, zone, resources))
    found.sort()
    return found


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NUDGE = timedelta(microseconds=1)
