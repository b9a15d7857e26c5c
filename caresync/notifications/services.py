"""Notification writes other than delivery: reading, preferences, templates, provider
callbacks."""

from django.db import transaction
from django.utils import timezone

from caresync.notifications.models import Notification

N = Notification.Status
# Twilio MessageStatus → our status. https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
TWILIO_STATUSES = {
    "sent": N.SENT,
    "delivered": N.DELIVERED,
    "read": N.DELIVERED,
    "undelivered": N.FAILED,
    "failed": N.FAILED,
}
# A later callback never moves a message back (callbacks may arrive out of order).
RANK = {N.QUEUED: 0, N.SENDING: 1, N.SENT: 2, N.DELIVERED: 3, N.FAILED: 3}


@transaction.atomic
def notification_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark one of the actor's in-app notifications read (idempotent)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_read(*, actor, ids: list[int] | None = None) -> int:
    """Mark the actor's unread in-app notifications read: those in ``ids``, or all when
    ``ids`` is None. Others' ids are ignored. Returns how many changed."""
    from caresync.notifications.selectors import notification_inbox

    unread = notification_inbox(user=actor).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_provider_status_record(
    *,
    actor,
    provider_message_id: str,
    provider_status: str,
    error_code: str = "",
    notification_id: int | None = None,
) -> Notification | None:
    """Apply a provider's delivery report (Twilio ``MessageStatus``). Finds the message by
    its provider id, or by the notification id in the callback URL when the worker died
    before recording the id. Returns the notification (None if unknown)."""
    notification = (
        Notification.objects.select_for_update()
        .filter(provider_message_id=provider_message_id)
        .first()
    )
    if notification is None and notification_id is not None:
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, provider_message_id="")
            .first()
        )
    if notification is None:
        return None
    now = timezone.now()
    notification.provider_message_id = provider_message_id
    notification.provider_status = provider_status[:30]
    fields = ["provider_message_id", "provider_status"]
    target = TWILIO_STATUSES.get(provider_status)
    if notification.status == N.SENDING and target is None:
        target = N.SENT  # accepted by the provider: the send happened
    if target is not None and RANK[target] > RANK.get(notification.status, 3):
        notification.status = target
        fields.append("status")
        if target in (N.SENT, N.DELIVERED) and notification.sent_at is None:
            notification.sent_at = now
            fields.append("sent_at")
        if target == N.DELIVERED:
            notification.delivered_at = now
            fields.append("delivered_at")
        if target == N.FAILED:
            notification.failed_at = now
            notification.last_error = (
                f"Provider reported {provider_status} (error {error_code or '-'})"
            )
            fields += ["failed_at", "last_error"]
    notification.save(update_fields=fields)
    return notification


# --- Templates, organization settings, patient preferences ---------------------------------


def _template_errors(**sources) -> dict:
    from caresync.notifications.rendering import template_problems

    fields = {}
    for name, source in sources.items():
        problems = template_problems(source or "")
        if problems:
            fields[name] = [{"code": "invalid_template", "message": p} for p in problems]
    return fields


@transaction.atomic
def notification_template_save(
    *, actor, organization, key: str, channel: str, subject: str, body: str, html: str = ""
):
    """Save the organization's wording for one template key and channel (checked against
    the sandbox's allow-lists first)."""
    from caresync.core.audit import audit_record
    from caresync.core.errors import ApplicationError
    from caresync.notifications.defaults import DEFAULTS
    from caresync.notifications.models import Channel, NotificationTemplate

    if (key, channel) not in DEFAULTS:
        raise ApplicationError("No such template.", code="not_found", status_code=404)
    fields = _template_errors(subject=subject, body=body, html=html)
    if not body.strip():
        fields.setdefault("body", []).append({"code": "required", "message": "Write the text."})
    if channel == Channel.EMAIL and not subject.strip():
        fields.setdefault("subject", []).append(
            {"code": "required", "message": "Emails need a subject."}
        )
    if fields:
        raise ApplicationError(
            "The template cannot be used.", code="invalid_template", fields=fields
        )
    template, _ = NotificationTemplate.objects.update_or_create(
        organization=organization,
        event_kind=key,
        channel=channel,
        defaults={
            "subject": subject if channel != Channel.SMS else "",
            "body": body,
            "html": html if channel == Channel.EMAIL else "",
            "is_active": True,
            "updated_by": actor,
        },
    )
    audit_record(
        actor=actor,
        action="update",
        organization=organization,
        obj=template,
        details={"key": key, "channel": channel},
    )
    return template


