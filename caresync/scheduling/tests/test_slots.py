"""Property-based tests of the pure slot engine."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from caresync.scheduling.slots import (
    EpochIntervals,
    Interval,
    PractitionerCalendar,
    ResourceCalendar,
    Slot,
    SlotQuery,
    WeeklyRule,
    availability,
    from_ticks,
    local_instant,
    merge,
    slot_times,
    slots_for,
    subtract,
    to_ticks,
)

ZONES = ["Australia/Sydney", "America/New_York", "Asia/Kathmandu", "UTC"]
# Days around DST changes: Sydney (5 Apr and 4 Oct 2026), New York (8 Mar and 1 Nov 2026).
DST_DAYS = [date(2026, 4, 5), date(2026, 10, 4), date(2026, 3, 8), date(2026, 11, 1)]
BASE = datetime(2026, 1, 1, tzinfo=UTC)

minutes = st.integers(min_value=0, max_value=60 * 24 * 20)


@st.composite
def intervals(draw, max_count=6):
    items = []
    for _ in range(draw(st.integers(0, max_count))):
        start = BASE + timedelta(
            days=draw(st.sampled_from([0, 64, 94, 123, 276, 304])),
            minutes=draw(st.integers(0, 60 * 24 * 4)),
        )
        items.append(Interval(start, start + timedelta(minutes=draw(st.integers(5, 300)))))
    return tuple(items)


@st.composite
def rules(draw):
    chosen = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1)):
        start = draw(st.integers(0, 20 * 4)) * 15
        length = draw(st.integers(2, 16)) * 15
        end_minutes = min(start + length, 24 * 60 - 15)
        chosen.append(
            WeeklyRule(
                weekday, time(start // 60, start % 60), time(end_minutes // 60, end_minutes % 60)
            )
        )
    return tuple(chosen)


@st.composite
def scenarios(draw):
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(DST_DAYS))
    window = Interval(
        datetime.combine(day - timedelta(days=2), time(0), tzinfo=UTC),
        datetime.combine(day + timedelta(days=3), time(0), tzinfo=UTC),
    )
    calendar = PractitionerCalendar(
        practitioner_id=1,
        time_zone=zone,
        rules=draw(rules()),
        time_off=draw(intervals()),
        busy=draw(intervals()),
    )
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=draw(st.sampled_from([15, 20, 30, 45]))),
        window=window,
        now=window.start - timedelta(days=1),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 5, 10]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 10]))),
        patient_busy=draw(intervals(max_count=2)),
        closures=draw(intervals(max_count=1)),
    )
    return calendar, query


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_slot_overlaps_anything_that_blocks_it(scenario):
    calendar, query = scenario
    for slot in slots_for(query, [calendar]):
        buffered = Interval(slot.start - query.buffer_before, slot.end + query.buffer_after)
        for busy in calendar.busy + query.patient_busy + query.closures:
            assert not buffered.overlaps(busy)
        for off in calendar.time_off:
            assert not Interval(slot.start, slot.end).overlaps(off)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_slot_lies_inside_availability_and_the_window(scenario):
    calendar, query = scenario
    working = availability(calendar, query.window, None)
    for slot in slots_for(query, [calendar]):
        assert any(w.start <= slot.start and slot.end <= w.end for w in working)
        assert query.window.start <= slot.start and slot.end <= query.window.end
        assert slot.end - slot.start == query.duration


@settings(max_examples=200, deadline=None)
@given(rules(), st.sampled_from(DST_DAYS), st.sampled_from([15, 30, 45]), st.sampled_from(ZONES))
def test_local_slot_times_follow_the_rules_in_every_time_zone(weekly, day, length, zone_name):
    """On every day whose working hours do not contain a clock change, slots are the same
    local wall times in every zone, DST transition days included."""
    zone = ZoneInfo(zone_name)
    duration, step = timedelta(minutes=length), timedelta(minutes=min(15, length))
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    start = datetime.combine(days[0], time(0), tzinfo=zone)
    query = SlotQuery(
        service_id=None,
        duration=duration,
        window=Interval(
            start, datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone)
        ),
        now=start - timedelta(days=1),
    )
    got = {
        (s.local_start.date(), s.local_start.time(), s.local_end.time())
        for s in slots_for(query, [PractitionerCalendar(1, zone_name, weekly)])
    }
    expected, checked_days = set(), set()
    for one_day in days:
        todays = [r for r in weekly if r.applies(one_day, None)]
        if any(_clock_changes_between(one_day, r.start, r.end, zone) for r in todays):
            continue  # the clock changes during (or skips) working hours that day
        checked_days.add(one_day)
        for interval in merge(
            Interval(datetime.combine(one_day, r.start), datetime.combine(one_day, r.end))
            for r in todays
        ):
            moment = interval.start
            while moment + duration <= interval.end:
                expected.add((one_day, moment.time(), (moment + duration).time()))
                moment += step
    assert {g for g in got if g[0] in checked_days} == expected


def _clock_changes_between(day: date, start: time, end: time, zone: ZoneInfo) -> bool:
    """True when a rule's local start or end does not exist, or the offset changes between."""
    first, last = local_instant(day, start, zone), local_instant(day, end, zone)
    shown = first.astimezone(zone).time(), last.astimezone(zone).time()
    return (
        shown != (start, end)
        or first.astimezone(zone).utcoffset() != last.astimezone(zone).utcoffset()
    )


