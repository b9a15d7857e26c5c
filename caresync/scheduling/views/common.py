"""What the scheduling pages (and the dashboards) share: zones, status tones and colours,
local wall times, audited display."""

from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from caresync.accounts.views import authorize_page
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import (
    patient_reads_record,
    practitioner_list,
)
from caresync.scheduling.forms import (
    local_midnight,
)
from caresync.scheduling.models import Appointment
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.slots import Interval, Slot

S = Appointment.Status
BOOKING_DAYS = 14
ACTION_PERMISSIONS = {
    "cancel": "appointment.cancel",
    "confirm": "appointment.confirm",
    "accept": "appointment.confirm",
    "decline": "appointment.confirm",
}
# (button label, what the success message says happened, needs a reason, tone)
ACTIONS = {
    "approve": ("Approve request", "approved", False, "primary"),
    "accept": ("Accept the new time", "accepted", False, "primary"),
    "confirm": ("Confirm", "confirmed", False, "primary"),
    "check_in": ("Check in", "checked in", False, "primary"),
    "start": ("Start visit", "started", False, "primary"),
    "complete": ("Complete", "completed", False, "primary"),
    "decline": ("Decline", "declined", False, "secondary"),
    "no_show": ("Mark no-show", "marked as a no-show", False, "secondary"),
    "reject": ("Reject request", "rejected", True, "danger"),
    "cancel": ("Cancel appointment", "cancelled", True, "danger"),
}
STATUS_TONES = {
    S.REQUESTED: "warning",
    S.PROPOSED: "info",
    S.SCHEDULED: "info",
    S.CONFIRMED: "ok",
    S.CHECKED_IN: "brand",
    S.IN_PROGRESS: "brand",
    S.COMPLETED: "neutral",
    S.CANCELLED: "danger",
    S.REJECTED: "danger",
    S.NO_SHOW: "danger",
}
# Calendar event colours (background, text); dark enough for white text at AA.
STATUS_COLOURS = {
    S.REQUESTED: ("#a24a05", "#ffffff"),
    S.PROPOSED: ("#6d28d9", "#ffffff"),
    S.SCHEDULED: ("#1d4ed8", "#ffffff"),
    S.CONFIRMED: ("#0f766e", "#ffffff"),
    S.CHECKED_IN: ("#067647", "#ffffff"),
    S.IN_PROGRESS: ("#134e4a", "#ffffff"),
    S.COMPLETED: ("#56657a", "#ffffff"),
    S.NO_SHOW: ("#b42318", "#ffffff"),
}
HIDDEN_ON_CALENDAR = (S.CANCELLED, S.REJECTED)
QUEUE_HIDDEN = (S.CANCELLED, S.REJECTED)


# --- Shared helpers (also used by the dashboards) -----------------------------------------


def organization_zone(organization) -> ZoneInfo:
    return ZoneInfo(organization.time_zone or "UTC")


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` as a naive wall-clock time in ``zone``. Templates get naive local times:
    the ``date``/``time`` filters would convert aware ones to the active zone (UTC)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def appointment_zone(appointment: Appointment) -> ZoneInfo:
    """Appointments show in their location's zone, else the organization's."""
    if appointment.location_id and appointment.location.time_zone:
        return ZoneInfo(appointment.location.time_zone)
    return organization_zone(appointment.organization)


def decorate(appointments) -> list[Appointment]:
    """Local start/end and the status pill tone, for templates."""
    rows = list(appointments)
    for appointment in rows:
        zone = appointment_zone(appointment)
        appointment.local_start = wall(appointment.start, zone)
        appointment.local_end = wall(appointment.end, zone)
        appointment.zone_name = str(zone)
        appointment.tone = STATUS_TONES.get(appointment.status, "neutral")
    return rows


def audit_shown(actor: Actor, appointments) -> None:
    """Record that clinic members were shown these patients (once per patient)."""
    patients = {a.patient_id: a.patient for a in appointments}
    if patients:
        patient_reads_record(actor=actor, patients=patients.values())


def local_day(organization, day: date | None = None) -> Interval:
    zone = organization_zone(organization)
    day = day or timezone.localdate(timezone=zone)
    return Interval(local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone))


def is_clinic(actor: Actor) -> bool:
    return bool(actor.roles & policy.CLINIC)


def dashboard_appointments(*, actor: Actor, role: str) -> dict:
    """The appointment panels and counts of the practitioner, staff and patient dashboards."""
    if actor.organization is None or role not in {"practitioner", "staff", "patient"}:
        return {}
    appointments = appointment_list(actor=actor)
    now = timezone.now()
    if role == "patient":
        upcoming = decorate(
            appointments.filter(end__gte=now, status__in=Appointment.BLOCKING).order_by("start")[:5]
        )
        return {"upcoming": upcoming, "next_visit": upcoming[0] if upcoming else None}
    today = local_day(actor.organization)
    rows = appointments.filter(start__gte=today.start, start__lt=today.end).exclude(
        status__in=QUEUE_HIDDEN
    )
    if role == "practitioner":
        rows = rows.filter(practitioner__user=actor.user)
    rows = decorate(rows.order_by("start"))
    audit_shown(actor, rows)
    waiting = [a for a in rows if a.status == S.CHECKED_IN]
    context = {
        "today_appointments": rows,
        "today_count": len(rows),
        "waiting_count": len(waiting),
        "checkins": [a for a in rows if a.status in (S.CHECKED_IN, S.IN_PROGRESS)],
        "can_check_in": can(actor, "appointment.manage"),
    }
    if role == "practitioner":
        context["own_practitioner"] = practitioner_list(actor=actor).filter(user=actor.user).first()
    return context


def safe_next(request, fallback: str) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def clinic_actor(request) -> Actor:
    actor = authorize_page(request, "appointment.list")
    if not is_clinic(actor):
        raise PermissionDenied("The calendar is for clinic members.")
    return actor


def utc_text(moment: datetime) -> str:
    """A slot time as a form value (UTC, whole seconds)."""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_days(slots: list[Slot], first_day: date, single: bool) -> dict[date, list[Slot]]:
    """Slots by local day; "any practitioner" shows each start time once."""
    by_day: dict[date, list[Slot]] = {
        first_day + timedelta(days=i): [] for i in range(BOOKING_DAYS)
    }
    seen: set[datetime] = set()
    for slot in sorted(slots, key=lambda s: (s.start, s.practitioner_id)):
        if not single and slot.start in seen:
            continue
        seen.add(slot.start)
        by_day.setdefault(slot.local_start.date(), []).append(slot)
    return by_day


def alternatives_shown(actor: Actor, exc: ApplicationError, zone: ZoneInfo) -> list[dict]:
    """The nearest free times a 409 ``slot_unavailable`` offered, for a template."""
    offered = exc.extra.get("alternatives", [])
    names = {
        p.pk: str(p)
        for p in practitioner_list(actor=actor).filter(pk__in={a["practitioner"] for a in offered})
    }
    rows = []
    for alternative in offered:
        start = datetime.fromisoformat(alternative["start"])
        rows.append(
            {
                "value": utc_text(start),
                "local_start": wall(start, zone),
                "practitioner": names.get(alternative["practitioner"], ""),
            }
        )
    return rows


def query_url(base: dict | None = None, **params) -> str:
    """``?a=1&b=2`` from ``base`` updated with ``params``, leaving out empty values."""
    merged = {**(base or {}), **params}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})
