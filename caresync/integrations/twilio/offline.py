"""The default SMS backend: keeps each message in the database (the development SMS
outbox page shows them) instead of sending it."""

import secrets

from django.conf import settings

from caresync.integrations.transports import OutgoingMessage, SendResult


class OfflineSmsTransport:
    name = "sms-offline"

    def send(self, message: OutgoingMessage) -> SendResult:
        from caresync.notifications.models import OfflineSms

        sid = "SM" + secrets.token_hex(16)
        OfflineSms.objects.create(
            sid=sid, to=message.to, from_number=settings.TWILIO_FROM_NUMBER, body=message.body
        )
        return SendResult(provider_message_id=sid, status="delivered")

    def lookup(self, message: OutgoingMessage, *, since) -> SendResult | None:
        from caresync.notifications.models import OfflineSms

        kept = (
            OfflineSms.objects.filter(to=message.to, body=message.body, created_at__gte=since)
            .exclude(sid__in=message.known_provider_ids)
            .first()
        )
        return SendResult(provider_message_id=kept.sid, status="delivered") if kept else None
