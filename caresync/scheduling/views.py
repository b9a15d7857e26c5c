"""Scheduling pages: booking (step by step), appointments (list, detail, lifecycle actions),
the staff calendar and its event feed, and a practitioner's weekly availability.

Every page reads through ``appointment_list``/the directory selectors and writes through
``appointment_book``/``appointment_transition``: the API and these pages share one path."""

from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from csp.constants import NONCE
from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, _paginate, authorize_page
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    patient_search,
    practitioner_list,
    service_list,
)
from caresync.scheduling.forms import (
    ANY,
    AppointmentFilterForm,
    BookingForm,
    CalendarWindowForm,
    TransitionForm,
    local_midnight,
)
from caresync.scheduling.models import Appointment, AppointmentEvent, AvailabilityRule
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.services import (
    TRANSITIONS,
    appointment_book,
    appointment_transition,
    slots_search,
)
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


def _safe_next(request, fallback: str) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def _clinic_actor(request) -> Actor:
    actor = authorize_page(request, "appointment.list")
    if not is_clinic(actor):
        raise PermissionDenied("The calendar is for clinic members.")
    return actor


# --- Booking --------------------------------------------------------------------------------


def _step_url(base: dict | None = None, **params) -> str:
    merged = {**(base or {}), **params}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slot_days(slots: list[Slot], first_day: date, single: bool) -> dict[date, list[Slot]]:
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


def _alternatives(actor: Actor, exc: ApplicationError, zone: ZoneInfo) -> list[dict]:
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
                "value": _utc_text(start),
                "local_start": wall(start, zone),
                "practitioner": names.get(alternative["practitioner"], ""),
            }
        )
    return rows


@login_required
def booking(request):
    """Book a visit in steps: (patient,) service, practitioner, day, time, confirm."""
    actor = authorize_page(request, "appointment.book")
    authorize_page(request, "slot.search")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Book a visit")
    clinic = is_clinic(actor)
    patients = patient_list(actor=actor).filter(is_active=True)
    services = service_list(actor=actor).filter(is_active=True)
    practitioners = practitioner_list(actor=actor).filter(is_active=True)
    form = BookingForm(
        request.POST if request.method == "POST" else (request.GET or None),
        patients=patients,
        services=services,
        practitioners=practitioners,
    )
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    patient = data.get("patient") if clinic else patients.first()
    service = data.get("service")
    choice = data.get("practitioner_choice")
    practitioner = None if choice in (None, ANY) else choice
    zone = organization_zone(organization)
    context = {
        "organization": organization,
        "clinic": clinic,
        "form": form,
        "patient": patient,
        "service": service,
        "choice": choice,
        "practitioner": practitioner,
        "zone_name": str(zone),
        "alternatives": None,
    }
    base = {"patient": patient.pk if clinic and patient else None}

    if patient is None:
        if not clinic:
            context["step"] = "no_record"
            return render(request, "scheduling/booking.html", context)
        query = request.GET.get("q", "").strip()
        found = list(patient_search(patients, query)[:10]) if query else []
        patient_reads_record(actor=actor, patients=found, reason="booking")
        context.update(
            step="patient",
            query=query,
            patient_results=[(p, _step_url(patient=p.pk)) for p in found],
        )
        return render(request, "scheduling/booking.html", context)
    if clinic:
        patient_reads_record(actor=actor, patients=[patient], reason="booking")

    start = data.get("start")
    if request.method == "POST":
        if service is None or start is None or choice is None:
            messages.error(request, "Choose a service and a time first.")
            return redirect(reverse("booking") + _step_url(base))
        try:
            appointment = appointment_book(
                actor=request.user,
                organization=organization,
                patient=patient,
                service=service,
                start=start,
                practitioner=practitioner,
                reason=data.get("reason", ""),
            )
        except ApplicationError as exc:
            if exc.code == "slot_unavailable":
                context["alternatives"] = _alternatives(actor, exc, zone)
            else:
                context["problem"] = exc.message
        else:
            return redirect("booking-success", pk=appointment.pk)

    base["service"] = service.pk if service else None
    if service is None:
        offered = services.filter(practitioners__is_active=True).distinct()
        context.update(
            step="service",
            services=[(s, _step_url(base, service=s.pk)) for s in offered],
        )
        return render(request, "scheduling/booking.html", context)
    context["change_service_url"] = _step_url(base, service=None)

    offering = practitioners.filter(services=service)
    if choice is None:
        context.update(
            step="practitioner",
            any_url=_step_url(base, practitioner=ANY),
            practitioner_options=[(p, _step_url(base, practitioner=p.pk)) for p in offering],
        )
        return render(request, "scheduling/booking.html", context)
    base["practitioner"] = ANY if choice == ANY else practitioner.pk
    context["change_practitioner_url"] = _step_url(base, practitioner=None)
    names = {p.pk: str(p) for p in offering}

    if start is not None:
        local = wall(start, zone)
        context.update(
            step="confirm",
            start=start,
            start_value=_utc_text(start),
            local_start=local,
            local_end=local + timedelta(minutes=service.duration_minutes),
            change_time_url=_step_url(base, day=local.date().isoformat()),
        )
        return render(
            request,
            "scheduling/booking.html",
            context,
            status=409 if context.get("alternatives") else 200,
        )

    today = timezone.localdate(timezone=zone)
    window = Interval(timezone.now(), local_midnight(today + timedelta(days=BOOKING_DAYS), zone))
    found = _slot_days(
        [
            s
            for s in _search(organization, service, window, practitioner, patient)
            if s.local_start.date() >= today
        ],
        today,
        single=practitioner is not None,
    )
    open_days = [day for day, slots in found.items() if slots]
    day = data.get("day")
    if day not in found or not found[day]:
        day = open_days[0] if open_days else None
    context.update(
        step="time",
        days=[
            {
                "date": d,
                "count": len(found[d]),
                "url": _step_url(base, day=d.isoformat()),
                "current": d == day,
            }
            for d in sorted(found)[:BOOKING_DAYS]
        ],
        day=day,
        slots=[
            {
                "local_start": wall(slot.start, ZoneInfo(slot.time_zone)),
                "practitioner": names.get(slot.practitioner_id, "") if practitioner else "",
                "url": _step_url(base, day=day.isoformat(), start=_utc_text(slot.start)),
            }
            for slot in (found.get(day, []) if day else [])
        ],
    )
    return render(request, "scheduling/booking.html", context)


