"""Organization admins: notification templates (edit with a live preview, back to the
default), SMS detail and default reminder times."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from caresync.accounts.views import _no_organization, authorize_page, form_errors_from
from caresync.core.errors import ApplicationError
from caresync.directory.models import Service
from caresync.notifications.defaults import DEFAULTS, key_label
from caresync.notifications.models import (
    Channel,
    NotificationSettings,
    NotificationTemplate,
    ReminderSchedule,
)
from caresync.notifications.rendering import (
    ALLOWED_VARIABLES,
    TemplateProblem,
    render_template,
    sms_segments,
)
from caresync.notifications.services import (
    notification_settings_save,
    notification_template_reset,
    notification_template_save,
)
from caresync.web.forms import StyledForm

CHANNEL_LABELS = dict(Channel.choices)


def sample_context(organization, *, sms: bool = False, include_service: bool = False) -> dict:
    """Made-up values for the preview (no patient's data)."""
    context = {
        "patient": {"first_name": "Alex", "name": "Alex Example"},
        "practitioner": {"name": "Dr Sam Carter"},
        "appointment": {
            "when": "Tue 3 Mar 2026, 10:30 am AEDT",
            "date": "Tuesday 3 March 2026",
            "time": "10:30 am",
            "end_time": "11:00 am",
            "time_zone": organization.time_zone,
            "status": "Scheduled",
            "reference": "1234",
            "previous_when": "Mon 2 Mar 2026, 9:00 am AEDT",
        },
        "service": {"name": "Consultation", "preparation": "Bring your medication list."},
        "location": {"name": "Main clinic", "address": "1 Example Street", "phone": ""},
        "organization": {
            "name": organization.name,
            "phone": organization.phone,
            "email": organization.email,
        },
        "reminder": {"lead": "tomorrow"},
        "offer": {"expires": "Mon 2 Mar 2026, 11:00 am AEDT"},
        "links": {
            "appointment": "https://caresync.example/appointments/1234/",
            "appointments": "https://caresync.example/appointments/",
            "claim": "https://caresync.example/waitlist/offers/…/",
            "notifications": "https://caresync.example/notifications/",
            "reports": "https://caresync.example/my-reports/",
        },
    }
    if sms:
        context["service"] = {"name": "Consultation"} if include_service else {}
    return context


class TemplateForm(StyledForm):
    subject = forms.CharField(max_length=255, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}))
    html = forms.CharField(
        label="HTML body",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Optional: without it the email's HTML is the text above, with links.",
    )

    def __init__(self, *args, channel: str, **kwargs):
        super().__init__(*args, **kwargs)
        if channel != Channel.EMAIL:
            del self.fields["html"]
        if channel == Channel.SMS:
            del self.fields["subject"]
        else:
            self.fields["subject"].label = "Subject" if channel == Channel.EMAIL else "Title"


