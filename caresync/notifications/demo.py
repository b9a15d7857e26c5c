"""Demo notifications: bells start with a few unread messages (not one per seeded
booking), and each organization's text inbox holds a patient's question."""

from django.db.models import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from caresync.accounts.models import Organization
from caresync.directory.models import Patient
from caresync.notifications.models import Channel, InboundMessage, Notification
from caresync.notifications.outbox import outbox_dispatch
from caresync.notifications.sms_inbound import sms_inbound_receive

UNREAD_KEPT = 3
QUESTIONS = {
    "harbour-health": "Hi, is there parking near the clinic? Thanks",
    "himalaya-care": "Namaste, can my son come with me to the appointment?",
}


def seed(log) -> list:
    # Relay what the other seeders recorded now, as the worker would after commit, so the
    # demo starts with its notifications and reminders in place.
    relayed = outbox_dispatch()
    if relayed:
        log(f"{relayed} events relayed to notifications and reminders")
    # Seeding books many appointments as the system: keep each person's newest few unread.
    unread = Notification.objects.filter(channel=Channel.IN_APP, read_at__isnull=True)
    ranked = unread.annotate(
        rank=Window(RowNumber(), partition_by="recipient_user_id", order_by="-created_at")
    ).values_list("pk", "rank")
    older = [pk for pk, rank in ranked if rank > UNREAD_KEPT]
    Notification.objects.filter(pk__in=older).update(read_at=timezone.now())
    for organization in Organization.objects.filter(slug__in=QUESTIONS):
        patient = (
            Patient.objects.filter(organization=organization, user__isnull=False)
            .exclude(phone="")
            .order_by("pk")
            .first()
        )
        sid = f"SMdemo{organization.slug.replace('-', '')}"
        if patient is None or InboundMessage.objects.filter(provider_message_id=sid).exists():
            continue
        from caresync.notifications.phones import e164

        sms_inbound_receive(
            from_number=e164(patient.phone, organization.country),
            to_number="",
            body=QUESTIONS[organization.slug],
            provider_message_id=sid,
        )
        log(f"{organization.name}: a text message from {patient.display_name} in the inbox")
    return []
