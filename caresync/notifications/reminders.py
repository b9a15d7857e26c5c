"""Appointment reminders: armed when an appointment is booked, re-armed when it moves,
cancelled when it is; sent by a periodic task exactly once per appointment and offset.

Offsets come from the organization's reminder schedule for the service, else its default
schedule, else ``REMINDER_OFFSETS_MINUTES``. Whole-day offsets keep the wall-clock time
("the day before at the same time", also across a daylight-saving change); shorter ones
are exact durations. A reminder whose time has already passed when it is armed is
skipped, and when several are overdue only the nearest to the start is sent."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from caresync.notifications.models import OutboxEvent, Reminder, ReminderSchedule

R = Reminder.Status
ACTIVE_STATUSES = ("scheduled", "confirmed")


def reminder_offsets(appointment) -> list[int]:
    schedules = {
        s.service_id: s
        for s in ReminderSchedule.objects.filter(
            Q(service_id=appointment.service_id) | Q(service__isnull=True),
            organization_id=appointment.organization_id,
            is_active=True,
        )
    }
    chosen = schedules.get(appointment.service_id) or schedules.get(None)
    offsets = chosen.offsets_minutes if chosen else settings.REMINDER_OFFSETS_MINUTES
    return sorted({int(m) for m in offsets if int(m) > 0}, reverse=True)


def reminder_due_at(start: datetime, offset_minutes: int, zone: str) -> datetime:
    if offset_minutes % 1440 == 0:
        local = start.astimezone(ZoneInfo(zone))
        wall = local.replace(tzinfo=None) - timedelta(days=offset_minutes // 1440)
        return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return start - timedelta(minutes=offset_minutes)


def reminders_arm(appointment, *, now: datetime | None = None) -> None:
    """Bring the appointment's reminders in line with its time and status (in the
    caller's transaction)."""
    from caresync.notifications.fanout import appointment_zone

    now = now or timezone.now()
    existing = {r.offset_minutes: r for r in appointment.reminders.all()}
    if appointment.status not in ACTIVE_STATUSES:
        appointment.reminders.filter(status=R.PENDING).update(status=R.CANCELLED)
        return
    zone = appointment_zone(appointment)
    offsets = reminder_offsets(appointment)
    new = []
    for offset in offsets:
        due = reminder_due_at(appointment.start, offset, zone)
        reminder = existing.get(offset)
        state = R.PENDING if due > now else R.SKIPPED
        if reminder is None:
            new.append(
                Reminder(
                    appointment=appointment,
                    offset_minutes=offset,
                    due_at=due,
                    armed_for=appointment.start,
                    status=state,
                )
            )
        elif reminder.armed_for != appointment.start or reminder.status == R.CANCELLED:
            # Moved (or back after a cancellation): remind again, for the new time.
            reminder.due_at, reminder.armed_for, reminder.status = due, appointment.start, state
            reminder.sent_at = None
            reminder.save(update_fields=["due_at", "armed_for", "status", "sent_at"])
    Reminder.objects.bulk_create(new)
    if set(existing) - set(offsets):
        appointment.reminders.filter(status=R.PENDING).exclude(offset_minutes__in=offsets).update(
            status=R.CANCELLED
        )


def reminders_follow(event: OutboxEvent) -> None:
    """Keep reminders in step with appointment events (called with every outbox event)."""
    if not event.kind.startswith("appointment.") or event.kind == "appointment.reminder":
        return
    from caresync.scheduling.models import Appointment

    appointment = (
        Appointment.objects.select_related("location", "practitioner__organization")
        .filter(pk=(event.payload or {}).get("appointment"))
        .first()
    )
    if appointment is not None:
        reminders_arm(appointment)


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Send every reminder that is due, once: each is claimed (pending → sent) in the
    transaction that records its outbox event and notifications. Returns how many."""
    now = now or timezone.now()
    sent = 0
    due = (
        Reminder.objects.filter(status=R.PENDING, due_at__lte=now)
        .select_related("appointment__organization")
        .order_by("appointment_id", "offset_minutes")
    )
    seen_appointments = set()
    for reminder in due:
        appointment = reminder.appointment
        nearest = reminder.appointment_id not in seen_appointments
        seen_appointments.add(reminder.appointment_id)
        with transaction.atomic():
            usable = (
                nearest
                and appointment.status in ACTIVE_STATUSES
                and appointment.start == reminder.armed_for
                and appointment.start > now
            )
            claimed = Reminder.objects.filter(pk=reminder.pk, status=R.PENDING).update(
                status=R.SENT if usable else R.SKIPPED, sent_at=now if usable else None
            )
            if not claimed or not usable:
                continue
            from caresync.notifications.outbox import domain_event_record

            event = domain_event_record(
                kind="appointment.reminder",
                subject=appointment,
                organization=appointment.organization,
                payload={
                    "appointment": appointment.pk,
                    "patient": appointment.patient_id,
                    "practitioner": appointment.practitioner_id,
                    "offset_minutes": reminder.offset_minutes,
                    "start": appointment.start.isoformat(),
                },
            )
            Reminder.objects.filter(pk=reminder.pk).update(outbox_event=event)
            sent += 1
    return sent
