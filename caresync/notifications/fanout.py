"""Fan-out: an outbox event becomes Notification rows, in the event's own transaction.

Who hears about what: the patient on their channels (email, SMS, in-app, following their
preferences and the SMS opt-out list), the practitioner in-app; nobody is told in-app
about their own action. Each row is rendered now, from the organization's template or
the shipped default, over plain strings (``rendering``). Delivery is queued on commit."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks, urlize

from caresync.notifications.defaults import DEFAULTS, PRACTITIONER
from caresync.notifications.models import (
    Channel,
    ContactPreference,
    Notification,
    NotificationSettings,
    NotificationTemplate,
    OutboxEvent,
    SmsOptOut,
)
from caresync.notifications.phones import e164
from caresync.notifications.rendering import TemplateProblem, render_template

logger = logging.getLogger(__name__)

PATIENT_EVENTS = frozenset(
    {
        "appointment.booked",
        "appointment.requested",
        "appointment.approved",
        "appointment.rejected",
        "appointment.proposed",
        "appointment.rescheduled",
        "appointment.cancelled",
        "appointment.no_show",
        "appointment.reminder",
        "waitlist.offered",
        "report.ready",
    }
)
PRACTITIONER_EVENTS = frozenset(
    {
        "appointment.booked",
        "appointment.requested",
        "appointment.cancelled",
        "appointment.rescheduled",
        "appointment.confirmed",
        "appointment.proposal_accepted",
        "appointment.proposal_declined",
        "report.ready",
    }
)
HANDLED = PATIENT_EVENTS | PRACTITIONER_EVENTS


# --- Who -----------------------------------------------------------------------------------


def patient_channels(patient) -> dict[str, str]:
    """{channel: address} the patient is reached on. Without saved preferences: email when
    they have an address, SMS when they consented or prefer it, in-app with a login."""
    try:
        preference = patient.contact_preference
    except ContactPreference.DoesNotExist:
        preference = None
    wants_sms = (
        preference.sms
        if preference
        else (patient.consent_sms or "sms" in (patient.preferred_channels or []))
    )
    channels = {}
    if patient.email and (preference.email if preference else True):
        channels[Channel.EMAIL] = patient.email
    phone = e164(patient.phone, patient.organization.country)
    if phone and wants_sms and not SmsOptOut.objects.filter(phone=phone).exists():
        channels[Channel.SMS] = phone
    if patient.user_id and (preference.in_app if preference else True):
        channels[Channel.IN_APP] = ""
    return channels


def quiet_until(preference, zone: str, now: datetime) -> datetime | None:
    """When the patient's quiet hours (local wall times, possibly across midnight) end, if
    ``now`` is inside them; else None."""
    if preference is None or preference.quiet_start is None or preference.quiet_end is None:
        return None
    start, end = preference.quiet_start, preference.quiet_end
    if start == end:
        return None
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    # Wall-clock arithmetic in the zone, then back to an instant.
    return ends.replace(tzinfo=None).replace(tzinfo=ZoneInfo(zone)).astimezone(now.tzinfo)


# --- What: the template context, plain strings only -----------------------------------------


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def format_when(moment: datetime, zone: str) -> str:
    """'Mon 2 Mar 2026, 9:30 am AEDT' in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    return (f"{local:%a} {local.day} {local:%b %Y}, {local_time(local)} {local.tzname()}").strip()


def local_time(local: datetime) -> str:
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def appointment_zone(appointment) -> str:
    if appointment.location_id and appointment.location.time_zone:
        return appointment.location.time_zone
    from caresync.scheduling.selectors import practitioner_time_zone

    return practitioner_time_zone(appointment.practitioner)


