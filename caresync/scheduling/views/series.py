"""Recurring series pages: repeat a visit from the booking confirm step (every date checked
before anything is booked), and the series panel with its cancel buttons on an
appointment's page."""

import calendar
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, authorize_page
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    practitioner_list,
    service_list,
)
from caresync.scheduling.models import Appointment
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.series_forms import SeriesCancelForm, SeriesRepeatForm
from caresync.scheduling.services import (
    appointment_series_book,
    appointment_series_cancel,
    appointment_series_preview,
)
from caresync.scheduling.services.series import recurrence_parse, series_time_zone
from caresync.scheduling.views.common import decorate, is_clinic, wall

# What a refused date says on the page.
REFUSALS = {
    "slot_unavailable": "Taken",
    "outside_availability": "Not working (or closed)",
    "too_soon": "Too soon",
    "too_far": "Too far ahead",
}


def repeat_text(rrule: str) -> str:
    """A series' rule in words: "every 2 weeks on Tue and Thu, 6 visits"."""
    try:
        recurrence = recurrence_parse(rrule)
    except ApplicationError:
        return rrule
    text = "every week" if recurrence.interval == 1 else f"every {recurrence.interval} weeks"
    if recurrence.weekdays:
        days = [calendar.day_abbr[day] for day in recurrence.weekdays]
        text += " on " + (", ".join(days[:-1]) + " and " + days[-1] if len(days) > 1 else days[0])
    if recurrence.count is not None:
        return f"{text}, {recurrence.count} visits"
    until = recurrence.until
    return f"{text} until {until:%-d %b %Y}"


def _repeat_form(actor: Actor, data=None, initial=None) -> SeriesRepeatForm:
    return SeriesRepeatForm(
        data,
        initial=initial,
        patients=patient_list(actor=actor).filter(is_active=True),
        services=service_list(actor=actor).filter(is_active=True),
        practitioners=practitioner_list(actor=actor).filter(is_active=True),
    )


def repeat_form(*, actor: Actor, patient, service, practitioner, start) -> SeriesRepeatForm | None:
    """The "Repeat" form of the booking confirm step: clinic members booking with a chosen
    practitioner (a series stays with one practitioner)."""
    if not is_clinic(actor) or practitioner is None or patient is None:
        return None
    return _repeat_form(
        actor,
        initial={
            "patient": patient.pk,
            "service": service.pk,
            "practitioner": practitioner.pk,
            "start": start.isoformat(),
        },
    )


def _booking_url(data: dict, zone: ZoneInfo) -> str:
    """Back to the booking steps, on the first visit's day."""
    query = {
        "patient": data["patient"].pk,
        "service": data["service"].pk,
        "practitioner": data["practitioner"].pk,
        "day": data["start"].astimezone(zone).date().isoformat(),
    }
    return reverse("booking") + "?" + urlencode(query)


def _rows(checks, zone: ZoneInfo) -> list[dict]:
    return [
        {
            "number": number,
            "local_start": wall(check.start, zone),
            "local_end": wall(check.end, zone),
            "bookable": check.bookable,
            "refusal": REFUSALS.get(check.code, check.message),
            "alternatives": [
                wall(datetime.fromisoformat(a["start"]), zone) for a in check.alternatives
            ],
        }
        for number, check in enumerate(checks, start=1)
    ]


