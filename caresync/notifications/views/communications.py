"""Staff: the communications dashboard (every message to and from patients, filtered and
searched), the SMS inbox with replies, and a patient's Correspondence tab. Patients: their
own contact preferences and quiet hours."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from caresync.accounts.views import _no_organization, _paginate, authorize_page, form_errors_from
from caresync.core import policy
from caresync.core.errors import ApplicationError
from caresync.core.policy import can
from caresync.directory.selectors import patient_list, patient_reads_record
from caresync.notifications.models import Channel, ContactPreference, Notification
from caresync.notifications.selectors import (
    correspondence_for_organization,
    correspondence_timeline,
    inbound_for_organization,
)
from caresync.notifications.services import contact_preference_save, notification_retry
from caresync.notifications.sms_inbound import inbound_message_handle, inbound_message_reply
from caresync.notifications.views.inbox import _safe_next
from caresync.web.forms import StyledForm

N = Notification.Status
STATUS_TONES = {
    N.QUEUED: "warning",
    N.SENDING: "warning",
    N.SENT: "info",
    N.DELIVERED: "ok",
    N.FAILED: "danger",
    N.CANCELLED: "",
}


class CommunicationFilterForm(StyledForm):
    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "Patient, address or text"}),
    )
    channel = forms.ChoiceField(choices=[("", "All channels"), *Channel.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *N.choices], required=False)


class ReplyForm(StyledForm):
    body = forms.CharField(
        label="Reply by text message", max_length=640, widget=forms.Textarea(attrs={"rows": 3})
    )


@login_required
def communications(request):
    """Every message to patients of the organization, newest first, with delivery status."""
    actor = authorize_page(request, "correspondence.list")
    if actor.organization is None:
        return _no_organization(request, "Communications")
    filters = CommunicationFilterForm(request.GET or None)
    rows = correspondence_for_organization(actor=actor)
    wanted = filters.cleaned_data if filters.is_valid() else {}
    if wanted.get("channel"):
        rows = rows.filter(channel=wanted["channel"])
    if wanted.get("status"):
        rows = rows.filter(status=wanted["status"])
    if wanted.get("q"):
        q = wanted["q"]
        rows = rows.filter(
            Q(patient__given_name__icontains=q)
            | Q(patient__family_name__icontains=q)
            | Q(to_address__icontains=q)
            | Q(subject__icontains=q)
            | Q(body__icontains=q)
        )
    page = _paginate(request, rows)
    for row in page.object_list:
        row.tone = STATUS_TONES.get(row.status, "")
    patient_reads_record(
        actor=actor, patients={r.patient_id: r.patient for r in page if r.patient_id}.values()
    )
    week = correspondence_for_organization(actor=actor).filter(
        created_at__gte=timezone.now() - timedelta(days=7)
    )
    counts = dict(week.values_list("status").annotate(total=Count("id")).order_by())
    return render(
        request,
        "notifications/communications.html",
        {
            "filters": filters,
            "page_obj": page,
            "filtered": any(request.GET.get(k) for k in ("q", "channel", "status")),
            "week": {
                "delivered": counts.get(N.DELIVERED, 0) + counts.get(N.SENT, 0),
                "waiting": counts.get(N.QUEUED, 0) + counts.get(N.SENDING, 0),
                "failed": counts.get(N.FAILED, 0),
            },
            "can_retry": can(actor, "correspondence.reply"),
            "unhandled": inbound_for_organization(actor=actor)
            .filter(handled_at__isnull=True)
            .count(),
        },
    )


@login_required
@require_POST
def communication_retry(request, pk: int):
    """Send a failed message again."""
    actor = authorize_page(request, "correspondence.list")
    notification = get_object_or_404(correspondence_for_organization(actor=actor), pk=pk)
    authorize_page(request, "correspondence.reply", notification)
    try:
        notification_retry(actor=request.user, notification=notification)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The message is queued to be sent again.")
    return redirect(_safe_next(request, "communications"))


@login_required
def sms_inbox(request):
    """Text messages from patients that need a person: unanswered first."""
    actor = authorize_page(request, "correspondence.list")
    if actor.organization is None:
        return _no_organization(request, "Text messages")
    show_all = request.GET.get("show") == "all"
    rows = (
        inbound_for_organization(actor=actor).order_by("handled_at", "-received_at")
        if show_all
        else inbound_for_organization(actor=actor).filter(handled_at__isnull=True)
    )
    page = _paginate(request, rows)
    patient_reads_record(
        actor=actor, patients={r.patient_id: r.patient for r in page if r.patient_id}.values()
    )
    return render(
        request,
        "notifications/sms_inbox.html",
        {
            "page_obj": page,
            "show_all": show_all,
            "reply_form": ReplyForm(),
            "can_reply": can(actor, "correspondence.reply"),
        },
    )


@login_required
@require_POST
def sms_inbox_reply(request, pk: int):
    actor = authorize_page(request, "correspondence.list")
    message = get_object_or_404(inbound_for_organization(actor=actor), pk=pk)
    authorize_page(request, "correspondence.reply", message)
    if request.POST.get("intent") == "done":
        inbound_message_handle(actor=request.user, message=message)
        messages.success(request, "Marked as dealt with.")
        return redirect("sms-inbox")
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            inbound_message_reply(
                actor=request.user, message=message, body=form.cleaned_data["body"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Reply sent to {message.from_number}.")
    else:
        messages.error(request, "Write a reply (up to 640 characters).")
    return redirect("sms-inbox")


def patient_tab_context(request, actor, patient) -> dict:
    """The patient record's Correspondence tab (the page audits the patient read)."""
    channel = request.GET.get("channel", "")
    if channel not in ("", "email", "sms", "sms_in", "in_app"):
        channel = ""
    items = correspondence_timeline(patient=patient, channel=channel)
    for item in items:
        item["tone"] = STATUS_TONES.get(item["status"], "info" if item["direction"] == "in" else "")
    try:
        preference = patient.contact_preference
    except ContactPreference.DoesNotExist:
        preference = None
    return {
        "records_tab": "notifications/partials/correspondence_tab.html",
        "correspondence": items,
        "correspondence_channel": channel,
        "contact_preference": preference,
        "can_edit_preferences": can(actor, "patient.update", patient),
    }


