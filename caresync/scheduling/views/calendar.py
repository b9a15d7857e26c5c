"""The staff calendar (FullCalendar): day, week and month views, resource views by
practitioner and by room/scanner, its event and resource feeds, moving and resizing a visit
by drag and drop, and click-to-book.

Times cross the wire as the organization's wall-clock times without an offset (see
``CalendarWindowForm`` and calendar.js): the calendar runs in FullCalendar's "UTC coercion"
mode for a named zone, with no time-zone plugin."""

import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from csp.constants import NONCE
from csp.decorators import csp_update
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from caresync.accounts.views import _no_organization, authorize_page
from caresync.core.errors import ApplicationError, error_body, field_errors
from caresync.core.policy import Actor, can
from caresync.core.rest import StrictSerializer
from caresync.directory.selectors import practitioner_list, resource_list, service_list
from caresync.scheduling.forms import CalendarWindowForm
from caresync.scheduling.models import Appointment, AppointmentResource, AvailabilityException
from caresync.scheduling.selectors import (
    appointment_list,
    availability_exception_list,
    availability_rule_list,
    holidays_between,
)
from caresync.scheduling.services import RESCHEDULABLE, appointment_reschedule
from caresync.scheduling.views.common import (
    HIDDEN_ON_CALENDAR,
    STATUS_COLOURS,
    audit_shown,
    clinic_actor,
    organization_zone,
    utc_text,
    wall,
)

# Colour-by-service palette, assigned in service order (so the first ten services never
# share a colour). Every entry carries white text at WCAG AA (≥ 4.5:1; see the tests).
SERVICE_PALETTE = (
    "#1f4e99",
    "#a4400e",
    "#17714a",
    "#8b1e5a",
    "#5b3fa6",
    "#0b6478",
    "#7a5200",
    "#b0233c",
    "#3f5b1b",
    "#4a5566",
)
FALLBACK_COLOUR = ("#56657a", "#ffffff")
# Statuses a drag can move (``appointment_reschedule`` refuses the others).
MOVABLE = frozenset(RESCHEDULABLE)
PRACTITIONER_PREFIX, ROOM_PREFIX = "p-", "r-"


def service_colours(service_ids) -> dict[int, str]:
    """Each service's colour: its place among the organization's services (by id)."""
    ordered = sorted(service_ids)
    return {pk: SERVICE_PALETTE[index % len(SERVICE_PALETTE)] for index, pk in enumerate(ordered)}


def _organization_service_colours(actor: Actor) -> dict[int, str]:
    """Colours of every service of the organization, inactive ones too: one query."""
    return service_colours(
        service_list(actor=actor).prefetch_related(None).values_list("pk", flat=True)
    )


def _iso(moment: datetime, zone: ZoneInfo) -> str:
    return wall(moment, zone).isoformat()


def _event(appointment: Appointment, zone: ZoneInfo, *, colours: dict, can_move: bool) -> dict:
    """One appointment as a FullCalendar event, in both colourings (the page picks one)."""
    background, text = STATUS_COLOURS.get(appointment.status, FALLBACK_COLOUR)
    by_service = colours.get(appointment.service_id, FALLBACK_COLOUR[0])
    rooms = [f"{ROOM_PREFIX}{hold.resource_id}" for hold in appointment.calendar_holds]
    return {
        "id": str(appointment.pk),
        "title": f"{appointment.patient.display_name} · {appointment.service.name}",
        "start": _iso(appointment.start, zone),
        "end": _iso(appointment.end, zone),
        "url": reverse("appointment-detail", args=[appointment.pk]),
        "backgroundColor": background,
        "borderColor": background,
        "textColor": text,
        "classNames": [f"appt--{appointment.status}"],
        "resourceIds": [f"{PRACTITIONER_PREFIX}{appointment.practitioner_id}", *rooms],
        "editable": can_move and appointment.status in MOVABLE,
        "extendedProps": {
            "kind": "appointment",
            "status": appointment.status,
            "statusLabel": appointment.get_status_display(),
            "practitioner": str(appointment.practitioner),
            "practitionerId": appointment.practitioner_id,
            "service": appointment.service.name,
            "serviceId": appointment.service_id,
            "statusColour": background,
            "serviceColour": by_service,
        },
    }