def test_nine_to_five_stays_nine_to_five_across_the_sydney_change():
    weekly = tuple(WeeklyRule(d, time(9), time(17)) for d in range(7))
    calendar = PractitionerCalendar(1, "Australia/Sydney", weekly)
    zone = ZoneInfo("Australia/Sydney")
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=30),
        window=Interval(datetime(2026, 4, 3, tzinfo=zone), datetime(2026, 4, 7, tzinfo=zone)),
        now=datetime(2026, 3, 1, tzinfo=UTC),
        step=timedelta(minutes=30),
    )
    days = {}
    for slot in slots_for(query, [calendar]):
        days.setdefault(slot.local_start.date(), []).append(slot.local_start.strftime("%H:%M"))
    for times in days.values():
        assert times[0] == "09:00" and times[-1] == "16:30" and len(times) == 16
    offsets = {
        slot.local_start.date(): slot.local_start.utcoffset()
        for slot in slots_for(query, [calendar])
    }
    assert offsets[date(2026, 4, 4)] == timedelta(hours=11)
    assert offsets[date(2026, 4, 6)] == timedelta(hours=10)


def test_a_nonexistent_local_time_moves_forward_and_an_ambiguous_one_takes_the_first():
    new_york = ZoneInfo("America/New_York")
    gap = local_instant(date(2026, 3, 8), time(2, 30), new_york)
    assert gap.astimezone(new_york).strftime("%H:%M") == "03:30"
    repeat = local_instant(date(2026, 11, 1), time(1, 30), new_york)
    assert repeat.astimezone(new_york).utcoffset() == timedelta(hours=-4)


def test_kathmandu_quarter_hour_offset():
    weekly = (WeeklyRule(0, time(10), time(11)),)
    calendar = PractitionerCalendar(1, "Asia/Kathmandu", weekly)
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=30),
        window=Interval(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)),
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )
    starts = [s.start for s in slots_for(query, [calendar])]
    assert starts[0] == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


def test_notice_and_horizon_bound_the_slots():
    weekly = tuple(WeeklyRule(d, time(0), time(23, 45)) for d in range(7))
    calendar = PractitionerCalendar(1, "UTC", weekly)
    now = datetime(2026, 6, 1, 10, 7, tzinfo=UTC)
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=15),
        window=Interval(now - timedelta(days=1), now + timedelta(days=10)),
        now=now,
        min_notice=timedelta(hours=2),
        horizon=timedelta(days=2),
    )
    found = slots_for(query, [calendar])
    assert found[0].start == datetime(2026, 6, 1, 12, 15, tzinfo=UTC)
    assert found[-1].end <= now + timedelta(days=2)


