"""Property-based tests of the pure slot engine."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from caresync.scheduling.slots import (
    Interval,
    PractitionerCalendar,
    ResourceCalendar,
    SlotQuery,
    WeeklyRule,
    availability,
    local_instant,
    merge,
    slot_times,
    slots_for,
    subtract,
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
