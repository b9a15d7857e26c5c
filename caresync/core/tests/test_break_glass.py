"""Break-glass: a stated reason, time-limited access, an audit row, and admin review."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from caresync.accounts.selectors import actor_for
from caresync.core.break_glass import break_glass_active, break_glass_open
from caresync.core.errors import ApplicationError
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def doctor_actor(tenant):
    return actor_for(user=tenant.doctor, organization=tenant.organization)


def test_opening_needs_a_reason_and_is_audited_with_it(tenant_a):
    with pytest.raises(ApplicationError) as refused:
        break_glass_open(actor=doctor_actor(tenant_a), patient_id="42", reason="  ")
    assert refused.value.code == "reason_required"
    break_glass_open(
        actor=doctor_actor(tenant_a),
        patient_id="42",
        reason="Unconscious patient in the emergency department",
    )
    event = AuditEvent.objects.get(action="break_glass")
    assert event.patient_id == "42"
    assert event.reason.startswith("Unconscious")
    assert event.actor == tenant_a.doctor


def test_access_expires(tenant_a, settings):
    actor = doctor_actor(tenant_a)
    break_glass_open(actor=actor, patient_id="42", reason="Urgent medication review")
    assert break_glass_active(actor=actor, patient_id="42")
    assert not break_glass_active(actor=actor, patient_id="43")
    later = timezone.now() + timedelta(minutes=settings.BREAK_GLASS_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        assert not break_glass_active(actor=actor, patient_id="42")


def test_admins_review_their_organizations_accesses(api_as, tenant_a, tenant_b):
    access = break_glass_open(
        actor=doctor_actor(tenant_a), patient_id="42", reason="Urgent medication review"
    )
    break_glass_open(actor=doctor_actor(tenant_b), patient_id="7", reason="Emergency transfer")
    client = api_as(tenant_a.admin)
    pending = client.get("/api/v1/break-glass/", {"reviewed_at__isnull": "true"}).json()
    assert [row["patient_id"] for row in pending["results"]] == ["42"]
    reviewed = client.post(
        f"/api/v1/break-glass/{access.pk}/review/", {"note": "Appropriate"}, format="json"
    )
    assert reviewed.status_code == 200
    assert reviewed.json()["reviewed_by"] == tenant_a.admin.email
    again = client.post(f"/api/v1/break-glass/{access.pk}/review/", {}, format="json")
    assert again.status_code == 409
    assert (
        client.get("/api/v1/break-glass/", {"reviewed_at__isnull": "true"}).json()["results"] == []
    )


def test_admin_reviews_break_glass_on_the_page(client, tenant_a, tenant_b):
    access = break_glass_open(
        actor=doctor_actor(tenant_a), patient_id="42", reason="Unconscious patient, no records"
    )
    break_glass_open(actor=doctor_actor(tenant_b), patient_id="7", reason="Emergency transfer")
    client.force_login(tenant_a.admin)
    page = client.get("/audit/break-glass/").content.decode()
    assert "Unconscious patient" in page and "Emergency transfer" not in page
    assert (
        client.post("/audit/break-glass/", {"access": access.pk, "note": "OK"}).status_code == 302
    )
    access.refresh_from_db()
    assert access.reviewed_by == tenant_a.admin
    client.force_login(tenant_a.doctor)
    assert client.get("/audit/break-glass/").status_code == 403