def appointment_context(appointment, *, previous_start: datetime | None = None) -> dict:
    zone = appointment_zone(appointment)
    local = appointment.start.astimezone(ZoneInfo(zone))
    organization = appointment.organization
    location = appointment.location
    return {
        "patient": {
            "first_name": appointment.patient.preferred_name or appointment.patient.given_name,
            "name": appointment.patient.display_name,
        },
        "practitioner": {"name": str(appointment.practitioner)},
        "appointment": {
            "when": format_when(appointment.start, zone),
            "date": f"{local:%A} {local.day} {local:%B %Y}",
            "time": local_time(local),
            "end_time": local_time(appointment.end.astimezone(ZoneInfo(zone))),
            "time_zone": zone,
            "status": appointment.get_status_display(),
            "reference": str(appointment.pk),
            "previous_when": format_when(previous_start, zone) if previous_start else "",
        },
        "service": {
            "name": appointment.service.name,
            "preparation": appointment.service.preparation_instructions,
        },
        "location": {
            "name": location.name if location else "",
            "address": location.address if location else "",
            "phone": location.phone if location else "",
        },
        "organization": {
            "name": organization.name,
            "phone": organization.phone,
            "email": organization.email,
        },
        "links": {
            "appointment": _site(reverse("appointment-detail", args=[appointment.pk]))
            if appointment.pk
            else "",
            "appointments": _site(reverse("appointment-list")),
            "notifications": _site(reverse("notification-inbox")),
        },
    }


def reminder_lead(offset_minutes: int) -> str:
    if offset_minutes >= 1440 and offset_minutes % 1440 == 0:
        days = offset_minutes // 1440
        return "tomorrow" if days == 1 else f"in {days} days"
    if offset_minutes >= 60 and offset_minutes % 60 == 0:
        hours = offset_minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {offset_minutes} minutes"


@dataclass
class About:
    """What an event's notifications are about, as fan-out needs it."""

    patient: object
    context: dict
    zone: str
    patient_link: str  # in-app links are site paths
    practitioner_user_id: int | None = None
    practitioner_link: str = ""
    start: datetime | None = None
    end: datetime | None = None  # None: not tied to a time
    series_id: int | None = None
    appointment_id: int | None = None


def _path(url: str) -> str:
    return urlsplit(url).path if url else ""


def _about_appointment(appointment, context) -> About:
    link = _path(context["links"]["appointment"] or context["links"].get("claim", ""))
    return About(
        patient=appointment.patient,
        context=context,
        zone=context["appointment"]["time_zone"],
        patient_link=link,
        practitioner_user_id=appointment.practitioner.user_id,
        practitioner_link=link,
        start=appointment.start,
        end=appointment.end,
        series_id=appointment.series_id,
        appointment_id=appointment.pk,
    )


def _event_subject(event: OutboxEvent) -> About | None:
    """What the event is about, or None when it is gone."""
    from caresync.scheduling.models import Appointment, WaitlistOffer

    payload = event.payload or {}
    if event.kind == "report.ready":
        return _about_report(payload)
    if event.kind == "waitlist.offered":
        offer = (
            WaitlistOffer.objects.select_related(
                "entry__patient__organization",
                "entry__service",
                "entry__organization",
                "practitioner__user",
                "practitioner__organization",
            )
            .filter(pk=payload.get("offer"))
            .first()
        )
        if offer is None:
            return None
        from caresync.scheduling.waitlist_selectors import waitlist_offer_url

        appointment = Appointment(
            organization=offer.entry.organization,
            patient=offer.entry.patient,
            practitioner=offer.practitioner,
            service=offer.entry.service,
            start=offer.start,
            end=offer.end,
            status=Appointment.Status.SCHEDULED,
        )
        context = appointment_context(appointment)
        zone = context["appointment"]["time_zone"]
        context["offer"] = {"expires": format_when(offer.expires_at, zone)}
        context["links"]["claim"] = waitlist_offer_url(offer)
        return _about_appointment(appointment, context)
    appointment = (
        Appointment.objects.select_related(
            "patient__organization",
            "patient__contact_preference",
            "practitioner__user",
            "practitioner__organization",
            "service",
            "location",
            "organization",
        )
        .filter(pk=payload.get("appointment"))
        .first()
    )
    if appointment is None:
        return None
    previous = payload.get("from_start")
    context = appointment_context(
        appointment, previous_start=datetime.fromisoformat(previous) if previous else None
    )
    if event.kind == "appointment.reminder":
        context["reminder"] = {"lead": reminder_lead(int(payload.get("offset_minutes", 0)))}
    return _about_appointment(appointment, context)


