"""Twilio webhooks (signature-checked), the in-app inbox page and API, the bell."""

import pytest
from django.test import Client
from django.urls import reverse

from caresync.core.models import AuditEvent
from caresync.integrations.twilio.signature import signature_for
from caresync.notifications.delivery import notification_deliver
from caresync.notifications.models import Notification
from caresync.scheduling.tests.conftest import at, book

pytestmark = pytest.mark.django_db
N = Notification.Status


def twilio_post(client, name, params, *, token, query="", signature=None):
    path = reverse(name) + query
    url = "http://testserver" + path
    signature = signature if signature is not None else signature_for(url, params, token)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sent_sms(reachable, twilio, settings):
    settings.SITE_URL = "http://testserver"
    book(reachable, at(10))
    sms = Notification.objects.get(channel="sms")
    assert notification_deliver(notification_id=sms.pk) == N.SENT
    sms.refresh_from_db()
    return sms


def test_booking_texts_the_patient_through_twilio_with_a_status_callback(sent_sms, twilio):
    (receipt,) = twilio.receipts()
    assert receipt["to"] == "+61412345678"
    assert receipt["sid"] == sent_sms.provider_message_id
    assert "10:00 am AEDT" in receipt["body"]
    assert receipt["_status_callback"] == (
        f"http://testserver/webhooks/twilio/status/?notification={sent_sms.pk}"
    )


