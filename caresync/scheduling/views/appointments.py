"""Appointment list, detail and lifecycle actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, _paginate, authorize_page
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import (
    patient_reads_record,
)
from caresync.records.views import visit_note_offer
from caresync.scheduling.forms import (
    AppointmentFilterForm,
    TransitionForm,
)
from caresync.scheduling.models import Appointment, AppointmentEvent
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.services import (
    TRANSITIONS,
    appointment_transition,
)
from caresync.scheduling.views.common import (
    ACTION_PERMISSIONS,
    ACTIONS,
    S,
    appointment_zone,
    audit_shown,
    decorate,
    is_clinic,
    local_day,
    organization_zone,
    safe_next,
    wall,
)
from caresync.scheduling.views.reschedule import move_links
from caresync.scheduling.views.series import series_panel


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
        if event.moved:
            event.local_from_start = wall(event.from_start, zone)
            event.local_to_start = wall(event.to_start, zone)
        history.append(event)
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appointment": appointment,
            "actions": allowed_actions(actor, appointment),
            "move_links": move_links(actor, appointment),
            "series": series_panel(actor, appointment),
            "visit_note": visit_note_offer(actor, appointment),
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
    back = safe_next(request, reverse("appointment-detail", args=[appointment.pk]))
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