def test_a_service_needing_a_scanner_gets_a_free_one_or_no_slot():
    weekly = (WeeklyRule(0, time(9), time(10)),)
    calendar = PractitionerCalendar(1, "UTC", weekly)
    day = datetime(2026, 6, 1, tzinfo=UTC)
    mri_a = ResourceCalendar(
        10, "scanner", "MR", busy=(Interval(day.replace(hour=9), day.replace(hour=9, minute=30)),)
    )
    mri_b = ResourceCalendar(
        11, "scanner", "MR", busy=(Interval(day.replace(hour=9, minute=30), day.replace(hour=10)),)
    )
    xray = ResourceCalendar(12, "scanner", "XR")
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=30),
        window=Interval(day, day + timedelta(days=1)),
        now=day - timedelta(days=1),
        step=timedelta(minutes=30),
        resource_needs=(("scanner", "MR"),),
        resources=(mri_a, mri_b, xray),
    )
    assert [
        (s.start.hour, s.start.minute, s.resource_ids) for s in slots_for(query, [calendar])
    ] == [(9, 0, (11,)), (9, 30, (10,))]


def test_interval_arithmetic():
    t = [BASE + timedelta(hours=h) for h in range(10)]
    assert merge([Interval(t[0], t[2]), Interval(t[1], t[3]), Interval(t[5], t[6])]) == [
        Interval(t[0], t[3]),
        Interval(t[5], t[6]),
    ]
    assert subtract([Interval(t[0], t[9])], [Interval(t[1], t[2]), Interval(t[4], t[5])]) == [
        Interval(t[0], t[1]),
        Interval(t[2], t[4]),
        Interval(t[5], t[9]),
    ]


@settings(max_examples=200, deadline=None)
@given(scenarios(), rules(), intervals())
def test_any_practitioner_times_are_exactly_the_times_someone_is_free(
    scenario, other_rules, other_busy
):
    calendar, query = scenario
    colleague = PractitionerCalendar(2, calendar.time_zone, other_rules, busy=other_busy)
    per_practitioner = slots_for(query, [calendar, colleague])
    distinct = slot_times(query, [calendar, colleague])
    assert [s.start for s in distinct] == sorted({s.start for s in per_practitioner})
    assert all(s.practitioner_id is None for s in distinct)


# --- The engine against a brute-force reference ---------------------------------------
#
# The engine works on integer ticks, shares rule expansions between practitioners and skips
# practitioners who cannot add an "any practitioner" time. The reference below does none of
# that: it walks every grid time of every working interval with datetimes and checks it
# against every busy interval, closure and resource hold.


def _reference_working(calendar, low, high, service_id, closed_days):
    zone = ZoneInfo(calendar.time_zone)
    working = []
    day = low.astimezone(zone).date() - timedelta(days=1)
    while day <= high.astimezone(zone).date():
        for rule in calendar.rules:
            if day not in closed_days and rule.applies(day, service_id):
                end_day = day if rule.end != time(0) else day + timedelta(days=1)
                working.append(
                    Interval(
                        datetime.combine(day, rule.start, tzinfo=zone).astimezone(UTC),
                        datetime.combine(end_day, rule.end, tzinfo=zone).astimezone(UTC),
                    )
                )
        day += timedelta(days=1)
    working = subtract(merge([*working, *calendar.extra]), merge(calendar.time_off))
    return [w for w in working if w.start < high and w.end > low]


def _reference_clashes(start, end, busy, query):
    return any(
        start < b.end + query.buffer_before and end > b.start - query.buffer_after for b in busy
    )


def _reference_resources(query, start, end):
    chosen = []
    for kind, modality in query.resource_needs:
        for resource in query.resources:
            if resource.kind != kind or (modality and resource.modality != modality):
                continue
            if resource.resource_id in chosen:
                continue
            if not _reference_clashes(start, end, list(resource.busy), query):
                chosen.append(resource.resource_id)
                break
        else:
            return None
    return tuple(chosen)