def _with_holds(appointments):
    return appointments.prefetch_related(
        Prefetch(
            "resource_holds",
            queryset=AppointmentResource.objects.order_by("resource_id"),
            to_attr="calendar_holds",
        )
    )


def _closed_day_events(organization, first: date, last: date) -> list[dict]:
    """Public holidays and closures as whole-day background events."""
    events = []
    for closed in holidays_between(organization, first, last):
        day = closed["date"]
        events.append(
            {
                "id": f"closed-{closed['kind']}-{day.isoformat()}",
                "start": f"{day.isoformat()}T00:00:00",
                "end": f"{(day + timedelta(days=1)).isoformat()}T00:00:00",
                "display": "background",
                "title": closed["name"],
                "classNames": ["bg-closed", f"bg-closed--{closed['kind']}"],
                "extendedProps": {"kind": closed["kind"]},
            }
        )
    return events


def _time_off_events(actor: Actor, zone: ZoneInfo, window, practitioner_id) -> list[dict]:
    """Practitioners' time off as background events in their resource column."""
    rows = availability_exception_list(actor=actor).filter(
        kind=AvailabilityException.Kind.TIME_OFF,
        start__lt=window["end"],
        end__gt=window["start"],
    )
    if practitioner_id is not None:
        rows = rows.filter(practitioner_id=practitioner_id)
    return [
        {
            "id": f"off-{exception.pk}",
            "start": _iso(exception.start, zone),
            "end": _iso(exception.end, zone),
            "display": "background",
            "title": exception.reason or "Time off",
            "resourceId": f"{PRACTITIONER_PREFIX}{exception.practitioner_id}",
            "classNames": ["bg-time-off"],
            "extendedProps": {"kind": "time_off"},
        }
        for exception in rows
    ]


def _window(request, zone: ZoneInfo):
    """FullCalendar's ``start``/``end`` as aware datetimes, or the form's errors."""
    window = CalendarWindowForm(request.GET, zone=zone)
    with timezone.override(zone):  # offset-less times are the clinic's wall times
        valid = window.is_valid()
    return (window.cleaned_data, None) if valid else (None, window.errors.get_json_data())


def _wanted_practitioner(request) -> int | None:
    wanted = request.GET.get("practitioner", "")
    return int(wanted) if wanted.isdigit() else None


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
    """The clinic's calendar: day, week, month and resource views, fed by ``calendar_events``
    and ``calendar_resources``; moves go to ``calendar_move``."""
    actor = clinic_actor(request)
    if actor.organization is None:
        return _no_organization(request, "Calendar")
    zone = organization_zone(actor.organization)
    practitioners = practitioner_list(actor=actor).filter(is_active=True)
    wanted = _wanted_practitioner(request)
    selected = practitioners.filter(pk=wanted).first() if wanted is not None else None
    if selected is None and "practitioner" not in request.GET:
        selected = practitioners.filter(user=request.user).first()
    services = service_list(actor=actor).prefetch_related(None).filter(is_active=True)
    colours = _organization_service_colours(actor)
    return render(
        request,
        "scheduling/calendar.html",
        {
            "organization": actor.organization,
            "zone_name": str(zone),
            "now_local": wall(timezone.now(), zone).isoformat(),
            "practitioners": practitioners,
            "selected_practitioner": selected,
            "can_book": can(actor, "appointment.book"),
            "can_move": can(actor, "appointment.reschedule"),
            "status_legend": [
                (status, Appointment.Status(status).label)
                for status in STATUS_COLOURS
                if status not in HIDDEN_ON_CALENDAR
            ],
            "service_legend": [
                (service.name, SERVICE_PALETTE.index(colours[service.pk]))
                for service in services.order_by("pk")
            ],
        },
    )