class SettingsForm(StyledForm):
    sms_include_service = forms.BooleanField(
        required=False,
        label="Name the service in text messages",
        help_text="Off by default: text messages carry the time, never clinical detail.",
    )
    reminders = forms.CharField(
        max_length=60,
        label="Reminder times (hours before)",
        help_text="Comma-separated, e.g. 24, 2. Services may have their own.",
    )

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = list(services)
        for service in self.services:
            self.fields[f"service_{service.pk}"] = forms.CharField(
                max_length=60,
                required=False,
                label=service.name,
                widget=forms.TextInput(attrs={"placeholder": "Organization default"}),
            )
        for name, field in self.fields.items():
            if name.startswith("service_"):
                field.widget.attrs.setdefault("class", "input")

    def service_fields(self):
        return [self[f"service_{service.pk}"] for service in self.services]

    def clean_reminders(self):
        return self._hours(self.cleaned_data["reminders"]) or []

    def clean(self):
        cleaned = super().clean()
        for service in self.services:
            name = f"service_{service.pk}"
            if name in cleaned:
                try:
                    cleaned[name] = self._hours(cleaned[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    @staticmethod
    def _hours(text: str) -> list[int] | None:
        """Minutes from "24, 2" (hours); "none" for no reminders; empty: None."""
        text = (text or "").strip().lower()
        if not text:
            return None
        if text in ("none", "0", "off"):
            return []
        try:
            hours = [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError("Write hours as numbers, e.g. 24, 2.") from exc
        return [round(h * 60) for h in hours]

    def service_offsets(self) -> dict:
        return {s: self.cleaned_data.get(f"service_{s.pk}") for s in self.services}


def _templates_table(organization) -> list[dict]:
    saved = {
        (t.event_kind, t.channel): t
        for t in NotificationTemplate.objects.filter(organization=organization)
    }
    rows = []
    for key, channel in DEFAULTS:
        rows.append(
            {
                "key": key,
                "label": key_label(key),
                "channel": channel,
                "channel_label": CHANNEL_LABELS[channel],
                "custom": (key, channel) in saved,
            }
        )
    return rows


@login_required
def notification_settings(request):
    """Templates per event and channel, SMS detail, default reminder times."""
    actor = authorize_page(request, "notification_template.manage")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Notifications")
    current = NotificationSettings.objects.filter(organization=organization).first()
    schedule = ReminderSchedule.objects.filter(organization=organization, service=None).first()
    from django.conf import settings as django_settings

    offsets = schedule.offsets_minutes if schedule else django_settings.REMINDER_OFFSETS_MINUTES
    initial = {
        "sms_include_service": bool(current and current.sms_include_service),
        "reminders": ", ".join(f"{m / 60:g}" for m in offsets),
    }
    services = Service.objects.filter(organization=organization, is_active=True).order_by("name")
    for schedule in ReminderSchedule.objects.filter(
        organization=organization, service__isnull=False
    ):
        initial[f"service_{schedule.service_id}"] = (
            ", ".join(f"{m / 60:g}" for m in schedule.offsets_minutes) or "none"
        )
    form = SettingsForm(request.POST or None, initial=initial, services=services)
    if request.method == "POST" and form.is_valid():
        try:
            notification_settings_save(
                actor=request.user,
                organization=organization,
                sms_include_service=form.cleaned_data["sms_include_service"],
                reminder_offsets=form.cleaned_data["reminders"],
                service_offsets=form.service_offsets(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Notification settings saved.")
            return redirect("notification-settings")
    return render(
        request,
        "notifications/settings.html",
        {"form": form, "templates": _templates_table(organization)},
    )


@login_required
def notification_template_edit(request, key: str, channel: str):
    """Edit one template, with a preview on made-up values; Save, Preview or Reset."""
    actor = authorize_page(request, "notification_template.manage")
    organization = actor.organization
    if organization is None:
        return _no_organization(request, "Notifications")
    default = DEFAULTS.get((key, channel))
    if default is None:
        raise Http404("No such template.")
    saved = NotificationTemplate.objects.filter(
        organization=organization, event_kind=key, channel=channel
    ).first()
    source = saved or default
    initial = {"subject": source.subject, "body": source.body, "html": getattr(source, "html", "")}
    form = TemplateForm(request.POST or None, initial=initial, channel=channel)
    intent = request.POST.get("intent", "preview")
    if request.method == "POST" and intent == "reset":
        notification_template_reset(
            actor=request.user, organization=organization, key=key, channel=channel
        )
        messages.success(request, "Back to the default wording.")
        return redirect("notification-template", key=key, channel=channel)
    preview = None
    if form.is_valid():
        data = {"subject": "", "html": "", **form.cleaned_data}
        if intent == "save" and request.method == "POST":
            try:
                notification_template_save(
                    actor=request.user,
                    organization=organization,
                    key=key,
                    channel=channel,
                    subject=data["subject"],
                    body=data["body"],
                    html=data["html"],
                )
            except ApplicationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, "Template saved. New notifications use it.")
                return redirect("notification-template", key=key, channel=channel)
        preview = _preview(organization, channel, data, form)
    return render(
        request,
        "notifications/template_edit.html",
        {
            "form": form,
            "key": key,
            "label": key_label(key),
            "channel": channel,
            "channel_label": CHANNEL_LABELS[channel],
            "custom": saved is not None,
            "preview": preview,
            "variables": [
                f"{{{{ {group}.{name} }}}}"
                for group, names in ALLOWED_VARIABLES.items()
                for name in names
            ],
        },
    )


def _preview(organization, channel, data, form) -> dict | None:
    include = NotificationSettings.objects.filter(
        organization=organization, sms_include_service=True
    ).exists()
    context = sample_context(organization, sms=channel == Channel.SMS, include_service=include)
    try:
        subject = render_template(data["subject"], context)
        body = render_template(data["body"], context)
        html = render_template(data["html"], context, autoescape=True) if data["html"] else ""
    except TemplateProblem as exc:
        form.add_error(None, str(exc))
        return None
    segments, encoding = sms_segments(body)
    return {
        "subject": subject,
        "body": body,
        "html": html,
        "length": len(body),
        "segments": segments,
        "encoding": encoding,
    }