def _reverse_or_blank(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _about_report(payload: dict) -> About | None:
    """A released report: the patient is told it is ready (never what it says); the
    referring doctor sees it in-app."""
    from caresync.directory.models import Patient, Practitioner

    patient = (
        Patient.objects.select_related("organization", "contact_preference", "user")
        .filter(pk=payload.get("patient"))
        .first()
    )
    if patient is None:
        return None
    organization = patient.organization
    doctor = (
        Practitioner.objects.filter(pk=payload.get("referring_doctor"))
        .select_related("user")
        .first()
    )
    reports = _reverse_or_blank("my-reports")
    report = _reverse_or_blank("radiology-report", payload.get("report"))
    context = {
        "patient": {
            "first_name": patient.preferred_name or patient.given_name,
            "name": patient.display_name,
        },
        "practitioner": {"name": str(doctor) if doctor else ""},
        "organization": {
            "name": organization.name,
            "phone": organization.phone,
            "email": organization.email,
        },
        "links": {
            "reports": _site(reports) if reports else "",
            "notifications": _site(reverse("notification-inbox")),
        },
    }
    return About(
        patient=patient,
        context=context,
        zone=organization.time_zone or "UTC",
        patient_link=reports,
        practitioner_user_id=doctor.user_id if doctor else None,
        practitioner_link=report,
    )


# --- Rendering -----------------------------------------------------------------------------


def saved_templates(organization_id: int | None, keys) -> dict:
    """{(key, channel): template} in force for these keys (one query): the organization's
    over an installation-wide override."""
    found: dict = {}
    rows = NotificationTemplate.objects.filter(
        Q(organization_id=organization_id) | Q(organization__isnull=True),
        event_kind__in=list(keys),
        is_active=True,
    )
    for row in rows:  # the organization's wins, whichever way the database orders them
        if row.organization_id is None and (row.event_kind, row.channel) in found:
            continue
        found[(row.event_kind, row.channel)] = row
    return found


def template_for(organization_id: int | None, key: str, channel: str, saved=None):
    """(subject, body, html) of the template in force: the organization's, else an
    installation-wide override, else the shipped default; None when there is none."""
    if saved is None:
        saved = saved_templates(organization_id, [key])
    chosen = saved.get((key, channel))
    if chosen is not None:
        return chosen.subject, chosen.body, chosen.html
    default = DEFAULTS.get((key, channel))
    return (default.subject, default.body, "") if default else None


def sms_context(context: dict, organization_id: int | None) -> dict:
    """Minimal PHI in SMS: no service name or preparation unless the organization chose
    to name the service."""
    include = (
        organization_id is not None
        and NotificationSettings.objects.filter(
            organization_id=organization_id, sms_include_service=True
        ).exists()
    )
    trimmed = dict(context)
    trimmed["service"] = {"name": context.get("service", {}).get("name", "")} if include else {}
    return trimmed


def email_html(body_text: str, html_fragment: str, context: dict) -> str:
    from django.template.loader import render_to_string

    content = html_fragment or linebreaks(urlize(escape(body_text)))
    return render_to_string(
        "notifications/email/layout.html",
        {"content": content, "organization_name": context.get("organization", {}).get("name")},
    )


def render_message(key: str, channel: str, context: dict, organization_id: int | None, saved=None):
    """(subject, body, html) for one channel; None when no template exists. A template
    that cannot render falls back to the shipped default (logged), so a bad edit never
    blocks the change it describes."""
    if channel == Channel.SMS:
        context = sms_context(context, organization_id)
    found = template_for(organization_id, key, channel, saved)
    if found is None:
        return None
    subject, body, html = found
    try:
        return _render(channel, subject, body, html, context)
    except TemplateProblem:
        logger.exception("Notification template %s/%s failed; using the default", key, channel)
        default = DEFAULTS.get((key, channel))
        if default is None:
            return None
        return _render(channel, default.subject, default.body, "", context)


def _render(channel, subject, body, html, context):
    rendered_subject = render_template(subject, context).replace("\n", " ")[:255]
    rendered_body = render_template(body, context)
    rendered_html = ""
    if channel == Channel.EMAIL:
        fragment = render_template(html, context, autoescape=True) if html else ""
        rendered_html = email_html(rendered_body, fragment, context)
    return rendered_subject, rendered_body, rendered_html


# --- Fan-out -------------------------------------------------------------------------------


def notifications_fan_out(event: OutboxEvent, *, now: datetime | None = None) -> list:
    """Create the notifications of ``event`` (in the caller's transaction) and queue their
    delivery for after commit. Events nobody is told about create nothing."""
    if event.kind not in HANDLED:
        return []
    about = _event_subject(event)
    now = now or timezone.now()
    if about is None:
        return []
    if about.end is not None and about.end < now and event.kind != "appointment.no_show":
        return []  # nobody is told about the past
    if _later_occurrence_of_a_series(event, about):
        return []
    actor_id = event.actor_id
    organization_id = event.organization_id
    patient = about.patient
    context = about.context
    saved = saved_templates(organization_id, [event.kind, event.kind + PRACTITIONER])
    rows: list[Notification] = []

    def add(key, channel, address, *, recipient_key, user_id=None, link=""):
        rendered = render_message(key, channel, context, organization_id, saved)
        if rendered is None:
            return
        subject, body, html = rendered
        rows.append(
            Notification(
                organization_id=organization_id,
                outbox_event=event,
                event_kind=event.kind,
                channel=channel,
                recipient_user_id=user_id,
                patient=patient,  # whom it is about
                recipient_key=recipient_key,
                to_address=address,
                subject=subject,
                body=body,
                html=html,
                link=link,
                next_attempt_at=now,
            )
        )

    if event.kind in PATIENT_EVENTS:
        for channel, address in patient_channels(patient).items():
            if channel == Channel.IN_APP and patient.user_id == actor_id:
                continue
            add(
                event.kind,
                channel,
                address,
                recipient_key=f"patient:{patient.pk}",
                user_id=patient.user_id,
                link=about.patient_link,
            )
    _defer_quiet_hours(rows, patient, about.zone, now, about.start)
    practitioner_user = about.practitioner_user_id
    if event.kind in PRACTITIONER_EVENTS and practitioner_user and practitioner_user != actor_id:
        add(
            event.kind + PRACTITIONER,
            Channel.IN_APP,
            "",
            recipient_key=f"user:{practitioner_user}",
            user_id=practitioner_user,
            link=about.practitioner_link,
        )
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    saved = list(Notification.objects.filter(outbox_event=event).values_list("pk", flat=True))
    delivery_queue(saved)
    return created


def _later_occurrence_of_a_series(event: OutboxEvent, about: About) -> bool:
    """A recurring series is booked visit by visit in one transaction: the first booking
    is announced, not each of the others (each still gets its reminders)."""
    if event.kind not in ("appointment.booked", "appointment.requested"):
        return False
    if not about.series_id:
        return False
    from caresync.scheduling.models import Appointment

    return (
        Appointment.objects.filter(series_id=about.series_id)
        .exclude(pk=about.appointment_id)
        .exists()
    )


def _defer_quiet_hours(rows, patient, zone, now, start) -> None:
    """Text messages wait for the end of the patient's quiet hours, unless that would be
    after the appointment starts (then they go now)."""
    try:
        preference = patient.contact_preference
    except ContactPreference.DoesNotExist:
        return
    until = quiet_until(preference, zone, now)
    if until is None or (start is not None and until >= start):
        return
    for row in rows:
        if row.channel == Channel.SMS:
            row.next_attempt_at = until


def delivery_queue(notification_ids: list[int]) -> None:
    """After commit, one delivery task per notification. A broker that is down loses
    nothing: the rows stay queued and the periodic sweep delivers them."""
    if not notification_ids:
        return
    from caresync.notifications.tasks import deliver_notification

    for notification_id in notification_ids:
        transaction.on_commit(partial(_enqueue, deliver_notification, notification_id), robust=True)


def _enqueue(task, notification_id: int) -> None:
    try:
        task.apply_async(args=[notification_id], retry=False)
    except Exception:  # the broker is down: the sweeper delivers it later
        logger.warning("Could not enqueue notification %s; the sweeper will", notification_id)


def retry_delay(attempt: int, *, rng) -> timedelta:
    """Exponential backoff with jitter: base × 2^(attempt−1), capped, then a random point
    in its upper half (so retries of many failures spread out)."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1)
    capped = min(settings.NOTIFICATION_RETRY_MAX_SECONDS, base)
    return timedelta(seconds=rng.uniform(capped / 2, capped))
