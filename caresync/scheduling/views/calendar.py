"""The staff calendar (FullCalendar) and its event feed."""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from caresync.accounts.views import _no_organization
from caresync.core.policy import can
from caresync.directory.selectors import (
    practitioner_list,
)
from caresync.scheduling.forms import (
    CalendarWindowForm,
)
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.views.common import (
    HIDDEN_ON_CALENDAR,
    STATUS_COLOURS,
    audit_shown,
    clinic_actor,
    organization_zone,
    wall,
)


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
    actor = clinic_actor(request)
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
    actor = clinic_actor(request)
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
