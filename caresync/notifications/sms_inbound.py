"""Two-way SMS: a patient's text reply. C/Y/YES confirms and X/CANCEL cancels their next
appointment through the booking services (the patient's own rules apply: inside the
cancellation window they are asked to call); STOP/UNSUBSCRIBE opts the number out of SMS
and START opts it back in; anything else goes to the staff inbox, tied to the patient."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from caresync.core.audit import audit_record
from caresync.core.errors import ApplicationError
from caresync.directory.normalize import phone_key
from caresync.notifications.fanout import appointment_zone, delivery_queue, format_when
from caresync.notifications.models import Channel, InboundMessage, Notification, SmsOptOut

CONFIRM = frozenset({"C", "Y", "YES", "CONFIRM"})
CANCEL = frozenset({"X", "CANCEL"})
STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"})
START = frozenset({"START", "UNSTOP"})
A = InboundMessage.Action


def patients_with_phone(phone: str):
    """Active patients (any organization) whose number is ``phone``."""
    from caresync.directory.models import Patient

    key = phone_key(phone)
    if len(key) < 6:
        return Patient.objects.none()
    # Stored keys drop the trunk zero, and may or may not carry the country code.
    suffixes = [key[i:] for i in range(len(key) - 5)]
    return Patient.objects.filter(search_phone__in=suffixes, is_active=True).select_related(
        "organization", "user"
    )


def next_appointment(patients, now: datetime):
    from caresync.scheduling.models import Appointment

    return (
        Appointment.objects.filter(
            patient__in=list(patients),
            start__gt=now,
            status__in=("scheduled", "confirmed", "requested", "proposed"),
        )
        .select_related("patient__user", "service", "organization", "location", "practitioner")
        .order_by("start")
        .first()
    )


def sms_reply_queue(*, to: str, body: str, organization=None, patient=None) -> Notification:
    """An outgoing text (a reply), delivered by the pipeline and kept in the patient's
    correspondence."""
    reply = Notification.objects.create(
        organization=organization,
        event_kind="sms.reply",
        channel=Channel.SMS,
        patient=patient,
        recipient_user=patient.user if patient is not None and patient.user_id else None,
        recipient_key=f"patient:{patient.pk}" if patient else f"phone:{to}",
        to_address=to,
        body=body,
        next_attempt_at=timezone.now(),
    )
    delivery_queue([reply.pk])
    return reply


@transaction.atomic
def sms_inbound_receive(
    *, from_number: str, to_number: str, body: str, provider_message_id: str, now=None
) -> InboundMessage:
    """Act on one inbound text (idempotent per provider message id: Twilio retries)."""
    now = now or timezone.now()
    existing = InboundMessage.objects.filter(provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    patients = list(patients_with_phone(from_number))
    word = body.strip().upper().rstrip(".!")
    appointment = next_appointment(patients, now) if word in CONFIRM | CANCEL else None
    patient = appointment.patient if appointment else (patients[0] if len(patients) == 1 else None)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                organization=patient.organization if patient else None,
                patient=patient,
                from_number=from_number,
                to_number=to_number,
                body=body[:1600],
                provider_message_id=provider_message_id,
                received_at=now,
            )
    except IntegrityError:  # the same message delivered twice at once
        return InboundMessage.objects.get(provider_message_id=provider_message_id)
    if word in STOP:
        SmsOptOut.objects.get_or_create(phone=from_number, defaults={"opted_out_at": now})
        Notification.objects.filter(
            channel=Channel.SMS, to_address=from_number, status=Notification.Status.QUEUED
        ).update(status=Notification.Status.CANCELLED, last_error="Opted out (STOP).")
        _act(message, A.OPTED_OUT)
        # The carrier/Twilio confirms an opt-out itself; nothing more may be sent.
        return message
    if word in START:
        SmsOptOut.objects.filter(phone=from_number).delete()
        _act(message, A.OPTED_IN)
        return message
    if appointment is not None:
        _appointment_reply(message, appointment, word, now)
    return message


def _act(message: InboundMessage, action: str, reply: Notification | None = None) -> None:
    message.action = action
    message.reply = reply
    if action != A.INBOX:
        message.handled_at = message.received_at
    message.save(update_fields=["action", "reply", "handled_at"])
    if message.patient_id:
        audit_record(
            actor=None,
            action="update",
            organization=message.organization,
            obj=message,
            patient_id=message.patient_id,
            details={"sms_reply": action},
            actor_label="sms",
        )


def _appointment_reply(message, appointment, word: str, now) -> None:
    from caresync.scheduling.services import appointment_transition

    patient = appointment.patient
    organization = appointment.organization
    when = format_when(appointment.start, appointment_zone(appointment))
    phone = organization.phone or (appointment.location.phone if appointment.location else "")
    call = f" Please call us{f' on {phone}' if phone else ''}."
    action_name = "confirm" if word in CONFIRM else "cancel"
    try:
        with transaction.atomic():
            appointment_transition(
                actor=patient.user if patient.user_id else None,
                appointment=appointment,
                action=action_name,
                reason="Cancelled by text message reply" if action_name == "cancel" else "",
                by_patient=True,
                now=now,
            )
    except ApplicationError as exc:
        if action_name == "confirm" and appointment.status == "confirmed":
            text, action = f"Your appointment on {when} is already confirmed.", A.CONFIRMED
        elif exc.code == "cancellation_window":
            text, action = (
                f"Your appointment on {when} is too soon to cancel by text.{call}",
                A.REFUSED,
            )
        else:
            text, action = f"We could not change your appointment on {when}.{call}", A.REFUSED
    else:
        if action_name == "confirm":
            text, action = f"Thank you, your appointment on {when} is confirmed.", A.CONFIRMED
        else:
            text, action = f"Your appointment on {when} is cancelled.", A.CANCELLED
    reply = sms_reply_queue(
        to=message.from_number,
        body=f"{text} – {organization.name}",
        organization=organization,
        patient=patient,
    )
    _act(message, action, reply)


@transaction.atomic
def inbound_message_reply(*, actor, message: InboundMessage, body: str) -> Notification:
    """Staff answer a text from the inbox: the reply goes out by SMS and the message is
    marked handled."""
    if SmsOptOut.objects.filter(phone=message.from_number).exists():
        raise ApplicationError(
            "This number opted out of text messages (replied STOP).", code="sms_opted_out"
        )
    if not body.strip():
        raise ApplicationError(
            "Write a reply.",
            code="validation_error",
            fields={"body": [{"code": "required", "message": "This field is required."}]},
        )
    reply = sms_reply_queue(
        to=message.from_number,
        body=body.strip(),
        organization=message.organization,
        patient=message.patient,
    )
    message.reply = reply
    message.handled_by = actor
    message.handled_at = timezone.now()
    message.save(update_fields=["reply", "handled_by", "handled_at"])
    audit_record(
        actor=actor,
        action="update",
        organization=message.organization,
        obj=message,
        patient_id=message.patient_id,
        details={"replied": True},
    )
    return reply


@transaction.atomic
def inbound_message_handle(*, actor, message: InboundMessage) -> InboundMessage:
    """Mark a text in the staff inbox as dealt with (without replying)."""
    message.handled_by = actor
    message.handled_at = timezone.now()
    message.save(update_fields=["handled_by", "handled_at"])
    return message
