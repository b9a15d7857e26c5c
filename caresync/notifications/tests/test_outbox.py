"""The outbox: account emails (set-password links) go through the delivery pipeline."""

import pytest
from django.core import mail

from caresync.notifications import delivery
from caresync.notifications.models import Notification, OutboxEvent
from caresync.notifications.outbox import LINK_EMAIL_SCRUBBED

pytestmark = pytest.mark.django_db


def test_a_password_reset_email_is_delivered_by_the_pipeline_and_its_link_not_kept(
    api_client, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    (message,) = mail.outbox
    assert "/account/set-password/" in message.body
    notification = Notification.objects.get(event_kind="account.password_reset")
    assert notification.status == "sent" and notification.recipient_user == tenant_a.nurse
    assert notification.body == LINK_EMAIL_SCRUBBED and notification.html == ""
    assert notification.delivery_attempts.get().ok
    event = OutboxEvent.objects.get(kind="account.password_reset")
    assert event.payload == {"user": tenant_a.nurse.pk}  # identifiers only, never the link


def test_an_account_email_that_fails_is_retried_with_its_link(
    api_client, tenant_a, django_capture_on_commit_callbacks, monkeypatch
):
    from caresync.integrations.transports import TransportError

    class Down:
        name = "email"

        def send(self, message):
            raise TransportError("Mail server unavailable")

    monkeypatch.setattr(delivery, "transport_for", lambda channel: Down())
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    notification = Notification.objects.get(event_kind="account.password_reset")
    assert notification.status == "queued" and notification.attempts == 1
    assert "/account/set-password/" in notification.body  # kept until it is sent
