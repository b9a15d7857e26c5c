"""Email through Django's SMTP backend against a local SMTP server (aiosmtpd)."""

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from caresync.integrations.smtp import EmailTransport
from caresync.integrations.transports import OutgoingMessage, TransportError


class Mailbox:
    """Accepts mail, except: 5xx for ``nobody@``, 4xx for ``busy@``."""

    def __init__(self):
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 5
    yield mailbox
    controller.stop()


def message(to="ada@example.test"):
    return OutgoingMessage(
        notification_id=7,
        channel="email",
        to=to,
        subject="Your appointment is booked",
        body="Hello Ada,\n\nMon 2 Mar, 10:00 am.",
        html="<p>Hello Ada,</p>",
        reference="<notification-7@caresync.test>",
    )


def test_email_arrives_as_text_with_an_html_alternative_and_a_stable_message_id(smtp_server):
    result = EmailTransport().send(message())
    assert result.provider_message_id == "<notification-7@caresync.test>"
    (received,) = smtp_server.received
    assert received["To"] == "ada@example.test"
    assert received["Subject"] == "Your appointment is booked"
    assert received["Message-ID"] == "<notification-7@caresync.test>"
    assert received.get_body(("plain",)).get_content().startswith("Hello Ada,")
    assert received.get_body(("html",)).get_content().strip() == "<p>Hello Ada,</p>"


def test_a_refused_recipient_is_a_permanent_failure(smtp_server):
    with pytest.raises(TransportError) as refused:
        EmailTransport().send(message("nobody@example.test"))
    assert refused.value.permanent
    assert smtp_server.received == []


def test_a_temporary_refusal_is_transient(smtp_server):
    with pytest.raises(TransportError) as later:
        EmailTransport().send(message("busy@example.test"))
    assert not later.value.permanent


def test_an_unreachable_mail_server_is_transient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    with pytest.raises(TransportError) as down:
        EmailTransport().send(message())
    assert not down.value.permanent
