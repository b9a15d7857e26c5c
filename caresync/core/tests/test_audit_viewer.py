"""The audit trail page: filters, tenant isolation, CSV export (itself audited)."""

from datetime import UTC, datetime

import pytest
import time_machine

from caresync.core.api import AUDIT_CSV_COLUMNS
from caresync.core.audit import audit_record
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(tenant_a, tenant_b):
    """A few events in each tenant."""
    a, b = tenant_a.organization, tenant_b.organization
    audit_record(actor=tenant_a.doctor, action="read", organization=a, patient_id="p-1001")
    audit_record(actor=tenant_a.admin, action="update", organization=a, obj=a)
    audit_record(actor=tenant_a.nurse, action="login", organization=a)
    audit_record(actor=tenant_b.doctor, action="read", organization=b, patient_id="p-9009")
    audit_record(actor=tenant_b.admin, action="export", organization=b)


def listed(response) -> list[AuditEvent]:
    return list(response.context["page_obj"])


def test_org_admin_sees_their_organizations_events_only(client, tenant_a, tenant_b, events):
    client.force_login(tenant_a.admin)
    response = client.get("/audit/")
    assert response.status_code == 200
    shown = listed(response)
    assert shown and {event.organization_id for event in shown} <= {tenant_a.organization.pk, None}
    # Events outside any organization (sign-ins) appear only for this organization's members.
    assert {e.actor for e in shown if e.organization_id is None} <= {tenant_a.admin}
    html = response.content.decode()
    assert tenant_b.doctor.email not in html and "p-9009" not in html


def test_filter_by_action(client, tenant_a, events):
    client.force_login(tenant_a.admin)
    response = client.get("/audit/", {"action": "read"})
    assert [(e.action, e.patient_id) for e in listed(response)] == [("read", "p-1001")]
    html = response.content.decode()
    assert '<option value="read" selected>Read</option>' in html
    assert html.count('type="datetime-local"') == 2 and ">Patient ID</label>" in html


def test_filter_by_actor(client, tenant_a, tenant_b, events):
    client.force_login(tenant_a.admin)
    # A partial email (the local part): factory emails share prefixes, so keep the "@".
    partial = tenant_a.nurse.email.split("@")[0] + "@"
    shown = listed(client.get("/audit/", {"actor": partial}))
    assert {e.actor_label for e in shown} == {tenant_a.nurse.email}
    # Another tenant's actor is never found, even by exact email.
    assert listed(client.get("/audit/", {"actor": tenant_b.doctor.email})) == []


def test_time_filters_read_local_times_in_the_organizations_time_zone(client, tenant_a):
    # 09:30 in Sydney (UTC+10 in June) is 23:30 UTC the day before.
    with time_machine.travel(datetime(2025, 6, 1, 23, 30, tzinfo=UTC), tick=False):
        audit_record(actor=tenant_a.doctor, action="read", organization=tenant_a.organization)
    client.force_login(tenant_a.admin)
    shown = listed(
        client.get("/audit/", {"since": "2025-06-02T09:00", "until": "2025-06-02T10:00"})
    )
    assert [e.action for e in shown] == ["read"]
    assert listed(client.get("/audit/", {"since": "2025-06-02T09:31", "action": "read"})) == []
    page = client.get("/audit/", {"action": "read"}).content.decode()
    assert "2 Jun 2025, 09:30:00" in page


@pytest.mark.parametrize("who", ["doctor", "nurse", "staff", "patient"])
def test_non_admins_are_refused_the_audit_trail(client, tenant_a, who, events):
    client.force_login(getattr(tenant_a, who))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_csv_export_streams_the_filtered_events_and_is_audited(client, tenant_a, tenant_b, events):
    client.force_login(tenant_a.admin)
    response = client.get("/audit/export.csv", {"action": "read"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == ",".join(AUDIT_CSV_COLUMNS)
    assert len(lines) == 2 and "p-1001" in lines[1] and "p-9009" not in "".join(lines)
    export = AuditEvent.objects.filter(action="export", actor=tenant_a.admin).get()
    assert export.organization == tenant_a.organization
    assert export.details == {"filters": {"action": "read"}, "rows": 1}


def test_platform_admin_without_organization_sees_every_tenant(client, platform_admin, events):
    client.force_login(platform_admin)
    shown = listed(client.get("/audit/", {"action": "read"}))
    assert {e.patient_id for e in shown} == {"p-1001", "p-9009"}
