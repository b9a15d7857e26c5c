"""Moving an appointment from its page: pick a new day and time (patients and staff), or,
for a request, propose another time (practitioners and staff)."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from caresync.accounts.views import authorize_page
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import patient_reads_record, practitioner_list
from caresync.scheduling.forms import MoveForm, local_midnight
from caresync.scheduling.models import Appointment
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.services import (
    PROPOSABLE,
    RESCHEDULABLE,
    appointment_reschedule,
    slots_search,
)
from caresync.scheduling.slots import Interval
from caresync.scheduling.views.common import (
    BOOKING_DAYS,
    alternatives_shown,
    appointment_zone,
    decorate,
    is_clinic,
    query_url,
    slot_days,
    utc_text,
    wall,
)


def move_links(actor: Actor, appointment: Appointment) -> list[dict]:
    """ "Reschedule" and "Propose another time" for the appointment page, when allowed."""
    links = []
    base = reverse("appointment-reschedule", args=[appointment.pk])
    if appointment.status in PROPOSABLE and can(actor, "appointment.manage", appointment):
        links.append({"label": "Propose another time", "url": f"{base}?propose=1"})
    elif appointment.status in RESCHEDULABLE and can(actor, "appointment.reschedule", appointment):
        links.append({"label": "Reschedule", "url": base})
    return links


def _refused(appointment: Appointment, actor: Actor, propose: bool) -> str | None:
    if propose:
        if appointment.status not in PROPOSABLE or not can(
            actor, "appointment.manage", appointment
        ):
            return "Only a pending request can be given another proposed time."
    elif appointment.status not in RESCHEDULABLE:
        return f"A {appointment.get_status_display().lower()} appointment cannot be moved."
    return None


@login_required
def appointment_reschedule_page(request, pk: int):
    """Free times for the same service and practitioner over the next two weeks (from
    ``?from=``), as buttons that move the appointment there."""
    actor = authorize_page(request, "appointment.list")
    appointment = get_object_or_404(appointment_list(actor=actor), pk=pk)
    authorize_page(request, "appointment.reschedule", appointment)
    patient_reads_record(actor=actor, patients=[appointment.patient])
    propose = request.GET.get("propose") == "1" or request.POST.get("propose") == "1"
    detail_url = reverse("appointment-detail", args=[appointment.pk])
    refusal = _refused(appointment, actor, propose)
    if refusal:
        messages.error(request, refusal)
        return redirect(detail_url)
    clinic = is_clinic(actor)
    zone = appointment_zone(appointment)
    practitioners = practitioner_list(actor=actor).filter(
        is_active=True, services=appointment.service
    )
    form = MoveForm(
        request.POST if request.method == "POST" else request.GET,
        practitioners=practitioners,
        clinic=clinic,
    )
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    practitioner = data.get("practitioner") or appointment.practitioner
    context = {
        "appointment": decorate([appointment])[0],
        "clinic": clinic,
        "propose": propose,
        "form": form,
        "practitioner": practitioner,
        "zone_name": str(zone),
        "detail_url": detail_url,
        "alternatives": None,
    }
    if request.method == "POST" and data.get("start"):
        try:
            appointment_reschedule(
                actor=request.user,
                appointment=appointment,
                start=data["start"],
                practitioner=practitioner,
                reason=data.get("reason", ""),
                by_patient=not clinic,
                propose=propose,
            )
        except ApplicationError as exc:
            if exc.code == "slot_unavailable":
                context["alternatives"] = alternatives_shown(actor, exc, zone)
            else:
                messages.error(request, exc.message)
        else:
            moved = Appointment.objects.get(pk=appointment.pk)
            local = wall(moved.start, zone)
            done = "proposed for" if propose else "moved to"
            messages.success(request, f"Appointment {done} {local:%A %-d %B at %H:%M}.")
            return redirect(detail_url)

    today = timezone.localdate(timezone=zone)
    first_day = max(data.get("from") or today, today)
    window = Interval(
        max(timezone.now(), local_midnight(first_day, zone)),
        local_midnight(first_day + timedelta(days=BOOKING_DAYS), zone),
    )
    found = slot_days(
        [
            slot
            for slot in slots_search(
                organization=appointment.organization,
                service=appointment.service,
                window=window,
                practitioner_ids=[practitioner.pk],
                patient=appointment.patient,
                moving=appointment,
            )
            if slot.start != appointment.start or practitioner != appointment.practitioner
        ],
        first_day,
        single=True,
    )
    open_days = [day for day, slots in found.items() if slots]
    day = data.get("day")
    if day not in found or not found[day]:
        day = open_days[0] if open_days else None
    keep = {
        "propose": "1" if propose else None,
        "practitioner": practitioner.pk if clinic else None,
        "from": first_day.isoformat(),
    }
    context.update(
        days=[
            {
                "date": d,
                "count": len(found[d]),
                "url": query_url(keep, day=d.isoformat()),
                "current": d == day,
            }
            for d in sorted(found)[:BOOKING_DAYS]
        ],
        day=day,
        slots=[
            {"local_start": wall(slot.start, zone), "value": utc_text(slot.start)}
            for slot in (found.get(day, []) if day else [])
        ],
        earlier_url=query_url(keep, **{"from": _shift(first_day, -BOOKING_DAYS, today)})
        if first_day > today
        else None,
        later_url=query_url(
            keep, **{"from": (first_day + timedelta(days=BOOKING_DAYS)).isoformat()}
        ),
    )
    status = 409 if context["alternatives"] is not None else 200
    return render(request, "scheduling/reschedule.html", context, status=status)


def _shift(day: date, days: int, floor: date) -> str:
    return max(day + timedelta(days=days), floor).isoformat()
