"""The slot engine: pure functions over plain interval data (no ORM, no I/O).

Inputs are loaded by ``caresync.scheduling.selectors`` with a constant number of queries.
All instants are timezone-aware; availability rules are local wall-clock times in the
location's IANA time zone and are converted per calendar day, so a 09:00–17:00 rule is
09:00–17:00 local on both sides of a DST change.

Local times that do not exist (the spring-forward gap) are resolved like ``zoneinfo`` does
with ``fold=0``: they keep the offset from before the change, which moves them forward by
the length of the gap (02:30 in a 02:00→03:00 gap becomes 03:30). Ambiguous local times
(the autumn repeat) take their first occurrence (``fold=0``). Both rules are deterministic.

Inputs and outputs are datetimes; inside, instants are integer microseconds since the Unix
epoch ("ticks"), which makes interval arithmetic several times cheaper and lets the selector
hand over thousands of appointments as integers (``EpochIntervals``) without building a
datetime for each. Practitioners with the same weekly rules share one expansion of them.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def to_ticks(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def from_ticks(ticks: int) -> datetime:
    """Integer microseconds since the Unix epoch as a UTC datetime."""
    return _EPOCH + timedelta(microseconds=ticks)


class EpochIntervals(Sequence):
    """Intervals as (start, end) pairs of integer microseconds since the Unix epoch: the
    compact form the selector loads appointments in. It reads as a sequence of
    ``Interval``s (datetimes); the engine uses the integers as they are."""

    __slots__ = ("_load", "_pairs")

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()):
        self._pairs: tuple[tuple[int, int], ...] | None = tuple(pairs)
        self._load: Callable[[], Iterable[tuple[int, int]]] | None = None

    @classmethod
    def lazy(cls, load: Callable[[], Iterable[tuple[int, int]]]) -> EpochIntervals:
        """The pairs ``load()`` returns, made when first read: the any-practitioner search
        never reads the appointments of most practitioners."""
        intervals = cls()
        intervals._pairs, intervals._load = None, load
        return intervals

    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        if self._pairs is None:
            self._pairs, self._load = tuple(self._load()), None
        return self._pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return EpochIntervals(self.pairs[index])
        start, end = self.pairs[index]
        return Interval(from_ticks(start), from_ticks(end))

    def __iter__(self) -> Iterator[Interval]:
        for start, end in self.pairs:
            yield Interval(from_ticks(start), from_ticks(end))

    def __eq__(self, other) -> bool:
        if isinstance(other, EpochIntervals):
            return self.pairs == other.pairs
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.pairs)

    def __repr__(self) -> str:
        return f"EpochIntervals({len(self.pairs)} intervals)"


class WeeklyRule(NamedTuple):
    """Available every ``weekday`` (0 = Monday) from ``start`` to ``end`` local time. A
    tuple: calendars sharing rules are grouped by them, and tuples hash fast."""

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
    extra: Sequence[Interval] = ()  # extra availability (exceptions that add hours)
    time_off: Sequence[Interval] = ()  # leave, meetings
    busy: Sequence[Interval] = ()  # blocking appointments, with their own buffers
    locations: tuple[int, ...] = ()  # each rule's location (by id), in the rules' order

    def location_at(self, local_start: datetime, local_end: datetime) -> int | None:
        """Where the practitioner works at that local time: the location of the first weekly
        rule covering it, else (extra hours) of their first rule of the week."""
        day = local_start.date()
        for rule, location in zip(self.rules, self.locations, strict=True):
            if (
                rule.applies(day, None)
                and rule.start <= local_start.time()
                and local_end.time() <= rule.end
            ):
                return location
        return self.locations[0] if self.locations else None


@dataclass(frozen=True)
class ResourceCalendar:
    resource_id: int
    kind: str
    modality: str
    busy: Sequence[Interval] = ()


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
    closures: Sequence[Interval] = ()
    patient_busy: Sequence[Interval] = ()
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
    return [Interval(*pair) for pair in _subtract(base, remove)]


def availability(
    calendar: PractitionerCalendar,
    window: Interval,
    service_id: int | None,
    closed_days: frozenset[date] = frozenset(),
) -> list[Interval]:
    """The practitioner's working intervals that reach into ``window`` (not clipped: slot
    times are counted from where working time starts)."""
    rules = _RuleExpansion(window, service_id, closed_days)
    return [Interval(from_ticks(start), from_ticks(end)) for start, end in rules.working(calendar)]


def slots_for(query: SlotQuery, calendars: Iterable[PractitionerCalendar]) -> list[Slot]:
    """Every bookable slot of every practitioner, in time order (then practitioner id)."""
    plan = _Plan.make(query)
    if plan is None:
        return []
    found = []
    for calendar in calendars:
        for first, last in plan.runs(calendar, plan.busy(calendar)):
            for start in range(first, last + 1, plan.step):
                resources = plan.resources_at(start)
                if resources is not None:
                    found.append((start, calendar.practitioner_id, calendar.time_zone, resources))
    found.sort(key=lambda row: (row[0], row[1]))
    return [
        Slot(from_ticks(start), from_ticks(start + plan.duration), practitioner, zone, resources)
        for start, practitioner, zone, resources in found
    ]


def slot_times(query: SlotQuery, calendars: Iterable[PractitionerCalendar]) -> list[Slot]:
    """ "Any practitioner": the distinct times at which at least one practitioner is free
    (``practitioner_id`` None; the booking service picks who).

    Free start times are collected per grid phase in a bit set. A practitioner whose
    possible starts (working time, ignoring appointments) are all in the set already cannot
    add a time, so their appointments are never looked at; practitioners sharing weekly
    rules are settled together. The cost follows the practitioners needed to cover the
    free times, not all of them."""
    plan = _Plan.make(query)
    if plan is None:
        return []
    calendars = list(calendars)
    if not calendars:
        return []
    free = _TimeSet(plan.start, plan.step)
    settled: set[tuple[str, tuple[WeeklyRule, ...]]] = set()
    for calendar in calendars:
        plain = not calendar.extra and not calendar.time_off
        key = (calendar.time_zone, calendar.rules)
        if plain and key in settled:
            continue
        if all(free.has_run(first, last) for first, last in plan.runs(calendar, ())):
            if plain:
                settled.add(key)
            continue
        for first, last in plan.runs(calendar, plan.busy(calendar)):
            free.add_run(first, last)
    zone = calendars[0].time_zone
    found = []
    for start in free.sorted():
        resources = plan.resources_at(start)
        if resources is not None:
            found.append(
                Slot(from_ticks(start), from_ticks(start + plan.duration), None, zone, resources)
            )
    return found


# --- Internals: everything below works on ticks ---------------------------------------


def _ticks(intervals: Iterable[Interval]) -> Sequence[tuple[int, int]]:
    if isinstance(intervals, EpochIntervals):
        return intervals.pairs
    return [(to_ticks(i.start), to_ticks(i.end)) for i in intervals]


def _merge(pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(base, remove) -> list[tuple]:
    """Sorted disjoint ``base`` minus sorted disjoint ``remove`` (pairs of any ordered type)."""
    result = []
    j = 0
    count = len(remove)
    for start, end in base:
        while j < count and remove[j][1] <= start:
            j += 1
        k = j
        while k < count and remove[k][0] < end:
            if remove[k][0] > start:
                result.append((start, remove[k][0]))
            start = max(start, remove[k][1])
            k += 1
        if start < end:
            result.append((start, end))
    return result


def _expanded(pairs: Iterable[tuple[int, int]], before: int, after: int) -> list[tuple[int, int]]:
    # A new slot [s, e] with buffers (bb, ba) clashes with busy [x, y] exactly when
    # s < y + bb and e > x - ba.
    return _merge([(start - after, end + before) for start, end in pairs])


@functools.lru_cache(maxsize=1 << 16)
def _local_ticks(zone_name: str, day: date, at: time) -> int:
    return to_ticks(local_instant(day, at, ZoneInfo(zone_name)))


class _RuleExpansion:
    """Weekly rules turned into working intervals (ticks) for one window, service and set of
    closed days; calendars with the same zone and rules share one expansion."""

    def __init__(self, window: Interval, service_id: int | None, closed_days: frozenset[date]):
        self.window = window
        self.low, self.high = to_ticks(window.start), to_ticks(window.end)
        self.service_id = service_id
        self.closed_days = closed_days
        # (zone, rules) → (merged working intervals, those reaching into the window)
        self.expanded: dict[tuple[str, tuple[WeeklyRule, ...]], tuple[list, list]] = {}

    def _expand(self, zone_name: str, rules: tuple[WeeklyRule, ...]) -> list[tuple[int, int]]:
        zone = ZoneInfo(zone_name)
        by_weekday: list[list[WeeklyRule]] = [[] for _ in range(7)]
        for rule in rules:
            by_weekday[rule.weekday].append(rule)
        working = []
        day = self.window.start.astimezone(zone).date() - _DAY
        last = self.window.end.astimezone(zone).date()
        while day <= last:
            todays = by_weekday[day.weekday()]
            if todays and day not in self.closed_days:
                for rule in todays:
                    if rule.applies(day, self.service_id):
                        start = _local_ticks(zone_name, day, rule.start)
                        end = (
                            _local_ticks(zone_name, day, rule.end)
                            if rule.end != time(0)
                            else _local_ticks(zone_name, day + _DAY, time(0))
                        )
                        working.append((start, end))
            day += _DAY
        return _merge(working)

    def _reaching(self, working: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [pair for pair in working if pair[0] < self.high and pair[1] > self.low]

    def working(self, calendar: PractitionerCalendar) -> list[tuple[int, int]]:
        """Merged working intervals of ``calendar`` that reach into the window."""
        key = (calendar.time_zone, calendar.rules)
        expanded = self.expanded.get(key)
        if expanded is None:
            working = self._expand(*key)
            expanded = self.expanded[key] = (working, self._reaching(working))
        if not calendar.extra and not calendar.time_off:
            return expanded[1]
        return self._reaching(
            _subtract(
                _merge([*expanded[0], *_ticks(calendar.extra)]),
                _merge(_ticks(calendar.time_off)),
            )
        )


@dataclass
class _Plan:
    query: SlotQuery
    start: int  # earliest start and latest end allowed by window, notice and horizon
    end: int
    duration: int
    step: int
    before: int
    after: int
    rules: _RuleExpansion
    blocked: list[tuple[int, int]]  # closures and the patient's appointments, expanded
    free_by_resource: dict[int, tuple[list, list]]

    @classmethod
    def make(cls, query: SlotQuery) -> _Plan | None:
        earliest = max(query.window.start, query.now + query.min_notice)
        latest = min(query.window.end, query.now + query.horizon)
        if earliest >= latest:
            return None
        before = query.buffer_before // _MICROSECOND
        after = query.buffer_after // _MICROSECOND
        everything = [(to_ticks(earliest - 2 * _DAY), to_ticks(latest + 2 * _DAY))]
        free_by_resource = {}
        for resource in query.resources:
            free = _subtract(everything, _expanded(_ticks(resource.busy), before, after))
            free_by_resource[resource.resource_id] = (free, [start for start, _ in free])
        duration = query.duration // _MICROSECOND
        step = (query.step or min(timedelta(minutes=15), query.duration)) // _MICROSECOND
        return cls(
            query=query,
            start=to_ticks(earliest),
            end=to_ticks(latest),
            duration=duration,
            step=step,
            before=before,
            after=after,
            rules=_RuleExpansion(Interval(earliest, latest), query.service_id, query.closed_days),
            blocked=_expanded(
                [*_ticks(query.closures), *_ticks(query.patient_busy)], before, after
            ),
            free_by_resource=free_by_resource,
        )

    def busy(self, calendar: PractitionerCalendar) -> list[tuple[int, int]]:
        own = _ticks(calendar.busy)
        if not own:
            return self.blocked
        if self.before or self.after:
            own = [(start - self.after, end + self.before) for start, end in own]
        return _merge([*self.blocked, *own])

    def runs(self, calendar: PractitionerCalendar, busy) -> list[tuple[int, int]]:
        """(first, last) bookable start of each run of grid slots of one practitioner. The
        grid is anchored where working time starts (09:00, 09:15…), whatever the notice or
        the appointments around it."""
        low, high, step, duration = self.start, self.end, self.step, self.duration
        runs = []
        j = 0
        count = len(busy)
        for anchor, end in self.rules.working(calendar):
            start = anchor
            while j < count and busy[j][1] <= start:
                j += 1
            k = j
            while True:
                if k < count and busy[k][0] < end:
                    piece_end, resume = busy[k][0], busy[k][1]
                else:
                    piece_end, resume = end, None
                if piece_end > start:
                    first = max(start, low)
                    first = anchor - (anchor - first) // step * step
                    last = min(piece_end, high) - duration
                    if first <= last:
                        runs.append((first, last))
                if resume is None:
                    break
                start = max(start, resume)
                k += 1
        return runs

    def resources_at(self, start: int) -> tuple[int, ...] | None:
        """The resources a slot starting at ``start`` would hold; None if one is missing."""
        query = self.query
        if not query.resource_needs:
            return ()
        end = start + self.duration
        chosen: list[int] = []
        for kind, modality in query.resource_needs:
            for resource in query.resources:
                if resource.kind != kind or (modality and resource.modality != modality):
                    continue
                if resource.resource_id in chosen:
                    continue
                free, starts = self.free_by_resource[resource.resource_id]
                index = bisect_right(starts, start) - 1
                if index >= 0 and free[index][1] >= end:
                    chosen.append(resource.resource_id)
                    break
            else:
                return None
        return tuple(chosen)


class _TimeSet:
    """Start times on grids of one step, as one bit set per grid phase (bit i: the i-th grid
    time at or before ``low``)."""

    def __init__(self, low: int, step: int):
        self.low = low
        self.step = step
        self.bits: dict[int, int] = {}  # phase → bits

    def _origin(self, phase: int) -> int:
        return self.low - (self.low - phase) % self.step

    def has_run(self, first: int, last: int) -> bool:
        phase = first % self.step
        index = (first - self._origin(phase)) // self.step
        width = (last - first) // self.step + 1
        run = (1 << width) - 1
        return (self.bits.get(phase, 0) >> index) & run == run

    def add_run(self, first: int, last: int) -> None:
        phase = first % self.step
        index = (first - self._origin(phase)) // self.step
        width = (last - first) // self.step + 1
        self.bits[phase] = self.bits.get(phase, 0) | ((1 << width) - 1) << index

    def sorted(self) -> list[int]:
        found = []
        for phase, bits in self.bits.items():
            origin = self._origin(phase)
            digits = bin(bits)[:1:-1]  # least significant first
            index = digits.find("1")
            while index != -1:
                found.append(origin + index * self.step)
                index = digits.find("1", index + 1)
        found.sort()
        return found
