"""Waitlist pages: the waitlist in order (clinic: everyone's, with offers; patients: their
own), joining (clinic members for a patient, patients for themselves), leaving, and the
claim page a waitlist offer links to. The claim page needs no sign-in: the link arrives by
SMS or email, and its signature is the credential."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from caresync.accounts.views import _no_organization, _paginate, authorize_page, form_errors_from
from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.core.policy import Actor, can
from caresync.directory.selectors import (
    patient_list,
    patient_reads_record,
    patient_search,
    practitioner_list,
    service_list,
)
from caresync.scheduling.models import WaitlistEntry, WaitlistOffer
from caresync.scheduling.selectors import practitioner_time_zone
from caresync.scheduling.services import waitlist_join, waitlist_leave, waitlist_offer_claim
from caresync.scheduling.views.common import (
    is_clinic,
    organization_zone,
    query_url,
    safe_next,
    wall,
)
from caresync.scheduling.waitlist_selectors import (
    waitlist_entry_list,
    waitlist_offer_by_token,
    waitlist_offer_token,
)
from caresync.web.forms import StyledForm

E = WaitlistEntry.Status
ACTIVE = (E.WAITING, E.OFFERED)
STATUS_TONES = {
    E.WAITING: "info",
    E.OFFERED: "warning",
    E.BOOKED: "ok",
    E.CANCELLED: "danger",
    E.EXPIRED: "danger",
}
DAY_PART_LABELS = {"morning": "Mornings", "afternoon": "Afternoons", "evening": "Evenings"}


class WaitlistJoinForm(StyledForm):
    service = forms.ModelChoiceField(queryset=None, empty_label="Choose a service")
    practitioner = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Any practitioner"
    )
    earliest_date = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The first day that would suit (empty: from today).",
    )
    latest_date = forms.DateField(
        label="Until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The last day that would suit (empty: any).",
    )
    preferred_times = forms.MultipleChoiceField(
        label="Times of day",
        choices=WaitlistEntry.DayPart.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-list__input"}),
        help_text="Leave all unticked for any time of day.",
    )
    notes = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Visible to the clinic only.",
    )

    def __init__(self, *args, services, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["practitioner"].queryset = practitioners


class WaitlistFilterForm(StyledForm):
    STATUS_CHOICES = [("active", "Waiting or offered"), ("", "Any status"), *E.choices]

    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, initial="active")
    service = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any service")

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services


def _offer_zone(offer: WaitlistOffer) -> ZoneInfo:
    return ZoneInfo(practitioner_time_zone(offer.practitioner))


def _decorated(entries, zone: ZoneInfo, *, claim_links: bool = False) -> list[WaitlistEntry]:
    """Status tone, readable day parts and the newest offer in local time, for templates;
    with ``claim_links`` (the patient's own page), the link of an open offer."""
    rows = list(entries)
    for entry in rows:
        entry.tone = STATUS_TONES.get(entry.status, "info")
        entry.day_parts = [
            DAY_PART_LABELS[p] for p in entry.preferred_times if p in DAY_PART_LABELS
        ]
        entry.local_joined = wall(entry.created_at, zone)
        offers = list(entry.offers.all())
        entry.offer = offers[0] if offers else None
        if entry.offer is not None:
            entry.offer.local_start = wall(entry.offer.start, zone)
            entry.offer.local_expires = wall(entry.offer.expires_at, zone)
            entry.offer.is_open = (
                entry.offer.status == WaitlistOffer.Status.OPEN
                and entry.offer.expires_at > timezone.now()
            )
            entry.offer.claim_url = (
                reverse("waitlist-offer", args=[waitlist_offer_token(entry.offer)])
                if claim_links and entry.offer.is_open
                else ""
            )
    return rows


@login_required
def waitlist(request):
    """The waitlist in the order patients joined: clinic members see the organization's,
    with each entry's latest offer, and may add and remove patients; patients their own."""
    actor = authorize_page(request, "waitlist.list")
    if actor.organization is None:
        return _no_organization(request, "Waitlist")
    clinic = is_clinic(actor)
    services = service_list(actor=actor).filter(is_active=True)
    filters = WaitlistFilterForm(request.GET or None, services=services)
    wanted = filters.cleaned_data if filters.is_valid() else {"status": "active", "service": None}
    rows = waitlist_entry_list(actor=actor)
    if wanted["status"] == "active" or not filters.is_bound:
        rows = rows.filter(status__in=ACTIVE)
    elif wanted["status"]:
        rows = rows.filter(status=wanted["status"])
    if wanted.get("service"):
        rows = rows.filter(service=wanted["service"])
    page = _paginate(request, rows)
    zone = organization_zone(actor.organization)
    page.object_list = _decorated(page.object_list, zone, claim_links=not clinic)
    if clinic:
        shown = {entry.patient_id: entry.patient for entry in page.object_list}
        patient_reads_record(actor=actor, patients=shown.values())
    return render(
        request,
        "scheduling/waitlist.html",
        {
            "organization": actor.organization,
            "filters": filters,
            "page_obj": page,
            "first_position": page.start_index(),
            "filtered": any(request.GET.get(name) for name in ("status", "service")),
            "clinic": clinic,
            "can_join": can(actor, "waitlist.join"),
            "can_manage": can(actor, "waitlist.manage"),
            "zone_name": str(zone),
        },
    )


def _join_patient(request, actor: Actor):
    """The patient being put on the waitlist: the chosen one (clinic) or oneself."""
    patients = patient_list(actor=actor).filter(is_active=True)
    if not is_clinic(actor):
        return patients.first()
    wanted = request.POST.get("patient") or request.GET.get("patient")
    if not wanted:
        return None
    if not str(wanted).isdigit():
        raise Http404("No such patient.")
    return get_object_or_404(patients, pk=int(wanted))


@login_required
@require_http_methods(["GET", "POST"])
def waitlist_join_page(request):
    """Put a patient (clinic members: found by search first) or oneself on the waitlist;
    the service and practitioner may come prefilled from the booking page."""
    actor = authorize_page(request, "waitlist.join")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Join the waitlist")
    clinic = is_clinic(actor)
    patient = _join_patient(request, actor)
    context = {"clinic": clinic, "patient": patient, "organization": organization}
    if patient is None and not clinic:
        context["step"] = "no_record"
        return render(request, "scheduling/waitlist_join.html", context)
    prefill = {
        key: request.GET[key]
        for key in ("service", "practitioner")
        if request.GET.get(key, "").isdigit()
    }
    if patient is None:
        query = request.GET.get("q", "").strip()
        found = list(patient_search(patient_list(actor=actor).filter(is_active=True), query)[:10])
        patient_reads_record(actor=actor, patients=found, reason="waitlist")
        context.update(
            step="patient",
            query=query,
            prefill=prefill,
            patient_results=[(p, query_url(prefill, patient=p.pk)) for p in found],
        )
        return render(request, "scheduling/waitlist_join.html", context)
    if clinic:
        patient_reads_record(actor=actor, patients=[patient], reason="waitlist")
    services = (
        service_list(actor=actor).filter(is_active=True, practitioners__is_active=True).distinct()
    )
    practitioners = practitioner_list(actor=actor).filter(is_active=True)
    form = WaitlistJoinForm(
        request.POST if request.method == "POST" else None,
        initial=prefill,
        services=services,
        practitioners=practitioners,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            waitlist_join(
                actor=request.user,
                organization=organization,
                patient=patient,
                service=data["service"],
                practitioner=data["practitioner"],
                earliest_date=data["earliest_date"],
                latest_date=data["latest_date"],
                preferred_times=data["preferred_times"],
                notes=data["notes"],
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            who = f"{patient.display_name} is" if clinic else "You are"
            messages.success(
                request,
                f"{who} on the waitlist for {data['service'].name}. A freed time that suits "
                "is offered by a link that stays open for a limited time; the first to take "
                "it books it.",
            )
            return redirect("waitlist" if clinic else "appointment-list")
    context.update(step="form", form=form)
    return render(request, "scheduling/waitlist_join.html", context)


@login_required
@require_POST
def waitlist_leave_page(request, pk: int):
    """Take an entry off the waitlist (patients: their own), then go back."""
    actor = authorize_page(request, "waitlist.list")
    entry = get_object_or_404(waitlist_entry_list(actor=actor), pk=pk)
    clinic = is_clinic(actor)
    authorize_page(request, "waitlist.manage" if clinic else "waitlist.join", entry)
    back = safe_next(request, reverse("waitlist" if clinic else "appointment-list"))
    try:
        waitlist_leave(actor=request.user, entry=entry, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        who = f"{entry.patient.display_name} is" if clinic else "You are"
        messages.success(request, f"{who} off the waitlist for {entry.service.name}.")
    return redirect(back)


# --- The claim page ----------------------------------------------------------------------

STATE_FOR_CODE = {"offer_claimed": "claimed", "offer_taken": "taken", "offer_expired": "expired"}


def _offer_state(offer: WaitlistOffer, now: datetime) -> str:
    status = WaitlistOffer.Status
    if offer.status == status.CLAIMED:
        return "claimed"
    if offer.status == status.EXPIRED or (offer.status == status.OPEN and offer.expires_at <= now):
        return "expired"
    if offer.status == status.WITHDRAWN:
        return "taken"
    return "open"


STATE_STATUS = {"open": 200, "claimed": 200, "booked": 200, "taken": 409, "expired": 410}


@never_cache
@require_http_methods(["GET", "POST"])
def waitlist_offer(request, token: str):
    """An offered time and a "Book this time" button (GET); booking it (POST). Booked,
    taken and expired offers explain themselves (200, 409, 410); unknown links are 404."""
    offer = waitlist_offer_by_token(token=token)
    if offer is None:
        raise Http404("No such offer.")
    entry = offer.entry
    problem = ""
    if request.method == "POST":
        try:
            waitlist_offer_claim(
                token_or_offer=token,
                actor=request.user if request.user.is_authenticated else None,
            )
        except ApplicationError as exc:
            if exc.status_code == 404:
                raise Http404("No such offer.") from exc
            state, problem = STATE_FOR_CODE.get(exc.code, "taken"), exc.message
        else:
            state = "booked"
        offer.refresh_from_db()
    else:
        state = _offer_state(offer, timezone.now())
        audit_record(
            actor=None,
            action="read",
            organization=entry.organization,
            obj=entry,
            patient_id=entry.patient_id,
            reason="waitlist claim link",
            actor_label="waitlist claim link",
        )
    zone = _offer_zone(offer)
    response = render(
        request,
        "scheduling/waitlist_offer.html",
        {
            "offer": offer,
            "entry": entry,
            "service": entry.service,
            "organization": entry.organization,
            "state": state,
            "problem": problem,
            "local_start": wall(offer.start, zone),
            "local_end": wall(offer.end, zone),
            "local_expires": wall(offer.expires_at, zone),
            "zone_name": str(zone),
            "token": waitlist_offer_token(offer),
        },
        status=STATE_STATUS[state],
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