@transaction.atomic
def notification_template_reset(*, actor, organization, key: str, channel: str) -> int:
    """Go back to the shipped default wording; returns how many templates were removed."""
    from caresync.core.audit import audit_record
    from caresync.notifications.models import NotificationTemplate

    removed, _ = NotificationTemplate.objects.filter(
        organization=organization, event_kind=key, channel=channel
    ).delete()
    if removed:
        audit_record(
            actor=actor,
            action="delete",
            organization=organization,
            object_type="notifications.notificationtemplate",
            details={"key": key, "channel": channel},
        )
    return removed


def _offsets(minutes, field: str) -> list[int]:
    from caresync.core.errors import ApplicationError

    offsets = sorted({int(m) for m in minutes}, reverse=True)
    if any(m <= 0 or m > 60 * 24 * 30 for m in offsets) or len(offsets) > 5:
        raise ApplicationError(
            "Reminders are between 1 minute and 30 days before, at most five.",
            code="validation_error",
            fields={field: [{"code": "invalid", "message": "Choose other times."}]},
        )
    return offsets


@transaction.atomic
def notification_settings_save(
    *,
    actor,
    organization,
    sms_include_service: bool,
    reminder_offsets: list[int],
    service_offsets: dict | None = None,
):
    """The organization's SMS detail choice, its default reminder times and, per service,
    its own times (``service_offsets``: {service: minutes, or None for the default})."""
    from caresync.core.audit import audit_record
    from caresync.notifications.models import NotificationSettings, ReminderSchedule

    offsets = _offsets(reminder_offsets, "reminders")
    saved, _ = NotificationSettings.objects.update_or_create(
        organization=organization, defaults={"sms_include_service": sms_include_service}
    )
    ReminderSchedule.objects.update_or_create(
        organization=organization,
        service=None,
        defaults={"offsets_minutes": offsets, "is_active": True},
    )
    per_service = {}
    for service, minutes in (service_offsets or {}).items():
        if service.organization_id != organization.pk:
            continue
        if minutes is None:
            ReminderSchedule.objects.filter(organization=organization, service=service).delete()
            continue
        chosen = _offsets(minutes, f"service_{service.pk}") if minutes else []
        ReminderSchedule.objects.update_or_create(
            organization=organization,
            service=service,
            defaults={"offsets_minutes": chosen, "is_active": True},
        )
        per_service[service.pk] = chosen
    audit_record(
        actor=actor,
        action="update",
        organization=organization,
        obj=saved,
        details={
            "sms_include_service": sms_include_service,
            "reminders": offsets,
            "service_reminders": per_service,
        },
    )
    return saved


@transaction.atomic
def contact_preference_save(
    *, actor, patient, email: bool, sms: bool, in_app: bool, quiet_start=None, quiet_end=None
):
    """How the patient wants to hear from the clinic (channels and quiet hours)."""
    from caresync.core.audit import audit_record
    from caresync.core.errors import ApplicationError
    from caresync.notifications.models import ContactPreference

    if (quiet_start is None) != (quiet_end is None) or (
        quiet_start is not None and quiet_start == quiet_end
    ):
        raise ApplicationError(
            "Give both the start and the end of quiet hours, or neither.",
            code="validation_error",
            fields={"quiet_end": [{"code": "invalid", "message": "Set both times, or neither."}]},
        )
    preference, _ = ContactPreference.objects.update_or_create(
        patient=patient,
        defaults={
            "email": email,
            "sms": sms,
            "in_app": in_app,
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
        },
    )
    audit_record(
        actor=actor,
        action="update",
        organization=patient.organization,
        obj=preference,
        patient_id=patient.pk,
        details={"email": email, "sms": sms, "in_app": in_app},
    )
    return preference


@transaction.atomic
def notification_retry(*, actor, notification: Notification) -> Notification:
    """Send a failed message again (staff, after fixing an address or an outage): queued
    now, with a fresh attempt budget; every earlier attempt stays on record."""
    from caresync.core.audit import audit_record
    from caresync.core.errors import ApplicationError

    if notification.status != N.FAILED:
        raise ApplicationError(
            "Only failed messages can be sent again.", code="invalid_transition", status_code=409
        )
    notification.status = N.QUEUED
    notification.next_attempt_at = timezone.now()
    notification.attempts = 0
    notification.claim_token = None
    notification.failed_at = None
    notification.save(
        update_fields=["status", "next_attempt_at", "attempts", "claim_token", "failed_at"]
    )
    audit_record(
        actor=actor,
        action="update",
        organization=notification.organization,
        obj=notification,
        patient_id=notification.patient_id or "",
        details={"retry": True},
    )
    from caresync.notifications.fanout import delivery_queue

    delivery_queue([notification.pk])
    return notification