def test_status_callback_marks_the_message_delivered(sent_sms, twilio):
    url, params, signature = twilio.status_callback(sent_sms.provider_message_id, "delivered")
    response = Client().post(
        url.removeprefix("http://testserver"), params, HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 204
    sent_sms.refresh_from_db()
    assert sent_sms.status == N.DELIVERED and sent_sms.delivered_at
    # A late "sent" report does not move it back.
    twilio_post(
        Client(),
        "twilio-status",
        {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "sent"},
        token=twilio.auth_token,
    )
    sent_sms.refresh_from_db()
    assert sent_sms.status == N.DELIVERED


def test_status_callback_records_an_undelivered_message_as_failed(sent_sms, twilio):
    twilio_post(
        Client(),
        "twilio-status",
        {
            "MessageSid": sent_sms.provider_message_id,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        },
        token=twilio.auth_token,
    )
    sent_sms.refresh_from_db()
    assert sent_sms.status == N.FAILED and "30003" in sent_sms.last_error


def test_status_callback_resolves_a_send_whose_worker_died(reachable, twilio, settings):
    from caresync.notifications import delivery

    settings.SITE_URL = "http://testserver"
    book(reachable, at(10))
    sms = Notification.objects.get(channel="sms")
    from django.utils import timezone

    delivery._claim([sms.pk], timezone.now())
    result = delivery.transport_for("sms").send(delivery._message(sms))
    twilio_post(
        Client(),
        "twilio-status",
        {"MessageSid": result.provider_message_id, "MessageStatus": "queued"},
        token=twilio.auth_token,
        query=f"?notification={sms.pk}",
    )
    sms.refresh_from_db()
    assert sms.status == N.SENT and sms.provider_message_id == result.provider_message_id
    assert len(twilio.receipts()) == 1


@pytest.mark.parametrize("signature", ["", "bm90LXRoZS1zaWduYXR1cmU="])
@pytest.mark.parametrize("name", ["twilio-status", "twilio-inbound"])
def test_webhooks_refuse_a_missing_or_bad_signature(sent_sms, twilio, name, signature):
    params = {
        "MessageSid": sent_sms.provider_message_id,
        "MessageStatus": "failed",
        "From": "+61412345678",
        "Body": "STOP",
    }
    response = twilio_post(Client(), name, params, token=twilio.auth_token, signature=signature)
    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == N.SENT


def test_a_signature_for_other_parameters_is_refused(sent_sms, twilio):
    signed = {"MessageSid": sent_sms.provider_message_id, "MessageStatus": "sent"}
    signature = signature_for("http://testserver" + reverse("twilio-status"), signed, "x")
    tampered = {**signed, "MessageStatus": "failed"}
    response = twilio_post(
        Client(), "twilio-status", tampered, token=twilio.auth_token, signature=signature
    )
    assert response.status_code == 403


def test_the_bell_counts_unread_and_the_inbox_marks_them_read(reachable, client):
    book(reachable, at(10), request_only=True)
    doctor = reachable.tenant.doctor
    client.force_login(doctor)
    page = client.get(reverse("notification-inbox"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'aria-label="Notifications, 1 unread"' in html
    assert "New appointment request" in html and "Ada Lovelace asks for" in html
    # The practitioner saw the patient's name: the read is audited.
    assert AuditEvent.objects.filter(
        actor=doctor, action="read", patient_id=str(reachable.patient.pk)
    ).exists()
    notification = Notification.objects.get(recipient_user=doctor)
    response = client.post(reverse("notification-inbox-read", args=[notification.pk]), {"open": 1})
    assert response.status_code == 302 and response["Location"] == notification.link
    assert (
        'aria-label="Notifications, none unread"'
        in client.get(reverse("notification-inbox")).content.decode()
    )


def test_nobody_marks_or_sees_someone_elses_notifications(reachable, client):
    book(reachable, at(10), request_only=True)
    notification = Notification.objects.get(recipient_user=reachable.tenant.doctor)
    client.force_login(reachable.tenant.nurse)
    assert (
        "New appointment request" not in client.get(reverse("notification-inbox")).content.decode()
    )
    response = client.post(reverse("notification-inbox-read", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_api_lists_own_notifications_with_the_unread_count_and_marks_read(reachable, api_as):
    book(reachable, at(10), request_only=True)
    book(reachable, at(11))
    api = api_as(reachable.tenant.doctor)
    listed = api.get("/api/v1/notifications/").json()
    assert listed["unread_count"] == 2 and listed["count"] == 2
    titles = {row["title"] for row in listed["results"]}
    assert titles == {"New appointment request", "New appointment"}
    first = listed["results"][0]["id"]
    answer = api.post("/api/v1/notifications/read/", {"ids": [first, 999999]}, format="json")
    assert answer.json() == {"updated": 1, "unread_count": 1}
    assert api.get("/api/v1/notifications/?unread=true").json()["count"] == 1
    assert api.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {
        "updated": 1,
        "unread_count": 0,
    }


@pytest.mark.parametrize(
    "body", [{}, {"ids": []}, {"ids": ["x"]}, {"all": True, "extra": 1}, {"ids": [0]}]
)
def test_api_refuses_bad_mark_read_input(reachable, api_as, body):
    response = api_as(reachable.tenant.doctor).post(
        "/api/v1/notifications/read/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"]


def test_sms_outbox_page_shows_kept_texts_to_admins_only(reachable, client):
    book(reachable, at(10))
    sms = Notification.objects.get(channel="sms")
    notification_deliver(notification_id=sms.pk)
    client.force_login(reachable.tenant.admin)
    page = client.get(reverse("sms-outbox"))
    assert page.status_code == 200 and "+61412345678" in page.content.decode()
    client.force_login(reachable.tenant.staff)
    assert client.get(reverse("sms-outbox")).status_code == 403


def test_api_marks_one_notification_read_and_ignores_others(reachable, api_as):
    book(reachable, at(10), request_only=True)
    mine = Notification.objects.get(recipient_user=reachable.tenant.doctor)
    nurse = api_as(reachable.tenant.nurse)
    assert nurse.post(f"/api/v1/notifications/{mine.pk}/read/").json() == {
        "updated": 0,
        "unread_count": 0,
    }
    mine.refresh_from_db()
    assert mine.read_at is None
    doctor = api_as(reachable.tenant.doctor)
    assert doctor.post(f"/api/v1/notifications/{mine.pk}/read/").json() == {
        "updated": 1,
        "unread_count": 0,
    }
