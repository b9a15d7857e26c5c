"""POST /api/webhook/patient: signed, fresh, validated, duplicate-detected, logged."""

import json
import time

import pytest

from caresync.directory.models import Patient, WebhookLog
from caresync.directory.webhooks import signature_for

pytestmark = pytest.mark.django_db

URL = "/api/webhook/patient"
GOOD = {
    "first_name": "Mary",
    "last_name": "Shelley",
    "email": "mary@example.test",
    "date_of_birth": "1997-08-30",
    "phone": "+61 400 123 456",
    "emergency_contact": "Percy Shelley",
    "medicare_number": "2123 45670 1",
    "dva_number": "NX123456",
    "address": "1 Frankenstein St",
    "notes": "Referred by GP",
}


def send(client, organization, payload, *, secret=None, timestamp=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = signature_for(secret or organization.intake_webhook_secret, timestamp, body)
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Organization": organization.slug, "X-CareSync-Signature": signature},
    )


def test_signed_request_creates_the_patient(client, tenant_a):
    response = send(client, tenant_a.organization, GOOD)
    assert response.status_code == 201, response.content
    patient = Patient.objects.get(pk=response.json()["id"])
    assert (patient.given_name, patient.medicare_number, patient.dva_number) == (
        "Mary",
        "2123 45670 1",
        "NX123456",
    )
    assert patient.organization == tenant_a.organization
    log = WebhookLog.objects.get()
    assert (log.outcome, log.status_code, log.patient) == ("created", 201, patient)


@pytest.mark.parametrize("variant", ["wrong_secret", "missing", "malformed", "other_org"])
def test_bad_signatures_are_401_and_create_nothing(client, tenant_a, tenant_b, variant):
    if variant == "wrong_secret":
        response = send(client, tenant_a.organization, GOOD, secret="not-the-secret")
    elif variant == "other_org":
        response = send(
            client, tenant_a.organization, GOOD, secret=tenant_b.organization.intake_webhook_secret
        )
    else:
        header = "" if variant == "missing" else "v1=abc"
        response = client.post(
            URL,
            data=json.dumps(GOOD),
            content_type="application/json",
            headers={"X-Organization": tenant_a.organization.slug, "X-CareSync-Signature": header},
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not Patient.objects.exists()
    assert WebhookLog.objects.get().outcome == "invalid_signature"


def test_old_signatures_are_refused_as_replays(client, tenant_a):
    response = send(client, tenant_a.organization, GOOD, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_expired"
    assert not Patient.objects.exists()


def test_field_errors_are_400(client, tenant_a):
    bad = {**GOOD, "date_of_birth": "30/08/1997", "email": "nope"}
    del bad["last_name"]
    response = send(client, tenant_a.organization, bad)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"date_of_birth", "email", "last_name"}


def test_malformed_json_is_400(client, tenant_a):
    response = send(client, tenant_a.organization, None, raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_duplicate_is_409(client, tenant_a):
    assert send(client, tenant_a.organization, GOOD).status_code == 201
    again = send(client, tenant_a.organization, GOOD)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_patient"
    assert Patient.objects.count() == 1
    assert list(WebhookLog.objects.order_by("received_at").values_list("outcome", flat=True)) == [
        "created",
        "duplicate",
    ]


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405


def test_admins_rotate_the_secret_and_read_the_log(client, api_as, tenant_a):
    old = tenant_a.organization.intake_webhook_secret
    admin = api_as(tenant_a.admin)
    assert (
        admin.get(f"/api/v1/organizations/{tenant_a.organization.slug}/webhook-secret/").json()[
            "intake_webhook_secret"
        ]
        == old
    )
    rotated = admin.post(f"/api/v1/organizations/{tenant_a.organization.slug}/webhook-secret/")
    new = rotated.json()["intake_webhook_secret"]
    assert new != old
    tenant_a.organization.refresh_from_db()
    assert send(client, tenant_a.organization, GOOD, secret=old).status_code == 401
    assert send(client, tenant_a.organization, GOOD).status_code == 201
    outcomes = [row["outcome"] for row in admin.get("/api/v1/webhook-logs/").json()["results"]]
    assert outcomes == ["created", "invalid_signature"]
    staff = api_as(tenant_a.staff)
    assert (
        staff.get(f"/api/v1/organizations/{tenant_a.organization.slug}/webhook-secret/").status_code
        == 403
    )


def test_settings_page_rotates_the_key_and_the_log_page_lists_calls(client, tenant_a):
    send(client, tenant_a.organization, GOOD)
    client.force_login(tenant_a.admin)
    settings_page = client.get("/organization/settings/").content.decode()
    assert tenant_a.organization.intake_webhook_secret in settings_page
    old = tenant_a.organization.intake_webhook_secret
    assert client.post("/organization/settings/webhook-secret/").status_code == 302
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.intake_webhook_secret != old
    log_page = client.get("/organization/webhook-log/")
    assert log_page.status_code == 200
    assert "created" in log_page.content.decode()
    from caresync.core.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="read", actor=tenant_a.admin, reason="webhook log"
    ).exists()
    client.force_login(tenant_a.staff)
    assert client.get("/organization/webhook-log/").status_code == 403
    assert client.post("/organization/settings/webhook-secret/").status_code == 403
