"""iCalendar (RFC 5545) documents: a practitioner's subscribed feed and one appointment's
``.ics`` file, built with the ``icalendar`` package.

Times are written in the location's zone (``DTSTART;TZID=Australia/Sydney:…``) with a
matching VTIMEZONE generated from the zone database, so calendar apps show the clinic's
wall time on both sides of a DST change. UIDs are stable per appointment and SEQUENCE grows
with its history, so a rescheduled or cancelled appointment updates the copy a calendar app
already has instead of adding a second one.

PHI minimisation: a practitioner's feed is read by third-party calendar apps and servers,
so its events name the patient by initials only (``A. L. · Consult``) and carry no reason,
notes or diagnosis; the full record is one click away behind sign-in (the event's URL).
A patient's own ``.ics`` names the service, practitioner, place and time, and the
service's preparation instructions.
"""

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event, vDuration

from caresync.directory.models import Patient, Practitioner, Service
from caresync.scheduling.models import Appointment

S = Appointment.Status
# How calendar apps should show each of our statuses.
EVENT_STATUS = {
    S.REQUESTED: "TENTATIVE",
    S.PROPOSED: "TENTATIVE",
    S.SCHEDULED: "CONFIRMED",
    S.CONFIRMED: "CONFIRMED",
    S.CHECKED_IN: "CONFIRMED",
    S.IN_PROGRESS: "CONFIRMED",
    S.COMPLETED: "CONFIRMED",
    S.NO_SHOW: "CONFIRMED",
    S.CANCELLED: "CANCELLED",
    S.REJECTED: "CANCELLED",
}
FEED_REFRESH = timedelta(hours=1)
PRODID = "-//CareSync//Scheduling//EN"


def calendar_host() -> str:
    """The domain part of UIDs: the site's host name, stable whichever URL a client used."""
    return urlsplit(settings.SITE_URL).hostname or "caresync"


def appointment_uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{calendar_host()}"


def patient_initials(patient: Patient) -> str:
    """``Ada Lovelace`` → ``A. L.``: enough for a clinician to recognise a booking."""
    given = (patient.preferred_name or patient.given_name).strip()
    parts = [part for part in (given, patient.family_name.strip()) if part]
    return " ".join(f"{part[0].upper()}." for part in parts) or "Patient"


def _zone_of(appointment: Appointment, default: ZoneInfo) -> ZoneInfo:
    if appointment.location_id and appointment.location.time_zone:
        return ZoneInfo(appointment.location.time_zone)
    return default


def _place(appointment: Appointment) -> str:
    """The location (name, address); remote services say how they happen; else the clinic."""
    if appointment.location_id:
        place = appointment.location
    elif appointment.service.category in (Service.Category.VIDEO, Service.Category.PHONE):
        return appointment.service.get_category_display()
    else:
        place = appointment.organization
    address = " ".join(place.address.split())
    return ", ".join(part for part in (place.name, address) if part)


def _sequence(appointment: Appointment) -> int:
    """Revision number: every recorded transition or move (the first booking is 0)."""
    count = getattr(appointment, "event_count", None)
    if count is None:
        count = appointment.events.count()
    return max(count - 1, 0)


def _event(
    appointment: Appointment, *, zone: ZoneInfo, base_url: str, summary: str, description: str
) -> Event:
    local = _zone_of(appointment, zone)
    status = EVENT_STATUS.get(appointment.status, "CONFIRMED")
    event = Event.new(
        uid=appointment_uid(appointment),
        start=appointment.start.astimezone(local),
        end=appointment.end.astimezone(local),
        summary=summary,
        description=description or None,
        location=_place(appointment),
        status=status,
        sequence=_sequence(appointment),
        created=appointment.created_at.astimezone(UTC),
        last_modified=appointment.updated_at.astimezone(UTC),
        transparency="TRANSPARENT" if status == "CANCELLED" else "OPAQUE",
        url=base_url.rstrip("/") + reverse("appointment-detail", args=[appointment.pk]),
    )
    return event


def _finish(calendar: Calendar, events: list[Event]) -> bytes:
    for event in events:
        calendar.add_component(event)
    if events:
        years = [event.start.year for event in events]
        calendar.add_missing_timezones(
            first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1)
        )
    return calendar.to_ical()


def practitioner_calendar(
    practitioner: Practitioner,
    appointments: Iterable[Appointment],
    zone: ZoneInfo,
    *,
    base_url: str | None = None,
) -> bytes:
    """The practitioner's subscribed feed: one event per appointment, patients by initials.
    ``zone`` is the calendar's zone; each event uses its location's zone when it has one."""
    base_url = base_url or settings.SITE_URL
    calendar = Calendar.new(
        prodid=PRODID,
        name=f"{practitioner} · CareSync",
        description=f"Appointments of {practitioner} at {practitioner.organization.name}",
        uid=f"practitioner-{practitioner.pk}-feed@{calendar_host()}",
        refresh_interval=FEED_REFRESH,
        method="PUBLISH",
    )
    # RFC 7986 requires VALUE=DURATION; X-PUBLISHED-TTL is the older spelling Outlook reads.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    calendar.add("X-WR-TIMEZONE", zone.key)
    events = []
    for appointment in appointments:
        summary = f"{patient_initials(appointment.patient)} · {appointment.service.name}"
        if EVENT_STATUS.get(appointment.status) == "CANCELLED":
            summary = f"{appointment.get_status_display()}: {summary}"
        elif appointment.status in (S.REQUESTED, S.PROPOSED):
            summary = f"{summary} ({appointment.get_status_display().lower()})"
        events.append(
            _event(
                appointment,
                zone=zone,
                base_url=base_url,
                summary=summary,
                description="Details in CareSync (sign-in required).",
            )
        )
    return _finish(calendar, events)


def appointment_calendar(
    appointment: Appointment, zone: ZoneInfo, *, base_url: str | None = None
) -> bytes:
    """One appointment as an ``.ics`` file for the patient's own calendar."""
    base_url = base_url or settings.SITE_URL
    service = appointment.service
    calendar = Calendar.new(
        prodid=PRODID,
        name=f"{service.name} · {appointment.organization.name}",
        uid=f"appointment-{appointment.pk}-calendar@{calendar_host()}",
        method="PUBLISH",
    )
    calendar.add("X-WR-TIMEZONE", zone.key)
    lines = [f"{service.name} with {appointment.practitioner} at {appointment.organization.name}."]
    if service.preparation_instructions.strip():
        lines.append(f"Before your visit: {service.preparation_instructions.strip()}")
    summary = f"{service.name} with {appointment.practitioner}"
    if EVENT_STATUS.get(appointment.status) == "CANCELLED":
        summary = f"{appointment.get_status_display()}: {summary}"
    event = _event(
        appointment,
        zone=zone,
        base_url=base_url,
        summary=summary,
        description="\n\n".join(lines),
    )
    return _finish(calendar, [event])