def _search(organization, service, window, practitioner, patient) -> list[Slot]:
    return slots_search(
        organization=organization,
        service=service,
        window=window,
        practitioner_ids=[practitioner.pk] if practitioner else None,
        patient=patient,
    )


@login_required
def booking_success(request, pk: int):
    actor = authorize_page(request, "appointment.list")
    appointment = get_object_or_404(appointment_list(actor=actor), pk=pk)
    patient_reads_record(actor=actor, patients=[appointment.patient])
    (appointment,) = decorate([appointment])
    return render(
        request,
        "scheduling/booking_success.html",
        {"appointment": appointment, "clinic": is_clinic(actor)},
    )


# --- Appointments ----------------------------------------------------------------------------


def allowed_actions(actor: Actor, appointment: Appointment) -> list[dict]:
    """The lifecycle buttons this viewer may press now (policy × state machine)."""
    now = timezone.now()
    rows = []
    for action in TRANSITIONS.get(appointment.status, {}):
        if action not in ACTIONS:
            continue
        if action == "no_show" and now < appointment.start:
            continue
        if not can(actor, ACTION_PERMISSIONS.get(action, "appointment.manage"), appointment):
            continue
        label, _, needs_reason, tone = ACTIONS[action]
        rows.append({"action": action, "label": label, "needs_reason": needs_reason, "tone": tone})
    return rows


@login_required
def appointments(request):
    """Upcoming (or past) appointments: a patient's own, a practitioner's (or everyone's),
    the whole organization's for staff and admins."""
    actor = authorize_page(request, "appointment.list")
    if actor.organization is None:
        return _no_organization(request, "Appointments")
    filters = AppointmentFilterForm(request.GET or None)
    is_practitioner = policy.PRACTITIONER in actor.roles
    if not is_practitioner:
        del filters.fields["scope"]
    wanted = filters.values()
    rows = appointment_list(actor=actor)
    if is_practitioner and wanted["scope"] == "mine":
        rows = rows.filter(practitioner__user=request.user)
    now = timezone.now()
    if wanted["when"] == "upcoming":
        rows = rows.filter(end__gte=now).order_by("start")
    elif wanted["when"] == "past":
        rows = rows.filter(start__lt=now).order_by("-start")
    else:
        rows = rows.order_by("-start")
    if wanted["status"]:
        rows = rows.filter(status=wanted["status"])
    if wanted["day"]:
        day = local_day(actor.organization, wanted["day"])
        rows = rows.filter(start__gte=day.start, start__lt=day.end)
    page = _paginate(request, rows)
    page.object_list = decorate(page.object_list)
    if is_clinic(actor):
        audit_shown(actor, page.object_list)
    return render(
        request,
        "scheduling/appointments.html",
        {
            "organization": actor.organization,
            "filters": filters,
            "page_obj": page,
            "filtered": any(request.GET.get(name) for name in ("status", "day"))
            or wanted["when"] != "upcoming",
            "clinic": is_clinic(actor),
            "can_book": can(actor, "appointment.book"),
            "zone_name": str(organization_zone(actor.organization)),
        },
    )