class PreferenceForm(StyledForm):
    email = forms.BooleanField(required=False, label="Email")
    sms = forms.BooleanField(required=False, label="Text messages (SMS)")
    in_app = forms.BooleanField(required=False, label="In CareSync (the bell)")
    quiet_start = forms.TimeField(
        required=False,
        label="Quiet hours from",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="No text messages between these times (clinic time); they wait until after.",
    )
    quiet_end = forms.TimeField(
        required=False, label="Quiet hours until", widget=forms.TimeInput(attrs={"type": "time"})
    )


@login_required
def contact_preferences(request):
    """Patients: how the clinic reaches them, and quiet hours for text messages."""
    actor = authorize_page(request, "notification.list")
    if policy.PATIENT not in actor.roles:
        raise PermissionDenied("Contact preferences are set by patients for themselves.")
    if actor.organization is None:
        return _no_organization(request, "Contact preferences")
    patient = patient_list(actor=actor).filter(is_active=True).first()
    if patient is None:
        return _no_organization(request, "Contact preferences")
    return _preferences_page(request, patient, done="contact-preferences")


@login_required
def patient_contact_preferences(request, pk: int):
    """Clinic staff record how a patient wants to be reached (told on the phone, at the
    desk): the same choices as the patient's own page, audited as the staff member's."""
    actor = authorize_page(request, "patient.directory")
    patient = get_object_or_404(patient_list(actor=actor), pk=pk)
    authorize_page(request, "patient.update", patient)
    patient_reads_record(actor=actor, patients=[patient])  # the page shows contact details
    return _preferences_page(request, patient, done=None)


def _preferences_page(request, patient, *, done: str | None):
    """The preferences form for ``patient``; after saving, back to ``done`` (a URL name),
    or to the patient's Correspondence tab when staff edit them."""
    from caresync.notifications.fanout import patient_channels

    current = patient_channels(patient)
    try:
        saved = patient.contact_preference
    except ContactPreference.DoesNotExist:
        saved = None
    initial = {
        "email": saved.email if saved else Channel.EMAIL in current or not patient.email,
        "sms": saved.sms if saved else Channel.SMS in current,
        "in_app": saved.in_app if saved else True,
        "quiet_start": saved.quiet_start if saved else None,
        "quiet_end": saved.quiet_end if saved else None,
    }
    form = PreferenceForm(request.POST or None, initial=initial)
    correspondence = f"{reverse('patient-detail', args=[patient.pk])}?tab=correspondence"
    if request.method == "POST" and form.is_valid():
        try:
            contact_preference_save(actor=request.user, patient=patient, **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            if done:
                messages.success(request, "Your contact preferences are saved.")
                return redirect(done)
            messages.success(request, f"{patient.display_name}'s contact preferences are saved.")
            return redirect(correspondence)
    return render(
        request,
        "notifications/contact_preferences.html",
        {
            "form": form,
            "patient": patient,
            "for_staff": done is None,
            "back_url": correspondence if done is None else "",
        },
    )
