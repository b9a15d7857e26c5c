"""Demo scheduling: Mon–Fri working hours for every practitioner and a month of past and
future appointments in every status. Idempotent (skipped once an organization has any)."""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from caresync.accounts.models import Organization
from caresync.core.errors import ApplicationError
from caresync.directory.models import Location, Patient, Practitioner, Service
from caresync.scheduling.models import (
    Appointment,
    AppointmentSeries,
    AvailabilityRule,
    WaitlistEntry,
)
from caresync.scheduling.services import (
    appointment_book,
    appointment_reschedule,
    appointment_series_book,
    appointment_series_cancel,
    appointment_transition,
    availability_rule_save,
    slots_search,
    waitlist_join,
    waitlist_offer_freed_slot,
)
from caresync.scheduling.slots import Interval

# Past appointments end in these states; future ones stay booked, confirmed or requested.
PAST_OUTCOMES = [("confirm", "check_in", "start", "complete")] * 6 + [
    ("no_show",),
    ("cancel",),
    ("confirm", "check_in", "start", "complete"),
]
FUTURE_OUTCOMES = [(), (), ("confirm",), (), ("cancel",), ("reschedule",)]
# Today's visits that have started: waiting room, with the practitioner, done.
TODAY_OUTCOMES = [("confirm", "check_in"), ("check_in", "start"), ("check_in", "start", "complete")]
# Requests: approved, rejected, given another time, or still awaiting review.
REQUEST_OUTCOMES = [("approve",), ("approve", "confirm"), ("reject",), ("propose",), ()]
REASONS = {
    "cancel": "Patient rang to cancel",
    "reject": "Please book a longer appointment for this",
    "propose": "The morning list is full",
    "reschedule": "Patient asked for another day",
}


def _moved(appointment: Appointment, propose: bool, now: datetime) -> Appointment:
    """The same time one to three days later, if free (demo data skips it otherwise)."""
    for days in (1, 2, 3):
        try:
            return appointment_reschedule(
                actor=None,
                appointment=appointment,
                start=appointment.start + timedelta(days=days),
                reason=REASONS["propose" if propose else "reschedule"],
                propose=propose,
                now=now,
            )
        except ApplicationError:
            continue
    return appointment


def _rules(organization: Organization, location: Location, practitioners) -> None:
    if AvailabilityRule.objects.filter(organization=organization).exists():
        return
    for practitioner in practitioners:
        for weekday in range(5):
            availability_rule_save(
                actor=None,
                practitioner=practitioner,
                location=location,
                weekday=weekday,
                start_time=time(9),
                end_time=time(12, 30),
            )
            availability_rule_save(
                actor=None,
                practitioner=practitioner,
                location=location,
                weekday=weekday,
                start_time=time(13, 30),
                end_time=time(17),
            )


def _appointments(organization: Organization, rng: random.Random, log) -> None:
    if Appointment.objects.filter(organization=organization).exists():
        return
    zone = ZoneInfo(organization.time_zone)
    today = timezone.localdate(timezone=zone)
    services = list(
        Service.objects.filter(organization=organization, is_active=True).prefetch_related(
            "practitioners"
        )
    )
    patients = list(Patient.objects.filter(organization=organization, is_active=True))
    made = 0
    for offset in range(-14, 15):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for _ in range(8):
            service = rng.choice(services)
            offered = list(service.practitioners.all())
            if not offered:
                continue
            hour = rng.choice([9, 10, 11, 14, 15, 16])
            start = datetime.combine(day, time(hour, rng.choice([0, 15, 30])), tzinfo=zone)
            try:
                appointment = appointment_book(
                    actor=None,
                    organization=organization,
                    patient=rng.choice(patients),
                    service=service,
                    start=start,
                    practitioner=rng.choice(offered),
                    reason=rng.choice(["Check-up", "Follow-up", "New concern", "Results", ""]),
                    now=start - timedelta(days=3),
                )
            except ApplicationError:
                continue  # taken or outside hours: demo data only needs a plausible day
            past = start < timezone.now()
            if offset == 0 and past:
                actions = rng.choice(TODAY_OUTCOMES)
            else:
                actions = rng.choice(PAST_OUTCOMES if past else FUTURE_OUTCOMES)
            if appointment.status == Appointment.Status.REQUESTED:
                actions = ("approve", *actions) if past else rng.choice(REQUEST_OUTCOMES)
            for action in actions:
                at = appointment.end + timedelta(minutes=20) if past else start - timedelta(days=2)
                if action in ("reschedule", "propose"):
                    appointment = _moved(appointment, action == "propose", at)
                    continue
                appointment = appointment_transition(
                    actor=None,
                    appointment=appointment,
                    action=action,
                    reason=REASONS.get(action, ""),
                    now=at,
                )
            made += 1
    log(f"{organization.name}: {made} appointments over four weeks")


# Recurring series: service, practitioner kind, first visit (weeks from this week), rule,
# reason. Past visits took place; the fortnightly review's last visit is cancelled.
SERIES = [
    ("Nurse phone call", "nurse", -2, "FREQ=WEEKLY;COUNT=6", "Weekly blood-pressure check-in"),
    ("GP consultation (30 min)", "doctor", 1, "FREQ=WEEKLY;INTERVAL=2;COUNT=4", "Diabetes review"),
]
SERIES_TIMES = [time(12), time(16, 30), time(9), time(13, 30)]


