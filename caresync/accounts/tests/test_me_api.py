import pytest

from caresync.accounts.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_me_lists_memberships_and_roles(api_as, tenant_a, tenant_b):
    MembershipFactory(user=tenant_a.doctor, organization=tenant_b.organization, role="org_admin")
    response = api_as(tenant_a.doctor).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == tenant_a.doctor.email
    assert body["roles"] == ["org_admin", "practitioner"]
    assert {
        (m["organization"], m["role"], m["practitioner_kind"]) for m in body["memberships"]
    } == {
        ("alpha-clinic", "practitioner", "doctor"),
        ("bravo-hospital", "org_admin", ""),
    }


def test_platform_admin_role_is_reported(api_as, platform_admin):
    body = api_as(platform_admin).get("/api/v1/me/").json()
    assert body["roles"] == ["platform_admin"]
    assert body["memberships"] == []


def test_deactivated_membership_is_not_listed(api_as, tenant_a):
    tenant_a.patient.memberships.update(is_active=False)
    body = api_as(tenant_a.patient).get("/api/v1/me/").json()
    assert body["memberships"] == []
    assert body["roles"] == []


def test_user_updates_own_profile(api_as, tenant_a):
    response = api_as(tenant_a.nurse).patch(
        "/api/v1/me/", {"first_name": "Florence", "time_zone": "Asia/Kathmandu"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["first_name"] == "Florence"
    tenant_a.nurse.refresh_from_db()
    assert tenant_a.nurse.time_zone == "Asia/Kathmandu"
