"""GET /api/v1/audit-events/: filters, tenant scoping, CSV export (itself audited)."""

import csv
import io

import pytest

from caresync.core.audit import audit_record
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(tenant_a, tenant_b):
    audit_record(
        actor=tenant_a.doctor,
        action="read",
        organization=tenant_a.organization,
        object_type="directory.patient",
        object_id=7,
        patient_id=7,
    )
    audit_record(
        actor=tenant_a.nurse,
        action="update",
        organization=tenant_a.organization,
        object_type="directory.patient",
        object_id=8,
        patient_id=8,
    )
    audit_record(
        actor=tenant_b.doctor,
        action="read",
        organization=tenant_b.organization,
        object_type="directory.patient",
        object_id=9,
        patient_id=9,
    )


def ids(response):
    return [row["patient_id"] for row in response.json()["results"]]


def test_org_admin_sees_only_their_organizations_events(api_as, tenant_a, events):
    response = api_as(tenant_a.admin).get("/api/v1/audit-events/")
    assert response.status_code == 200
    assert ids(response) == ["8", "7"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "read"}, ["7"]),
        ({"patient": "8"}, ["8"]),
        ({"actor": "@"}, ["8", "7"]),
    ],
)
def test_filters(api_as, tenant_a, events, query, expected):
    assert ids(api_as(tenant_a.admin).get("/api/v1/audit-events/", query)) == expected


def test_actor_filter_matches_the_email(api_as, tenant_a, events):
    response = api_as(tenant_a.admin).get(
        "/api/v1/audit-events/", {"actor": tenant_a.nurse.email.upper()}
    )
    assert ids(response) == ["8"]


def test_date_range_filter(api_as, tenant_a, events):
    first = AuditEvent.objects.filter(patient_id="7").get()
    response = api_as(tenant_a.admin).get(
        "/api/v1/audit-events/", {"until": first.occurred_at.isoformat()}
    )
    assert ids(response) == []
    response = api_as(tenant_a.admin).get(
        "/api/v1/audit-events/", {"since": first.occurred_at.isoformat()}
    )
    assert ids(response) == ["8", "7"]


def test_invalid_filter_value_is_a_validation_error(api_as, tenant_a, events):
    response = api_as(tenant_a.admin).get("/api/v1/audit-events/", {"action": "explode"})
    assert response.status_code == 400
    assert "action" in response.json()["error"]["fields"]


def test_csv_export_is_complete_and_audited(api_as, tenant_a, events):
    response = api_as(tenant_a.admin).get("/api/v1/audit-events/export/", {"action": "read"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "occurred_at", "actor_label"]
    assert [row[7] for row in rows[1:]] == ["7"]
    export = AuditEvent.objects.get(action="export")
    assert export.actor == tenant_a.admin
    assert export.details["filters"] == {"action": "read"}


def test_platform_admin_without_an_organization_sees_all(api_as, platform_admin, events):
    response = api_as(platform_admin).get(
        "/api/v1/audit-events/", {"object_type": "directory.patient"}
    )
    assert sorted(ids(response)) == ["7", "8", "9"]


def test_sign_in_events_of_members_are_visible_to_their_admins_only(api_as, tenant_a, tenant_b):
    from django.test import Client

    from caresync.accounts.tests.factories import TEST_PASSWORD

    Client().post("/login/", {"username": tenant_a.doctor.email, "password": TEST_PASSWORD})
    Client().post("/login/", {"username": tenant_b.doctor.email, "password": "wrong"})
    Client().post("/login/", {"username": tenant_a.nurse.email, "password": "wrong"})
    own = api_as(tenant_a.admin).get("/api/v1/audit-events/").json()["results"]
    assert {(e["action"], e["actor_label"]) for e in own} == {
        ("login", tenant_a.doctor.email),
        ("login_failed", tenant_a.nurse.email),
    }