@login_required
def appointment_detail(request, pk: int):
    """One appointment: summary, what the viewer may do next, and its history."""
    actor = authorize_page(request, "appointment.list")
    events = AppointmentEvent.objects.select_related("actor")
    appointment = get_object_or_404(
        appointment_list(actor=actor).prefetch_related(Prefetch("events", queryset=events)),
        pk=pk,
    )
    patient_reads_record(actor=actor, patients=[appointment.patient])
    (appointment,) = decorate([appointment])
    zone = appointment_zone(appointment)
    history = []
    for event in appointment.events.all():
        event.local_at = wall(event.at, zone)
        event.from_label = S(event.from_status).label if event.from_status else ""
        event.to_label = S(event.to_status).label if event.to_status else ""
        event.moved = event.from_start and event.to_start and event.from_start != event.to_start
        history.append(event)
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appointment": appointment,
            "actions": allowed_actions(actor, appointment),
            "history": list(reversed(history)),
            "clinic": is_clinic(actor),
            "transition_form": TransitionForm(),
        },
    )


@login_required
@require_POST
def appointment_action(request, pk: int):
    """Take one lifecycle action (the button's ``action``), then go back where it was pressed."""
    actor = authorize_page(request, "appointment.list")
    appointment = get_object_or_404(appointment_list(actor=actor), pk=pk)
    back = _safe_next(request, reverse("appointment-detail", args=[appointment.pk]))
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That action is not available.")
        return redirect(back)
    action = form.cleaned_data["action"]
    authorize_page(request, ACTION_PERMISSIONS.get(action, "appointment.manage"), appointment)
    try:
        appointment_transition(
            actor=request.user,
            appointment=appointment,
            action=action,
            reason=form.cleaned_data["reason"],
            by_patient=not is_clinic(actor),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        who = appointment.patient.display_name if is_clinic(actor) else "Your appointment"
        done = ACTIONS.get(action, ("", action.replace("_", " ")))[1]
        messages.success(request, f"{who}: {done}." if is_clinic(actor) else f"{who} is {done}.")
    return redirect(back)


# --- Calendar ---------------------------------------------------------------------------------


# FullCalendar v6 ships no stylesheet: its bundle inserts a <style data-fullcalendar> element at
# load and fills it through the CSSOM. The strict policy (style-src 'self') refuses that element
# unless it carries a nonce, and FullCalendar reads one from <meta name="csp-nonce">. So this one
# page adds a per-response nonce to style-src only (scripts stay 'self'-only) and the template
# publishes it in that meta tag; no 'unsafe-inline' anywhere. Event colours and sizes set by
# FullCalendar go through element.style (CSSOM), which CSP allows. Its CSS also declares its
# icon font as a data: URI, which Chromium fetches eagerly on parse: font-src gains data: here
# (the buttons use text, not the icon font, but the rule itself would log a violation).
@login_required
@csp_update({"style-src": [NONCE], "font-src": ["data:"]})
def calendar(request):
    """The clinic's week and day views (FullCalendar), fed by ``calendar_events``."""
    actor = _clinic_actor(request)
    if actor.organization is None:
        return _no_organization(request, "Calendar")
    zone = organization_zone(actor.organization)
    practitioners = practitioner_list(actor=actor).filter(is_active=True)
    own = practitioners.filter(user=request.user).first()
    return render(
        request,
        "scheduling/calendar.html",
        {
            "organization": actor.organization,
            "zone_name": str(zone),
            "now_local": wall(timezone.now(), zone).isoformat(),
            "practitioners": practitioners,
            "own_practitioner": own,
            "can_book": can(actor, "appointment.book"),
        },
    )


@login_required
def calendar_events(request):
    """Appointments overlapping ``start``–``end`` as FullCalendar events (wall times in the
    organization's zone, no offset; see ``CalendarWindowForm``)."""
    actor = _clinic_actor(request)
    if actor.organization is None:
        return JsonResponse([], safe=False)
    zone = organization_zone(actor.organization)
    window = CalendarWindowForm(request.GET, zone=zone)
    with timezone.override(zone):  # offset-less times are the clinic's wall times
        valid = window.is_valid()
    if not valid:
        return JsonResponse({"errors": window.errors.get_json_data()}, status=400)
    rows = (
        appointment_list(actor=actor)
        .filter(start__lt=window.cleaned_data["end"], end__gt=window.cleaned_data["start"])
        .exclude(status__in=HIDDEN_ON_CALENDAR)
        .order_by("start")
    )
    wanted = request.GET.get("practitioner", "")
    if wanted.isdigit():
        rows = rows.filter(practitioner_id=int(wanted))
    rows = list(rows)
    audit_shown(actor, rows)
    events = []
    for appointment in rows:
        background, text = STATUS_COLOURS.get(appointment.status, ("#56657a", "#ffffff"))
        events.append(
            {
                "id": str(appointment.pk),
                "title": f"{appointment.patient.display_name} · {appointment.service.name}",
                "start": wall(appointment.start, zone).isoformat(),
                "end": wall(appointment.end, zone).isoformat(),
                "url": reverse("appointment-detail", args=[appointment.pk]),
                "backgroundColor": background,
                "borderColor": background,
                "textColor": text,
                "classNames": [f"appt--{appointment.status}"],
                "extendedProps": {
                    "status": appointment.status,
                    "statusLabel": appointment.get_status_display(),
                    "practitioner": str(appointment.practitioner),
                },
            }
        )
    return JsonResponse(events, safe=False)


# --- Availability ---------------------------------------------------------------------------


GRID_STEP = timedelta(minutes=30)


def _minutes(moment) -> int:
    return moment.hour * 60 + moment.minute


@login_required
def availability(request, pk: int):
    """A practitioner's weekly working hours as a Monday–Sunday grid, and upcoming time off
    or extra hours. (Read-only: rules are edited through the API for now.)"""
    actor = authorize_page(request, "practitioner.list")
    practitioner = get_object_or_404(practitioner_list(actor=actor), pk=pk)
    authorize_page(request, "practitioner.view", practitioner)
    today = timezone.localdate(timezone=organization_zone(practitioner.organization))
    rules = [
        rule
        for rule in practitioner.availability_rules.select_related("location").prefetch_related(
            "services"
        )
        if rule.effective_to is None or rule.effective_to >= today
    ]
    first = min([_minutes(r.start_time) for r in rules] + [8 * 60])
    last = max([_minutes(r.end_time) for r in rules] + [18 * 60])
    first -= first % 30
    rows = []
    for start in range(first, last, 30):
        cells = []
        for weekday in range(7):
            covering = [
                r
                for r in rules
                if r.weekday == weekday
                and _minutes(r.start_time) < start + 30
                and _minutes(r.end_time) > start
            ]
            cells.append({"open": bool(covering), "weekday": weekday})
        rows.append(
            {
                "label": f"{start // 60:02d}:{start % 60:02d}",
                "hour": start % 60 == 0,
                "cells": cells,
            }
        )
    by_day = [
        {
            "name": label,
            "rules": [r for r in rules if r.weekday == value],
        }
        for value, label in AvailabilityRule.Weekday.choices
    ]
    zone = organization_zone(practitioner.organization)
    exceptions = list(
        practitioner.availability_exceptions.filter(end__gte=timezone.now()).order_by("start")[:20]
    )
    for exception in exceptions:
        exception.local_start = wall(exception.start, zone)
        exception.local_end = wall(exception.end, zone)
    return render(
        request,
        "scheduling/availability.html",
        {
            "practitioner": practitioner,
            "weekdays": [label for _, label in AvailabilityRule.Weekday.choices],
            "grid": rows,
            "by_day": by_day,
            "exceptions": exceptions,
            "zone_name": rules[0].location.time_zone if rules else str(zone),
            "is_own": practitioner.user_id == request.user.pk,
        },
    )
