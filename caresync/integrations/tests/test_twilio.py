"""The Twilio SMS transport (official SDK) against a local fake of the Messages API."""

from datetime import UTC, datetime, timedelta

import pytest

from caresync.integrations.transports import OutgoingMessage, TransportError
from caresync.integrations.twilio.client import TwilioSmsTransport

SOON = datetime.now(UTC) - timedelta(minutes=1)


def sms(to="+61412345678", body="Reminder: your appointment is tomorrow."):
    return OutgoingMessage(
        notification_id=1,
        channel="sms",
        to=to,
        body=body,
        status_callback="https://clinic.example/webhooks/twilio/status/",
    )


def test_a_message_is_created_with_the_sdk_and_its_sid_returned(twilio):
    result = TwilioSmsTransport().send(sms())
    (receipt,) = twilio.receipts()
    assert result.provider_message_id == receipt["sid"]
    assert receipt["sid"].startswith("SM") and len(receipt["sid"]) == 34
    assert receipt["to"] == "+61412345678"
    assert receipt["from"] == "+61400000000"
    assert receipt["body"] == "Reminder: your appointment is tomorrow."


def test_provider_errors_5xx_are_transient(twilio):
    twilio.fail_with = (503, 20500)
    with pytest.raises(TransportError) as down:
        TwilioSmsTransport().send(sms())
    assert not down.value.permanent
    assert twilio.receipts() == []


def test_rate_limiting_is_transient(twilio):
    twilio.fail_with = (429, 20429)
    with pytest.raises(TransportError) as limited:
        TwilioSmsTransport().send(sms())
    assert not limited.value.permanent


def test_an_invalid_number_is_permanent_with_twilios_code(twilio):
    with pytest.raises(TransportError) as invalid:
        TwilioSmsTransport().send(sms(to="0412"))
    assert invalid.value.permanent and invalid.value.code == "21211"


def test_an_unsubscribed_recipient_is_permanent(twilio):
    twilio.unsubscribed.add("+61412345678")
    with pytest.raises(TransportError) as stopped:
        TwilioSmsTransport().send(sms())
    assert stopped.value.permanent and stopped.value.code == "21610"


def test_a_timeout_is_transient(twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 0.3
    twilio.delay = 1.0
    with pytest.raises(TransportError) as slow:
        TwilioSmsTransport().send(sms())
    assert not slow.value.permanent


def test_wrong_credentials_are_refused(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(TransportError) as refused:
        TwilioSmsTransport().send(sms())
    assert refused.value.code == "20003"


def test_lookup_finds_a_sent_message_but_not_one_already_recorded(twilio):
    transport = TwilioSmsTransport()
    first = transport.send(sms())
    assert transport.lookup(sms(), since=SOON).provider_message_id == first.provider_message_id
    recorded = OutgoingMessage(
        **{**sms().__dict__, "known_provider_ids": frozenset({first.provider_message_id})}
    )
    assert transport.lookup(recorded, since=SOON) is None
    assert transport.lookup(sms(body="Another text"), since=SOON) is None