@login_required
@require_GET
def calendar_events(request):
    """Appointments overlapping ``start``–``end`` as FullCalendar events (wall times in the
    organization's zone, no offset; see ``CalendarWindowForm``), with closed days and, for
    one practitioner (``practitioner``) or the resource views (``resources=1``), time off
    as background events. A constant number of queries, plus one audit row per patient."""
    actor = clinic_actor(request)
    if actor.organization is None:
        return JsonResponse([], safe=False)
    zone = organization_zone(actor.organization)
    window, errors = _window(request, zone)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    rows = _with_holds(
        appointment_list(actor=actor)
        .filter(start__lt=window["end"], end__gt=window["start"])
        .exclude(status__in=HIDDEN_ON_CALENDAR)
        .order_by("start", "pk")
    )
    wanted = _wanted_practitioner(request)
    if wanted is not None:
        rows = rows.filter(practitioner_id=wanted)
    rows = list(rows)
    audit_shown(actor, rows)
    colours = _organization_service_colours(actor)
    can_move = can(actor, "appointment.reschedule")
    events = [_event(a, zone, colours=colours, can_move=can_move) for a in rows]
    first = wall(window["start"], zone).date()
    last = (wall(window["end"], zone) - timedelta(microseconds=1)).date()
    events += _closed_day_events(actor.organization, first, last)
    if wanted is not None or request.GET.get("resources") == "1":
        events += _time_off_events(actor, zone, window, wanted)
    return JsonResponse(events, safe=False)


def _business_hours(rules, first: date, last: date) -> list[dict]:
    """Weekly rules in force during ``first``–``last`` as FullCalendar business hours
    (its weekdays count from Sunday = 0; the rules' from Monday = 0)."""
    return [
        {
            "daysOfWeek": [(rule.weekday + 1) % 7],
            "startTime": rule.start_time.strftime("%H:%M"),
            "endTime": rule.end_time.strftime("%H:%M"),
        }
        for rule in rules
        if (rule.effective_from is None or rule.effective_from <= last)
        and (rule.effective_to is None or rule.effective_to >= first)
    ]


@login_required
@require_GET
def calendar_resources(request):
    """The resource views' columns: active practitioners (with their working hours in the
    window as business hours) and active rooms, scanners and equipment. Three queries."""
    actor = clinic_actor(request)
    if actor.organization is None:
        return JsonResponse([], safe=False)
    zone = organization_zone(actor.organization)
    window, errors = _window(request, zone)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    first = wall(window["start"], zone).date()
    last = (wall(window["end"], zone) - timedelta(microseconds=1)).date()
    rules: dict[int, list] = {}
    for rule in availability_rule_list(actor=actor).order_by("weekday", "start_time"):
        rules.setdefault(rule.practitioner_id, []).append(rule)
    people = sorted(
        practitioner_list(actor=actor).filter(is_active=True), key=lambda p: str(p).lower()
    )
    columns = [
        {
            "id": f"{PRACTITIONER_PREFIX}{practitioner.pk}",
            "title": str(practitioner),
            "group": "practitioner",
            "practitionerId": practitioner.pk,
            "businessHours": _business_hours(rules.get(practitioner.pk, []), first, last),
        }
        for practitioner in people
    ]
    columns += [
        {
            "id": f"{ROOM_PREFIX}{resource.pk}",
            "title": str(resource),
            "group": "room",
            "kind": resource.get_kind_display(),
            "location": resource.location.name,
        }
        for resource in resource_list(actor=actor).filter(is_active=True)
    ]
    return JsonResponse(columns, safe=False)


class CalendarMoveInput(StrictSerializer):
    """A drop or resize on the calendar: wall times in the organization's zone (an offset,
    if given, is honoured), and the practitioner column it landed in."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False)
    practitioner = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @staticmethod
    def _existing(value: datetime) -> datetime:
        # The calendar speaks wall times, so a wall time the clocks skip (spring forward) or
        # pass twice (fall back) names no single moment: refused rather than guessed.
        again = value.astimezone(UTC).astimezone(value.tzinfo)
        if again.replace(tzinfo=None) != value.replace(tzinfo=None):
            raise serializers.ValidationError(
                "That time does not exist in the clinic's time zone (the clocks skip it)."
            )
        if value.replace(fold=0).utcoffset() != value.replace(fold=1).utcoffset():
            raise serializers.ValidationError(
                "That time happens twice in the clinic's time zone (the clocks go back)."
            )
        return value

    def validate_start(self, value: datetime) -> datetime:
        return self._existing(value)

    def validate_end(self, value: datetime) -> datetime:
        return self._existing(value)


def _json_problem(status: int, code: str, message: str, **extra) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message, **extra), status=status)


def _alternatives(actor: Actor, offered: list[dict], zone: ZoneInfo) -> list[dict]:
    """A 409's free times as wall times with names, for the page to offer."""
    names = {
        p.pk: str(p)
        for p in practitioner_list(actor=actor).filter(pk__in={a["practitioner"] for a in offered})
    }
    found = []
    for alternative in offered:
        start = datetime.fromisoformat(alternative["start"])
        end = datetime.fromisoformat(alternative["end"])
        local = wall(start, zone)
        name = names.get(alternative["practitioner"], "")
        found.append(
            {
                "start": local.isoformat(),
                "end": wall(end, zone).isoformat(),
                "practitioner": alternative["practitioner"],
                "practitionerName": name,
                "label": f"{local:%a %-d %b %H:%M}" + (f" with {name}" if name else ""),
            }
        )
    return found


