"""Recurring series: RRULE expansion in local wall time (property-based), all-or-nothing
booking with a conflict preview, cancelling one occurrence or the rest, moving the rest."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from caresync.core.errors import ApplicationError
from caresync.core.models import AuditEvent
from caresync.scheduling.models import Appointment, AppointmentSeries
from caresync.scheduling.services import appointment_book, appointment_transition
from caresync.scheduling.services.series import (
    MAX_OCCURRENCES,
    Recurrence,
    appointment_series_book,
    appointment_series_cancel,
    appointment_series_preview,
    appointment_series_reschedule,
    occurrence_starts,
    recurrence_parse,
)
from caresync.scheduling.tests.conftest import NOW

SYDNEY = ZoneInfo("Australia/Sydney")
ZONES = ["Australia/Sydney", "America/New_York", "Asia/Kathmandu"]
# Tuesday 3 March 2026, 09:00 in Sydney (AEDT, UTC+11). Sydney's clocks go back on Sunday
# 5 April, so a six-week Tuesday series has five occurrences at UTC+11 and one at UTC+10.
TUESDAY_NINE = datetime(2026, 3, 3, 9, tzinfo=SYDNEY)


def local(moment: datetime, zone=SYDNEY) -> datetime:
    return moment.astimezone(zone)


# --- Expansion: a pure function -----------------------------------------------------------

first_starts = st.builds(
    lambda day, hour, quarter: (day, time(hour, quarter * 15)),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 12, 31)),
    st.integers(min_value=6, max_value=20),  # clear of the 02:00–03:00 DST gaps
    st.integers(min_value=0, max_value=3),
)


@settings(max_examples=150, deadline=None)
@given(
    first=first_starts,
    zone_name=st.sampled_from(ZONES),
    interval=st.integers(min_value=1, max_value=4),
    count=st.integers(min_value=1, max_value=MAX_OCCURRENCES),
)
def test_every_occurrence_keeps_the_first_local_wall_time(first, zone_name, interval, count):
    zone = ZoneInfo(zone_name)
    day, at = first
    starts = occurrence_starts(
        first_start=datetime.combine(day, at, tzinfo=zone),
        recurrence=f"FREQ=WEEKLY;INTERVAL={interval};COUNT={count}",
        time_zone=zone_name,
    )
    assert len(starts) == count
    walls = [moment.astimezone(zone) for moment in starts]
    assert {w.time() for w in walls} == {at}
    assert [w.date() for w in walls] == [day + timedelta(weeks=interval * i) for i in range(count)]
    assert all(moment.tzinfo is not None for moment in starts)


@settings(max_examples=150, deadline=None)
@given(
    first=first_starts,
    zone_name=st.sampled_from(ZONES),
    interval=st.integers(min_value=1, max_value=4),
    days=st.integers(min_value=0, max_value=400),
)
def test_until_is_inclusive_and_never_passed(first, zone_name, interval, days):
    zone = ZoneInfo(zone_name)
    day, at = first
    until = day + timedelta(days=days)
    expected = days // (7 * interval) + 1
    rule = f"FREQ=WEEKLY;INTERVAL={interval};UNTIL={until:%Y%m%d}"
    if expected > MAX_OCCURRENCES:
        with pytest.raises(ApplicationError) as refused:
            occurrence_starts(
                first_start=datetime.combine(day, at, tzinfo=zone),
                recurrence=rule,
                time_zone=zone_name,
            )
        assert refused.value.code == "invalid_rrule"
        return
    starts = occurrence_starts(
        first_start=datetime.combine(day, at, tzinfo=zone), recurrence=rule, time_zone=zone_name
    )
    assert len(starts) == expected
    assert starts[-1].astimezone(zone).date() <= until
    assert starts[-1].astimezone(zone).date() + timedelta(weeks=interval) > until


@settings(max_examples=100, deadline=None)
@given(
    first=first_starts,
    zone_name=st.sampled_from(ZONES),
    extra_days=st.sets(st.integers(min_value=0, max_value=6), max_size=6),
    count=st.integers(min_value=1, max_value=30),
)
def test_byday_occurrences_fall_on_those_weekdays_at_the_same_wall_time(
    first, zone_name, extra_days, count
):
    zone = ZoneInfo(zone_name)
    day, at = first
    weekdays = sorted(extra_days | {day.weekday()})
    codes = ",".join(["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d] for d in weekdays)
    starts = occurrence_starts(
        first_start=datetime.combine(day, at, tzinfo=zone),
        recurrence=f"FREQ=WEEKLY;BYDAY={codes};COUNT={count}",
        time_zone=zone_name,
    )
    walls = [moment.astimezone(zone) for moment in starts]
    assert len(starts) == count
    assert walls[0].date() == day
    assert all(w.weekday() in weekdays and w.time() == at for w in walls)
    assert starts == sorted(set(starts))


@given(
    st.builds(
        Recurrence,
        interval=st.integers(min_value=1, max_value=26),
        weekdays=st.sets(st.integers(min_value=0, max_value=6)).map(lambda s: tuple(sorted(s))),
        count=st.integers(min_value=1, max_value=52),
    )
)
def test_the_canonical_text_parses_back_to_the_same_rule(recurrence):
    assert recurrence_parse(recurrence.text) == recurrence


def test_sydney_nine_oclock_stays_nine_when_the_clocks_go_forward_in_october():
    # Sydney springs forward on Sunday 4 October 2026: UTC+10 before, UTC+11 after.
    starts = occurrence_starts(
        first_start=datetime(2026, 9, 24, 9, tzinfo=SYDNEY),
        recurrence="FREQ=WEEKLY;COUNT=3",
        time_zone="Australia/Sydney",
    )
    assert [local(s).strftime("%a %d %b %H:%M") for s in starts] == [
        "Thu 24 Sep 09:00",
        "Thu 01 Oct 09:00",
        "Thu 08 Oct 09:00",
    ]
    assert [s.astimezone(UTC).strftime("%d %H:%M") for s in starts] == [
        "23 23:00",
        "30 23:00",
        "07 22:00",
    ]


def test_a_wall_time_in_the_spring_forward_gap_moves_forward_that_week_only():
    # New York springs forward on Sunday 8 March 2026 at 02:00.
    new_york = ZoneInfo("America/New_York")
    starts = occurrence_starts(
        first_start=datetime(2026, 3, 1, 2, 30, tzinfo=new_york),
        recurrence="FREQ=WEEKLY;COUNT=3",
        time_zone="America/New_York",
    )
    assert [s.astimezone(new_york).strftime("%d %H:%M") for s in starts] == [
        "01 02:30",
        "08 03:30",
        "15 02:30",
    ]


def test_until_as_a_utc_instant_ends_the_series_at_that_moment():
    starts = occurrence_starts(
        first_start=TUESDAY_NINE,
        # 09:00 on Tuesday 17 March in Sydney is 22:00 UTC on the 16th: included.
        recurrence="FREQ=WEEKLY;UNTIL=20260316T220000Z",
        time_zone="Australia/Sydney",
    )
    assert [local(s).day for s in starts] == [3, 10, 17]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("FREQ=DAILY;COUNT=3", "weekly"),
        ("FREQ=WEEKLY", "exactly one of COUNT or UNTIL"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20260601", "exactly one of COUNT or UNTIL"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=WEEKLY;COUNT=53", "COUNT"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "INTERVAL"),
        ("FREQ=WEEKLY;BYMONTHDAY=1;COUNT=3", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYDAY=1MO;COUNT=3", "BYDAY"),
        ("FREQ=WEEKLY;UNTIL=2026-06-01", "UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20260231", "calendar date"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "twice"),
        ("weekly please", "NAME=VALUE"),
        ("", "FREQ=WEEKLY"),
        ("FREQ=WEEKLY;UNTIL=20300101", "at most 52"),
        ("FREQ=WEEKLY;BYDAY=WE,TH;COUNT=3", "weekday of the first occurrence (TU)"),
        ("FREQ=WEEKLY;UNTIL=20260301", "before the first occurrence"),
    ],
)
def test_unsupported_rules_are_refused_with_a_reason(rule, says):
    with pytest.raises(ApplicationError) as refused:
        occurrence_starts(first_start=TUESDAY_NINE, recurrence=rule, time_zone="Australia/Sydney")
    error = refused.value
    assert (error.code, error.status_code) == ("invalid_rrule", 400)
    assert says in error.fields["rrule"][0]["message"]


# --- Booking a series -------------------------------------------------------------------


def book_series(clinic, rrule="FREQ=WEEKLY;COUNT=6", first_start=TUESDAY_NINE, **extra):
    return appointment_series_book(
        actor=clinic.tenant.staff,
        organization=clinic.tenant.organization,
        patient=extra.pop("patient", clinic.patient),
        practitioner=extra.pop("practitioner", clinic.doctor),
        service=extra.pop("service", clinic.consult),
        first_start=first_start,
        rrule=rrule,
        now=NOW,
        **extra,
    )


def preview(clinic, rrule="FREQ=WEEKLY;COUNT=6", first_start=TUESDAY_NINE):
    return appointment_series_preview(
        organization=clinic.tenant.organization,
        patient=clinic.patient,
        practitioner=clinic.doctor,
        service=clinic.consult,
        first_start=first_start,
        rrule=rrule,
        now=NOW,
    )


def book_one(clinic, start, patient=None):
    return appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=patient or clinic.other_patient,
        service=clinic.consult,
        start=start,
        practitioner=clinic.doctor,
        now=NOW,
    )


def occurrences(series):
    return list(series.appointments.order_by("start"))


@pytest.mark.django_db
def test_a_weekly_series_books_every_occurrence_at_nine_across_the_dst_change(clinic):
    series = book_series(clinic, reason="Physio block")
    booked = occurrences(series)
    assert len(booked) == 6
    assert {local(a.start).time() for a in booked} == {time(9)}
    assert [local(a.start).day for a in booked] == [3, 10, 17, 24, 31, 7]
    # The same wall time is a different UTC time once the clocks go back.
    assert [a.start.astimezone(UTC).hour for a in booked] == [22, 22, 22, 22, 22, 23]
    assert {a.status for a in booked} == {"scheduled"}
    assert {a.practitioner_id for a in booked} == {clinic.doctor.pk}
    assert (series.status, series.time_zone, series.rrule) == (
        "active",
        "Australia/Sydney",
        "FREQ=WEEKLY;COUNT=6",
    )
    assert series.first_start == TUESDAY_NINE
    assert AuditEvent.objects.filter(
        action="create",
        object_type="scheduling.appointmentseries",
        object_id=str(series.pk),
        patient_id=str(clinic.patient.pk),
    ).exists()


@pytest.mark.django_db
def test_one_taken_occurrence_books_nothing_and_the_conflict_names_it(clinic):
    taken = book_one(clinic, datetime(2026, 3, 17, 9, tzinfo=SYDNEY))
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, rrule="FREQ=WEEKLY;COUNT=4")
    error = refused.value
    assert (error.code, error.status_code) == ("series_conflict", 409)
    (conflict,) = error.extra["conflicts"]
    assert datetime.fromisoformat(conflict["start"]) == taken.start
    assert conflict["code"] == "slot_unavailable"
    assert 1 <= len(conflict["alternatives"]) <= 3
    series_times = {datetime(2026, 3, d, 9, tzinfo=SYDNEY) for d in (3, 10, 17, 24)}
    assert not {datetime.fromisoformat(a["start"]) for a in conflict["alternatives"]} & (
        series_times
    )
    assert list(Appointment.objects.all()) == [taken]
    assert not AppointmentSeries.objects.exists()


@pytest.mark.django_db
def test_easter_monday_makes_a_monday_series_fail_as_outside_availability(clinic):
    with pytest.raises(ApplicationError) as refused:
        book_series(
            clinic,
            rrule="FREQ=WEEKLY;COUNT=6",
            first_start=datetime(2026, 3, 2, 9, tzinfo=SYDNEY),
        )
    (conflict,) = refused.value.extra["conflicts"]
    assert local(datetime.fromisoformat(conflict["start"])).date() == date(2026, 4, 6)
    assert conflict["code"] == "outside_availability"
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_the_patients_own_appointment_elsewhere_is_a_conflict_too(clinic):
    appointment_book(
        actor=None,
        organization=clinic.tenant.organization,
        patient=clinic.patient,
        service=clinic.consult,
        start=datetime(2026, 3, 10, 9, 15, tzinfo=SYDNEY),
        practitioner=clinic.second_doctor,
        now=NOW,
    )
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, rrule="FREQ=WEEKLY;COUNT=3")
    (conflict,) = refused.value.extra["conflicts"]
    assert local(datetime.fromisoformat(conflict["start"])).day == 10
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_the_preview_says_what_booking_would_and_writes_nothing(clinic):
    taken = book_one(clinic, datetime(2026, 3, 17, 9, tzinfo=SYDNEY))
    audit_rows = AuditEvent.objects.count()
    checks = preview(clinic, rrule="FREQ=WEEKLY;COUNT=4")
    assert [c.bookable for c in checks] == [True, True, False, True]
    assert [local(c.start).day for c in checks] == [3, 10, 17, 24]
    assert (Appointment.objects.count(), AuditEvent.objects.count()) == (1, audit_rows)

    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, rrule="FREQ=WEEKLY;COUNT=4")
    (conflict,) = refused.value.extra["conflicts"]
    blocked = checks[2].payload()
    assert {k: conflict[k] for k in ("start", "code", "alternatives")} == {
        k: blocked[k] for k in ("start", "code", "alternatives")
    }
    assert list(Appointment.objects.all()) == [taken]

    # Once the clash is gone, every occurrence previewed as bookable books.
    appointment_transition(
        actor=None, appointment=taken, action="cancel", reason="Moved away", now=NOW
    )
    assert all(c.bookable for c in preview(clinic, rrule="FREQ=WEEKLY;COUNT=4"))
    assert len(occurrences(book_series(clinic, rrule="FREQ=WEEKLY;COUNT=4"))) == 4


@pytest.mark.django_db
def test_the_preview_gives_bookings_reasons_for_easter_and_short_notice(clinic):
    checks = preview(
        clinic, first_start=datetime(2026, 3, 30, 9, tzinfo=SYDNEY), rrule="FREQ=WEEKLY;COUNT=3"
    )
    assert [(local(c.start).day, c.code) for c in checks if not c.bookable] == [
        (6, "outside_availability")
    ]
    soon = preview(clinic, first_start=NOW + timedelta(minutes=30), rrule="FREQ=WEEKLY;COUNT=2")
    assert soon[0].code == "too_soon"


@pytest.mark.django_db
def test_a_series_past_the_booking_horizon_is_refused_before_anything_is_booked(clinic):
    # Consult books 90 days ahead: to 21 May 2026 from 20 February.
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, rrule="FREQ=WEEKLY;COUNT=13")
    assert refused.value.code == "invalid_rrule"
    assert "end the series by 21 May 2026" in refused.value.fields["rrule"][0]["message"]
    assert not Appointment.objects.exists()
    assert not AppointmentSeries.objects.exists()


@pytest.mark.django_db
def test_a_bad_rule_is_a_400_and_changes_nothing(clinic):
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, rrule="FREQ=MONTHLY;COUNT=3")
    assert (refused.value.code, refused.value.status_code) == ("invalid_rrule", 400)
    assert not Appointment.objects.exists()
    assert not AppointmentSeries.objects.exists()


@pytest.mark.django_db
def test_a_practitioner_who_does_not_offer_the_service_is_refused(clinic):
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, service=clinic.mri, practitioner=clinic.second_doctor)
    assert refused.value.code == "practitioner_not_offering"


@pytest.mark.django_db
def test_another_organizations_patient_is_not_found(clinic, tenant_b):
    from caresync.directory.services import patient_create

    stranger = patient_create(
        actor=None,
        organization=tenant_b.organization,
        given_name="Bo",
        family_name="Far",
        date_of_birth=date(1990, 1, 1),
    )
    with pytest.raises(ApplicationError) as refused:
        book_series(clinic, patient=stranger)
    assert refused.value.status_code == 404


# --- Cancelling ----------------------------------------------------------------------------


def cancel(series, **options):
    options.setdefault("reason", "Patient moving interstate")
    options.setdefault("now", NOW)
    return appointment_series_cancel(actor=None, series=series, **options)


@pytest.mark.django_db
def test_cancelling_one_occurrence_leaves_the_rest_booked(clinic):
    series = book_series(clinic)
    third = occurrences(series)[2]
    cancel(series, from_appointment=third, only_this=True)
    assert [a.status for a in occurrences(series)] == ["scheduled"] * 2 + ["cancelled"] + [
        "scheduled"
    ] * 3
    series.refresh_from_db()
    assert series.status == "active"


@pytest.mark.django_db
def test_cancelling_this_and_following_keeps_the_earlier_occurrences(clinic):
    series = book_series(clinic)
    cancel(series, from_appointment=occurrences(series)[3])
    assert [a.status for a in occurrences(series)] == ["scheduled"] * 3 + ["cancelled"] * 3
    series.refresh_from_db()
    assert series.status == "active"
    assert AuditEvent.objects.filter(
        action="update", object_type="scheduling.appointmentseries", object_id=str(series.pk)
    ).exists()


@pytest.mark.django_db
def test_cancelling_the_whole_rest_frees_the_times_and_cancels_the_series(clinic):
    series = book_series(clinic)
    cancel(series)
    assert {a.status for a in occurrences(series)} == {"cancelled"}
    series.refresh_from_db()
    assert series.status == "cancelled"
    # The freed times are bookable again.
    assert book_one(clinic, TUESDAY_NINE).status == "scheduled"


@pytest.mark.django_db
def test_a_series_whose_first_visit_took_place_has_ended_once_the_rest_is_cancelled(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=3")
    first, second, _ = occurrences(series)
    after = first.end + timedelta(minutes=5)
    for action in ("check_in", "start", "complete"):
        appointment_transition(actor=None, appointment=first, action=action, now=after)
    cancel(series, now=after)
    series.refresh_from_db()
    assert series.status == "ended"
    assert [a.status for a in occurrences(series)] == ["completed", "cancelled", "cancelled"]


@pytest.mark.django_db
def test_a_patient_inside_the_cancellation_window_cancels_nothing(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=3")
    first, second, _ = occurrences(series)
    twelve_hours_before = first.start - timedelta(hours=12)
    with pytest.raises(ApplicationError) as refused:
        cancel(series, from_appointment=first, by_patient=True, now=twelve_hours_before)
    assert (refused.value.code, refused.value.status_code) == ("cancellation_window", 409)
    assert refused.value.extra["occurrence"]["appointment"] == first.pk
    assert {a.status for a in occurrences(series)} == {"scheduled"}
    # From the next occurrence on, outside the window, it works.
    cancel(series, from_appointment=second, by_patient=True, now=twelve_hours_before)
    assert [a.status for a in occurrences(series)] == ["scheduled", "cancelled", "cancelled"]


@pytest.mark.django_db
def test_an_appointment_of_another_series_is_not_a_starting_point(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=2")
    other = book_series(
        clinic,
        rrule="FREQ=WEEKLY;COUNT=2",
        first_start=datetime(2026, 3, 4, 9, tzinfo=SYDNEY),
    )
    with pytest.raises(ApplicationError) as refused:
        cancel(series, from_appointment=occurrences(other)[0])
    assert refused.value.code == "not_in_series"
    assert not Appointment.objects.filter(status="cancelled").exists()


@pytest.mark.django_db
def test_nothing_left_to_cancel_is_a_409(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=2")
    cancel(series)
    with pytest.raises(ApplicationError) as refused:
        cancel(series)
    assert refused.value.code == "nothing_to_cancel"


# --- Moving the rest ------------------------------------------------------------------------


def move(series, **options):
    options.setdefault("now", NOW)
    return appointment_series_reschedule(actor=None, series=series, **options)


@pytest.mark.django_db
def test_moving_the_rest_keeps_the_new_wall_time_across_the_dst_change(clinic):
    series = book_series(clinic)
    move(series, from_appointment=occurrences(series)[2], at=time(10, 30), reason="New hours")
    booked = occurrences(series)
    assert [local(a.start).strftime("%d %H:%M") for a in booked] == [
        "03 09:00",
        "10 09:00",
        "17 10:30",
        "24 10:30",
        "31 10:30",
        "07 10:30",
    ]
    assert booked[2].events.filter(from_start__isnull=False).exists()


@pytest.mark.django_db
def test_moving_a_day_later_works_even_where_occurrences_land_on_each_other(clinic):
    # Tuesdays and Wednesdays at 09:00 move to Wednesdays and Thursdays: each Tuesday lands
    # on the time its Wednesday held, so the later ones must move first.
    series = book_series(clinic, rrule="FREQ=WEEKLY;BYDAY=TU,WE;COUNT=4")
    move(series, at=time(9), days=1)
    assert [local(a.start).strftime("%a %d %H:%M") for a in occurrences(series)] == [
        "Wed 04 09:00",
        "Thu 05 09:00",
        "Wed 11 09:00",
        "Thu 12 09:00",
    ]


@pytest.mark.django_db
def test_a_taken_target_time_moves_nothing_and_is_listed(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=3")
    before = [a.start for a in occurrences(series)]
    book_one(clinic, datetime(2026, 3, 10, 14, tzinfo=SYDNEY))
    with pytest.raises(ApplicationError) as refused:
        move(series, at=time(14))
    error = refused.value
    assert (error.code, error.status_code) == ("series_conflict", 409)
    (conflict,) = error.extra["conflicts"]
    assert local(datetime.fromisoformat(conflict["start"])).day == 10
    assert conflict["appointment"] == occurrences(series)[1].pk
    assert [a.start for a in occurrences(series)] == before


@pytest.mark.django_db
def test_a_patient_may_not_move_an_occurrence_inside_the_window(clinic):
    series = book_series(clinic, rrule="FREQ=WEEKLY;COUNT=2")
    first = occurrences(series)[0]
    with pytest.raises(ApplicationError) as refused:
        move(series, at=time(11), by_patient=True, now=first.start - timedelta(hours=2))
    assert refused.value.code == "cancellation_window"
    assert {local(a.start).hour for a in occurrences(series)} == {9}


# --- Demo data -----------------------------------------------------------------------------


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 4, 5, tzinfo=UTC), tick=False)
def test_the_demo_has_series_with_past_visits_done_and_is_seeded_once():
    from django.core.management import call_command

    call_command("seed_demo", quiet_logins=True)
    all_series = list(AppointmentSeries.objects.select_related("organization"))
    assert len(all_series) == 4  # two in each demo organization
    for series in all_series:
        zone = ZoneInfo(series.time_zone)
        visits = list(series.appointments.order_by("start"))
        assert len({v.start.astimezone(zone).time() for v in visits}) == 1
        past = [v.status for v in visits if v.end < datetime.now(tz=UTC)]
        assert set(past) <= {"completed"}
    weekly = [s for s in all_series if s.rrule == "FREQ=WEEKLY;COUNT=6"]
    for series in weekly:  # begun before today: some visits done, the rest to come
        statuses = list(series.appointments.values_list("status", flat=True))
        assert "completed" in statuses and "scheduled" in statuses
        assert series.patient.user.email == f"patient1@{series.organization.slug}.test"
    fortnightly = [s for s in all_series if "INTERVAL=2" in s.rrule]
    assert all(s.appointments.filter(status="cancelled").count() == 1 for s in fortnightly)

    call_command("seed_demo", quiet_logins=True)
    assert AppointmentSeries.objects.count() == 4