def _reference_slots(query, calendars):
    low = max(query.window.start, query.now + query.min_notice)
    high = min(query.window.end, query.now + query.horizon)
    if low >= high:
        return []
    step = query.step or min(timedelta(minutes=15), query.duration)
    found = []
    for calendar in calendars:
        blocked = [*calendar.busy, *query.patient_busy, *query.closures]
        for working in _reference_working(calendar, low, high, query.service_id, query.closed_days):
            start = working.start
            while start + query.duration <= working.end:
                end = start + query.duration
                if (
                    low <= start
                    and end <= high
                    and not _reference_clashes(start, end, blocked, query)
                ):
                    resources = _reference_resources(query, start, end)
                    if resources is not None:
                        found.append(
                            Slot(
                                start, end, calendar.practitioner_id, calendar.time_zone, resources
                            )
                        )
                start += step
    return sorted(found, key=lambda slot: (slot.start, slot.practitioner_id))


@st.composite
def moments(draw, around):
    return around + timedelta(
        minutes=draw(st.integers(-60 * 24 * 2, 60 * 24 * 4)),
        seconds=draw(st.sampled_from([0, 0, 0, 7])),
        microseconds=draw(st.sampled_from([0, 0, 0, 1, 999_999])),
    )


@st.composite
def spans(draw, around, max_count=5, longest=300):
    found = []
    for _ in range(draw(st.integers(0, max_count))):
        start = draw(moments(around))
        found.append(Interval(start, start + timedelta(minutes=draw(st.integers(1, longest)))))
    if draw(st.booleans()):
        return EpochIntervals((to_ticks(i.start), to_ticks(i.end)) for i in found)
    return tuple(found)


