"""SMS through Twilio's Messages API with the official ``twilio`` SDK."""

from datetime import timedelta

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from caresync.integrations.transports import OutgoingMessage, SendResult, TransportError

# Twilio error codes that no retry can fix (invalid or unreachable number, opted out,
# message refused). Anything else 4xx is permanent too, except 429 (rate limited).
# https://www.twilio.com/docs/api/errors
OPTED_OUT = 21610


def twilio_client() -> Client:
    client = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
    )
    # One choke point for the provider's address: production keeps Twilio's; tests point
    # it at the local fake.
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


class TwilioSmsTransport:
    name = "twilio"

    def __init__(self, client: Client | None = None):
        self.client = client or twilio_client()

    def _sender(self) -> dict:
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            return {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
        return {"from_": settings.TWILIO_FROM_NUMBER}

    def send(self, message: OutgoingMessage) -> SendResult:
        extra = {"status_callback": message.status_callback} if message.status_callback else {}
        try:
            sent = self.client.messages.create(
                to=message.to, body=message.body, **self._sender(), **extra
            )
        except TwilioRestException as exc:
            transient = exc.status == 429 or exc.status >= 500
            raise TransportError(
                f"Twilio {exc.status} (code {exc.code}): {exc.msg}"[:500],
                permanent=not transient,
                code=str(exc.code or exc.status),
            ) from exc
        except (requests.RequestException, TwilioException, OSError) as exc:
            raise TransportError(f"Twilio unreachable: {exc}"[:500]) from exc
        return SendResult(provider_message_id=sent.sid)

    def lookup(self, message: OutgoingMessage, *, since) -> SendResult | None:
        """A message to the same number with the same text, created since ``since`` and not
        already recorded for another notification: the send whose answer was lost."""
        try:
            candidates = self.client.messages.list(
                to=message.to, date_sent_after=since - timedelta(minutes=5), limit=50
            )
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise TransportError(f"Twilio lookup failed: {exc}"[:500]) from exc
        for candidate in candidates:
            if candidate.body == message.body and candidate.sid not in message.known_provider_ids:
                return SendResult(provider_message_id=candidate.sid)
        return None
