"""Booking, step by step: (patient,) service, practitioner, day, time, confirm."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from caresync.accounts.views import _no_organization, authorize_page
from caresync.core.errors import ApplicationError
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    patient_search,
    practitioner_list,
    service_list,
)
from caresync.scheduling.forms import (
    ANY,
    BookingForm,
    local_midnight,
)
from caresync.scheduling.selectors import appointment_list
from caresync.scheduling.services import (
    appointment_book,
    slots_search,
)
from caresync.scheduling.slots import Interval, Slot
from caresync.scheduling.views.common import (
    BOOKING_DAYS,
    alternatives_shown,
    decorate,
    is_clinic,
    organization_zone,
    query_url,
    slot_days,
    utc_text,
    wall,
)
from caresync.scheduling.views.series import repeat_form


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
    # What the staff calendar chose (a practitioner column, a day, a time) rides along the
    # steps that come before it is used.
    ahead = {name: request.GET.get(name, "") for name in ("practitioner", "day", "start")}

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
            patient_results=[(p, query_url(ahead, patient=p.pk)) for p in found],
            ahead=[(name, value) for name, value in ahead.items() if value],
        )
        return render(request, "scheduling/booking.html", context)
    if clinic:
        patient_reads_record(actor=actor, patients=[patient], reason="booking")

    start = data.get("start")
    if request.method == "POST":
        if service is None or start is None or choice is None:
            messages.error(request, "Choose a service and a time first.")
            return redirect(reverse("booking") + query_url(base))
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
                context["alternatives"] = alternatives_shown(actor, exc, zone)
            else:
                context["problem"] = exc.message
        else:
            return redirect("booking-success", pk=appointment.pk)

    base["service"] = service.pk if service else None
    if service is None:
        offered = services.filter(practitioners__is_active=True).distinct()
        context.update(
            step="service",
            services=[(s, query_url({**ahead, **base}, service=s.pk)) for s in offered],
        )
        return render(request, "scheduling/booking.html", context)
    context["change_service_url"] = query_url(base, service=None)

    offering = practitioners.filter(services=service)
    if choice is None:
        context.update(
            step="practitioner",
            any_url=query_url({**ahead, **base}, practitioner=ANY),
            practitioner_options=[
                (p, query_url({**ahead, **base}, practitioner=p.pk)) for p in offering
            ],
        )
        return render(request, "scheduling/booking.html", context)
    base["practitioner"] = ANY if choice == ANY else practitioner.pk
    context["change_practitioner_url"] = query_url(base, practitioner=None)
    names = {p.pk: str(p) for p in offering}

    if start is not None:
        local = wall(start, zone)
        context.update(
            step="confirm",
            start=start,
            start_value=utc_text(start),
            local_start=local,
            local_end=local + timedelta(minutes=service.duration_minutes),
            change_time_url=query_url(base, day=local.date().isoformat()),
            repeat_form=repeat_form(
                actor=actor,
                patient=patient,
                service=service,
                practitioner=practitioner,
                start=start,
            ),
        )
        return render(
            request,
            "scheduling/booking.html",
            context,
            status=409 if context.get("alternatives") else 200,
        )

    today = timezone.localdate(timezone=zone)
    window = Interval(timezone.now(), local_midnight(today + timedelta(days=BOOKING_DAYS), zone))
    found = slot_days(
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
                "url": query_url(base, day=d.isoformat()),
                "current": d == day,
            }
            for d in sorted(found)[:BOOKING_DAYS]
        ],
        day=day,
        slots=[
            {
                "local_start": wall(slot.start, ZoneInfo(slot.time_zone)),
                "practitioner": names.get(slot.practitioner_id, "") if practitioner else "",
                "url": query_url(base, day=day.isoformat(), start=utc_text(slot.start)),
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