@login_required
def booking_series(request):
    """Repeat a visit: every date with whether it is free (and what is free nearby if
    not); "Book all" books every date or none."""
    actor = authorize_page(request, "appointment.book")
    if actor.organization is None:
        return _no_organization(request, "Book a series")
    if not is_clinic(actor):
        raise PermissionDenied("Repeating visits are booked by the clinic.")
    form = _repeat_form(actor, request.POST if request.method == "POST" else request.GET)
    context = {"organization": actor.organization, "form": form, "clinic": True}
    if not form.is_valid():
        return render(request, "scheduling/series_preview.html", context, status=400)
    data = form.cleaned_data
    patient = data["patient"]
    patient_reads_record(actor=actor, patients=[patient], reason="booking")
    zone = ZoneInfo(
        series_time_zone(organization=actor.organization, practitioner=data["practitioner"])
    )
    series = {
        "organization": actor.organization,
        "patient": patient,
        "practitioner": data["practitioner"],
        "service": data["service"],
        "first_start": data["start"],
        "rrule": form.rrule,
    }
    status = 200
    if request.method == "POST":
        try:
            booked = appointment_series_book(
                actor=request.user, reason=data.get("reason", ""), **series
            )
        except ApplicationError as exc:
            status = 409 if exc.code == "series_conflict" else 400
            context["lost_race"] = exc.code == "series_conflict"
        else:
            visits = list(booked.appointments.order_by("start"))
            messages.success(request, f"{patient.display_name}: all {len(visits)} visits booked.")
            return redirect("appointment-detail", pk=visits[0].pk)
    try:
        checks = appointment_series_preview(**series)
    except ApplicationError as exc:
        checks, status = [], 400
        context["problem"] = exc.message
    rows = _rows(checks, zone)
    context.update(
        patient=patient,
        service=data["service"],
        practitioner=data["practitioner"],
        local_start=wall(data["start"], zone),
        zone_name=str(zone),
        rows=rows,
        refused=[row for row in rows if not row["bookable"]],
        hidden=form.hidden_values(),
        repeat_text=repeat_text(form.rrule),
        booking_url=_booking_url(data, zone),
    )
    return render(request, "scheduling/series_preview.html", context, status=status)


def series_panel(actor: Actor, appointment: Appointment) -> dict | None:
    """ "Part of a series (n of m)" on an appointment's page: the other occurrences the
    viewer may see and the cancel buttons the viewer may press."""
    if appointment.series_id is None:
        return None
    occurrences = decorate(
        appointment_list(actor=actor).filter(series_id=appointment.series_id).order_by("start")
    )
    may_cancel = can(actor, "appointment.cancel", appointment) and appointment.is_blocking
    following = [o for o in occurrences if o.start >= appointment.start and o.is_blocking]
    if not is_clinic(actor) and appointment.start <= timezone.now():
        may_cancel = False
    return {
        "position": next(i for i, o in enumerate(occurrences, 1) if o.pk == appointment.pk),
        "total": len(occurrences),
        "occurrences": occurrences,
        "repeat_text": repeat_text(appointment.series.rrule),
        "status": appointment.series.get_status_display(),
        "can_cancel_this": may_cancel,
        "can_cancel_following": may_cancel and len(following) > 1,
        "following_count": len(following),
    }


@login_required
@require_POST
def series_cancel(request, pk: int):
    """Cancel this occurrence, or it and every following one (all or nothing)."""
    actor = authorize_page(request, "appointment.list")
    appointment = get_object_or_404(
        appointment_list(actor=actor).filter(series__isnull=False).select_related("series"),
        pk=pk,
    )
    authorize_page(request, "appointment.cancel", appointment)
    form = SeriesCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That action is not available.")
        return redirect("appointment-detail", pk=appointment.pk)
    only_this = form.cleaned_data["scope"] == "this"
    try:
        appointment_series_cancel(
            actor=request.user,
            series=appointment.series,
            from_appointment=appointment,
            only_this=only_this,
            reason=form.cleaned_data["reason"],
            by_patient=not is_clinic(actor),
        )
    except ApplicationError as exc:
        occurrence = exc.extra.get("occurrence")
        if occurrence and occurrence["appointment"] != appointment.pk:
            (named,) = decorate(appointment_list(actor=actor).filter(pk=occurrence["appointment"]))
            when = f"{named.local_start:%a %-d %b %H:%M}"
            messages.error(request, f"{exc.message} (The visit on {when}.) Nothing was cancelled.")
        else:
            messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "This visit is cancelled."
            if only_this
            else "This visit and the following ones are cancelled.",
        )
    return redirect("appointment-detail", pk=appointment.pk)