@st.composite
def varied_rules(draw):
    chosen = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, 23 * 12)) * 5
        end = draw(st.integers(start // 5 + 1, 24 * 12)) * 5
        day = DST_DAYS[0]  # effective ranges near the drawn windows, or none
        effective_from = draw(
            st.none() | st.dates(day - timedelta(days=300), day + timedelta(days=300))
        )
        chosen.append(
            WeeklyRule(
                draw(st.integers(0, 6)),
                time(start // 60, start % 60),
                time(0) if end == 24 * 60 else time(end // 60, end % 60),
                effective_from,
                draw(st.none() | st.just(effective_from)) if effective_from else None,
                draw(st.none() | st.frozensets(st.sampled_from([1, 2]), min_size=1)),
            )
        )
    return tuple(chosen)


@st.composite
def practices(draw):
    """Several practitioners (some sharing weekly rules, in one or several zones) around a
    clock change, with appointments, time off, extra hours, closures and resources."""
    day = draw(st.sampled_from([*DST_DAYS, date(2026, 9, 6), date(2026, 2, 10)]))
    around = datetime.combine(day, time(0), tzinfo=UTC)
    zone = draw(st.sampled_from(ZONES))
    shared = draw(varied_rules())
    calendars = []
    for practitioner_id in range(1, draw(st.integers(1, 5)) + 1):
        plain = draw(st.booleans())
        calendars.append(
            PractitionerCalendar(
                practitioner_id=practitioner_id,
                time_zone=zone if draw(st.booleans()) else draw(st.sampled_from(ZONES)),
                rules=shared if draw(st.booleans()) else draw(varied_rules()),
                extra=() if plain else draw(spans(around, max_count=2)),
                time_off=() if plain else draw(spans(around, max_count=2)),
                busy=draw(spans(around, max_count=8, longest=90)),
            )
        )
    duration = timedelta(minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60])))
    start = draw(moments(around))
    resources = tuple(
        ResourceCalendar(
            10 + n, "scanner", draw(st.sampled_from(["MR", "CT"])), draw(spans(around))
        )
        for n in range(draw(st.integers(0, 3)))
    )
    query = SlotQuery(
        service_id=draw(st.sampled_from([None, 1, 2])),
        duration=duration,
        window=Interval(start, start + timedelta(hours=draw(st.integers(1, 24 * 4)))),
        now=draw(moments(around)),
        step=draw(st.sampled_from([None, None, timedelta(minutes=5), timedelta(minutes=30)])),
        buffer_before=timedelta(minutes=draw(st.sampled_from([0, 0, 5, 10]))),
        buffer_after=timedelta(minutes=draw(st.sampled_from([0, 0, 5, 15]))),
        min_notice=timedelta(minutes=draw(st.sampled_from([0, 0, 60, 24 * 60]))),
        horizon=timedelta(days=draw(st.sampled_from([365, 1, 2]))),
        closed_days=frozenset(
            draw(st.sets(st.sampled_from([day - timedelta(days=1), day, day + timedelta(days=1)])))
        ),
        closures=draw(spans(around, max_count=1)),
        patient_busy=draw(spans(around, max_count=2)),
        resource_needs=draw(
            st.sampled_from([(), (("scanner", "MR"),), (("scanner", ""), ("scanner", "CT"))])
        ),
        resources=resources,
    )
    return query, calendars


@settings(max_examples=300, deadline=None)
@given(practices())
def test_every_practitioner_slot_matches_a_brute_force_search(practice):
    query, calendars = practice
    assert slots_for(query, calendars) == _reference_slots(query, calendars)


@settings(max_examples=300, deadline=None)
@given(practices())
def test_any_practitioner_times_match_a_brute_force_search(practice):
    query, calendars = practice
    expected = {}
    for slot in _reference_slots(query, calendars):
        expected.setdefault(slot.start, slot._replace(practitioner_id=None))
    zone = calendars[0].time_zone
    assert slot_times(query, calendars) == [
        slot._replace(time_zone=zone) for _, slot in sorted(expected.items())
    ]


@settings(max_examples=150, deadline=None)
@given(practices())
def test_working_time_matches_the_rules_day_by_day(practice):
    query, calendars = practice
    for calendar in calendars:
        assert availability(
            calendar, query.window, query.service_id, query.closed_days
        ) == _reference_working(
            calendar, query.window.start, query.window.end, query.service_id, query.closed_days
        )


def test_many_practitioners_with_the_same_hours_give_every_free_time_once():
    """The shortcut for "any practitioner" must still find a time only the last
    practitioner has free."""
    weekly = tuple(WeeklyRule(d, time(9), time(17)) for d in range(7))
    day = datetime(2026, 6, 1, tzinfo=UTC)
    everything_booked = EpochIntervals([(to_ticks(day), to_ticks(day + timedelta(days=1)))])
    calendars = [PractitionerCalendar(n, "UTC", weekly, busy=everything_booked) for n in range(50)]
    last_free_at_noon = Interval(day.replace(hour=9), day.replace(hour=12))
    calendars.append(PractitionerCalendar(50, "UTC", weekly, busy=(last_free_at_noon,)))
    query = SlotQuery(
        service_id=None,
        duration=timedelta(minutes=30),
        window=Interval(day, day + timedelta(days=1)),
        now=day - timedelta(days=1),
    )
    starts = [slot.start for slot in slot_times(query, calendars)]
    assert starts[0] == day.replace(hour=12)
    assert starts[-1] == day.replace(hour=16, minute=30)
    assert len(starts) == 19


def test_appointments_loaded_as_ticks_read_as_the_same_datetimes():
    start = datetime(2026, 3, 1, 22, 0, 0, 3, tzinfo=UTC)
    visit = Interval(start, start + timedelta(minutes=30))
    ticks = (to_ticks(visit.start), to_ticks(visit.end))
    assert from_ticks(ticks[0]) == start
    for packed in (EpochIntervals([ticks]), EpochIntervals.lazy(lambda: [ticks])):
        assert list(packed) == [visit]
        assert packed[0] == visit
        assert len(packed) == 1