def _series_booked(organization, patient, practitioners, service, first_day, rrule, reason):
    """The first (weekday, time, practitioner) at which every visit is free, or None.
    Holidays (Easter Monday, Holi…) rule out whole weekdays, so every weekday is tried, and
    a week later too (in Nepal, six weeks from mid-February hold a holiday on every
    weekday)."""
    zone = ZoneInfo(organization.time_zone)
    for days, at, practitioner in (
        (w * 7 + d, t, p)
        for w in (0, 1)
        for d in (1, 2, 3, 4, 5)
        for t in SERIES_TIMES
        for p in practitioners
    ):
        start = datetime.combine(first_day + timedelta(days=days), at, tzinfo=zone)
        try:
            return appointment_series_book(
                actor=None,
                organization=organization,
                patient=patient,
                practitioner=practitioner,
                service=service,
                first_start=start,
                rrule=rrule,
                reason=reason,
                now=start - timedelta(days=1),
            )
        except ApplicationError:
            continue  # a taken time or a holiday: try another day, time or practitioner
    return None


def _series(organization: Organization, log) -> None:
    if AppointmentSeries.objects.filter(organization=organization).exists():
        return
    today = timezone.localdate(timezone=ZoneInfo(organization.time_zone))
    monday = today - timedelta(days=today.weekday())
    # The demo patient login (patient1@…) gets the first series; someone else the second.
    demo_login = f"patient1@{organization.slug}.test"
    patients = sorted(
        Patient.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("pk"),
        key=lambda patient: getattr(patient.user, "email", "") != demo_login,
    )
    made = 0
    for index, (name, kind, weeks, rrule, reason) in enumerate(SERIES):
        service = Service.objects.filter(organization=organization, name=name).first()
        practitioners = list(
            Practitioner.objects.filter(organization=organization, kind=kind, is_active=True)
        )
        if service is None or not practitioners or len(patients) <= index:
            continue
        series = _series_booked(
            organization,
            patients[index],
            practitioners,
            service,
            monday + timedelta(weeks=weeks) - timedelta(days=1),
            rrule,
            reason,
        )
        if series is None:
            continue
        made += 1
        visits = list(series.appointments.order_by("start"))
        for visit in visits:
            if visit.end < timezone.now():
                for action in ("confirm", "check_in", "start", "complete"):
                    appointment_transition(
                        actor=None,
                        appointment=visit,
                        action=action,
                        now=visit.end + timedelta(minutes=5),
                    )
        if index == 1:
            appointment_series_cancel(
                actor=None,
                series=series,
                from_appointment=visits[-1],
                only_this=True,
                reason="Patient away that week",
                now=visits[-1].start - timedelta(days=3),
            )
    log(f"{organization.name}: {made} recurring series")


# (wishes, notes) of the demo waitlist entries; the first (the demo patient login) is offered
# a free time, so the claim page and the waitlist pages have something to show.
WAITLIST = [
    ({}, "Would like to come in sooner if anything frees up."),
    ({"preferred_times": ["morning"]}, "Mornings only (school run after 3)."),
    ({"preferred_times": ["afternoon", "evening"], "earliest_date": 2}, ""),
    ({"latest_date": 21}, "Before the next trip overseas."),
]


def _waitlist(organization: Organization, log) -> None:
    if WaitlistEntry.objects.filter(organization=organization).exists():
        return
    today = timezone.localdate(timezone=ZoneInfo(organization.time_zone))
    demo_login = f"patient1@{organization.slug}.test"
    patients = sorted(
        Patient.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("-pk"),
        key=lambda patient: getattr(patient.user, "email", "") != demo_login,
    )
    services = list(
        Service.objects.filter(
            organization=organization, is_active=True, practitioners__is_active=True
        )
        .distinct()
        .order_by("pk")
    )
    entries = []
    for index, ((wishes, notes), patient) in enumerate(zip(WAITLIST, patients, strict=False)):
        if not services:
            break
        dates = {k: today + timedelta(days=v) for k, v in wishes.items() if k.endswith("date")}
        try:
            entries.append(
                waitlist_join(
                    actor=None,
                    organization=organization,
                    patient=patient,
                    service=services[index % len(services)],
                    preferred_times=wishes.get("preferred_times", ()),
                    notes=notes,
                    **dates,
                )
            )
        except ApplicationError:
            continue
    offered = 0
    if entries:
        first = entries[0]
        now = timezone.now()
        free = slots_search(
            organization=organization,
            service=first.service,
            # Next week or later, clear of the times a visitor books first.
            window=Interval(now + timedelta(days=7), now + timedelta(days=21)),
            patient=first.patient,
        )
        for slot in free[:1]:
            offered = len(
                waitlist_offer_freed_slot(
                    practitioner_id=slot.practitioner_id,
                    start=slot.start,
                    end=slot.end,
                    service_id=first.service_id,
                )
            )
    log(f"{organization.name}: {len(entries)} waitlist entries, {offered} open offer(s)")


def seed(log) -> list:
    rng = random.Random(5)  # noqa: S311 - demo data, reproducible
    for organization in Organization.objects.filter(slug__in=["harbour-health", "himalaya-care"]):
        location = Location.objects.filter(organization=organization).first()
        practitioners = Practitioner.objects.filter(organization=organization, is_active=True)
        if location is None:
            continue
        _rules(organization, location, practitioners)
        _appointments(organization, rng, log)
        _series(organization, log)
        _waitlist(organization, log)
    return []