@login_required
@require_POST
def calendar_move(request, pk: int):
    """POST a JSON ``{start, end?, practitioner?, reason?}`` (wall times): moves or resizes the
    appointment through ``appointment_reschedule``. Answers ``{"event": ...}`` or the API's
    error shape, a taken time with ``alternatives``; the calendar puts a refused drop back."""
    try:
        actor = clinic_actor(request)
    except PermissionDenied:
        return _json_problem(403, "permission_denied", "Only clinic members use the calendar.")
    if actor.organization is None:
        return _json_problem(404, "not_found", "Not found.")
    appointment = appointment_list(actor=actor).filter(pk=pk).first()
    if appointment is None:
        return _json_problem(404, "not_found", "Not found.")
    if not can(actor, "appointment.reschedule", appointment):
        return _json_problem(403, "permission_denied", "You may not move this appointment.")
    try:
        payload = json.loads(request.body or b"null")
    except (UnicodeDecodeError, ValueError):
        return _json_problem(400, "parse_error", "The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return _json_problem(400, "parse_error", "Send a JSON object.")
    zone = organization_zone(actor.organization)
    data = CalendarMoveInput(data=payload)
    try:
        with timezone.override(zone):  # offset-less times are the clinic's wall times
            data.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        return _json_problem(
            400,
            "validation_error",
            "Some fields are invalid.",
            fields=field_errors(exc.get_full_details()),
        )
    fields = data.validated_data
    practitioner = None
    if fields.get("practitioner") is not None:
        practitioner = (
            practitioner_list(actor=actor).filter(pk=fields["practitioner"], is_active=True).first()
        )
        if practitioner is None:
            return _json_problem(
                400,
                "validation_error",
                "Some fields are invalid.",
                fields={"practitioner": [{"code": "invalid", "message": "Unknown practitioner."}]},
            )
    try:
        moved = appointment_reschedule(
            actor=request.user,
            appointment=appointment,
            start=fields["start"],
            end=fields.get("end"),
            practitioner=practitioner,
            reason=fields.get("reason") or "Moved on the calendar",
        )
    except ApplicationError as exc:
        extra = dict(exc.extra)
        if "alternatives" in extra:
            extra["alternatives"] = _alternatives(actor, extra["alternatives"], zone)
        return _json_problem(exc.status_code, exc.code, exc.message, fields=exc.fields, extra=extra)
    moved = _with_holds(appointment_list(actor=actor).filter(pk=moved.pk)).get()
    audit_shown(actor, [moved])
    colours = _organization_service_colours(actor)
    return JsonResponse(
        {"event": _event(moved, zone, colours=colours, can_move=True)},
    )


@login_required
@require_GET
def calendar_book(request):
    """Click-to-book: a time chosen on the calendar (``start`` as a wall time, or a whole
    ``day`` from the month view, and the practitioner column or filter) opens the booking
    steps with them filled in."""
    actor = authorize_page(request, "appointment.book")
    if actor.organization is None:
        return redirect("booking")
    zone = organization_zone(actor.organization)
    params: dict[str, str] = {}
    wanted = _wanted_practitioner(request)
    if wanted is not None and practitioner_list(actor=actor).filter(pk=wanted).exists():
        params["practitioner"] = str(wanted)
    start = None
    with timezone.override(zone):
        field = serializers.DateTimeField()
        try:
            start = field.run_validation(request.GET.get("start", ""))
        except serializers.ValidationError:
            start = None
    if start is not None:
        params["day"] = wall(start, zone).date().isoformat()
        if start > timezone.now():
            params["start"] = utc_text(start)
    else:
        day = forms.DateField(required=False)
        try:
            chosen = day.clean(request.GET.get("day", ""))
        except ValidationError:
            chosen = None
        if chosen is not None:
            params["day"] = chosen.isoformat()
    return redirect(reverse("booking") + ("?" + urlencode(params) if params else ""))
