"""Admin pages: members, organization settings and the platform's organizations."""

import pytest
from django.core import mail

from caresync.accounts.models import Membership, Organization, User
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Members -------------------------------------------------------------------------------


def test_org_admin_sees_their_members_and_never_another_tenants(client, tenant_a, tenant_b):
    client.force_login(tenant_a.admin)
    html = client.get("/organization/members/").content.decode()
    assert tenant_a.doctor.email in html and tenant_a.patient.email in html
    for person in (tenant_b.admin, tenant_b.doctor, tenant_b.patient):
        assert person.email not in html


def test_members_can_be_searched_and_filtered(client, tenant_a):
    client.force_login(tenant_a.admin)
    found = client.get("/organization/members/", {"q": tenant_a.nurse.email}).content.decode()
    assert tenant_a.nurse.email in found and tenant_a.doctor.email not in found
    staff = client.get("/organization/members/", {"role": "staff"}).content.decode()
    assert tenant_a.staff.email in staff and tenant_a.patient.email not in staff


def test_members_are_paginated(client, tenant_a):
    from caresync.accounts.tests.factories import MembershipFactory

    MembershipFactory.create_batch(25, organization=tenant_a.organization)
    client.force_login(tenant_a.admin)
    first = client.get("/organization/members/")
    assert len(first.context["page_obj"]) == 25
    second = client.get("/organization/members/", {"page": 2})
    assert len(second.context["page_obj"]) == 6  # 31 memberships in all


@pytest.mark.parametrize("who", ["doctor", "nurse", "staff", "patient"])
@pytest.mark.parametrize(
    "url",
    ["/organization/members/", "/organization/members/invite/", "/organization/settings/"],
)
def test_non_admins_are_refused_the_organization_pages(client, tenant_a, who, url):
    client.force_login(getattr(tenant_a, who))
    assert client.get(url).status_code == 403


def test_non_admin_cannot_deactivate_anyone(client, tenant_a):
    client.force_login(tenant_a.staff)
    membership = Membership.objects.get(user=tenant_a.doctor)
    response = client.post(f"/organization/members/{membership.pk}/deactivate/")
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.is_active


def test_invite_from_the_page_adds_a_pending_member_and_sends_one_email(
    client, tenant_a, django_capture_on_commit_callbacks
):
    client.force_login(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/organization/members/invite/",
            {
                "email": "Rhea.Kaur@Example.test",
                "first_name": "Rhea",
                "last_name": "Kaur",
                "role": "practitioner",
                "practitioner_kind": "nurse",
            },
            follow=True,
        )
    assert response.redirect_chain[-1][0] == "/organization/members/"
    assert "Invitation sent to Rhea.Kaur@Example.test." in messages_of(response)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rhea.kaur@example.test"]
    membership = Membership.objects.get(user__email="rhea.kaur@example.test")
    assert membership.organization == tenant_a.organization
    assert membership.practitioner_kind == "nurse"
    assert not membership.user.has_usable_password()
    assert "Invitation pending" in response.content.decode()


def test_inviting_a_practitioner_without_a_kind_shows_the_error_and_creates_nothing(
    client, tenant_a, django_capture_on_commit_callbacks
):
    client.force_login(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/organization/members/invite/",
            {"email": "nokind@example.test", "role": "practitioner", "practitioner_kind": ""},
        )
    assert response.status_code == 200
    assert response.context["form"].errors["practitioner_kind"] == ["Required for practitioners."]
    assert not User.objects.filter(email="nokind@example.test").exists()
    assert mail.outbox == []


def test_admin_deactivates_a_member(client, tenant_a):
    client.force_login(tenant_a.admin)
    membership = Membership.objects.get(user=tenant_a.nurse)
    response = client.post(f"/organization/members/{membership.pk}/deactivate/", follow=True)
    assert response.redirect_chain[-1][0] == "/organization/members/"
    membership.refresh_from_db()
    assert not membership.is_active
    assert "Deactivated" in response.content.decode()


def test_admin_cannot_deactivate_their_own_admin_role(client, tenant_a):
    client.force_login(tenant_a.admin)
    membership = Membership.objects.get(user=tenant_a.admin)
    response = client.post(f"/organization/members/{membership.pk}/deactivate/", follow=True)
    assert "You cannot remove your own admin role." in messages_of(response)
    membership.refresh_from_db()
    assert membership.is_active


def test_admin_cannot_deactivate_another_tenants_member(client, tenant_a, tenant_b):
    client.force_login(tenant_a.admin)
    membership = Membership.objects.get(user=tenant_b.doctor)
    response = client.post(f"/organization/members/{membership.pk}/deactivate/")
    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.is_active


def test_platform_admin_without_organization_is_asked_to_pick_one(client, platform_admin):
    client.force_login(platform_admin)
    response = client.get("/organization/members/")
    assert response.status_code == 200
    assert "Choose an organization first" in response.content.decode()


# --- Organization settings -----------------------------------------------------------------


def test_settings_update_changes_the_organization_and_is_audited(client, tenant_a):
    organization = tenant_a.organization
    client.force_login(tenant_a.admin)
    page = client.get("/organization/settings/")
    assert f"/o/{organization.slug}/register/" in page.content.decode()
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.pop("require_two_factor", None)
    data.update(name="Alpha Family Clinic", currency="nzd", time_zone="Pacific/Auckland")
    response = client.post("/organization/settings/", data, follow=True)
    assert "Settings saved." in messages_of(response)
    organization.refresh_from_db()
    assert organization.name == "Alpha Family Clinic"
    assert organization.currency == "NZD"
    assert organization.time_zone == "Pacific/Auckland"
    event = AuditEvent.objects.get(action="update", object_type="accounts.organization")
    assert event.actor == tenant_a.admin
    assert event.details == {"fields": ["currency", "name", "time_zone"]}


def test_settings_page_only_edits_the_admins_own_organization(client, tenant_a, tenant_b):
    client.force_login(tenant_a.admin)
    assert client.get("/organization/settings/").context["organization"] == tenant_a.organization
    html = client.get("/organization/settings/").content.decode()
    assert tenant_b.organization.name not in html


# --- Organizations (platform) --------------------------------------------------------------


def organization_form(**overrides) -> dict:
    return {
        "name": "Coral Bay Clinic",
        "slug": "coral-bay",
        "time_zone": "Australia/Perth",
        "country": "au",
        "subdivision": "WA",
        "currency": "aud",
        "admin_email": "lead@coral-bay.test",
        "admin_first_name": "Ana",
        "admin_last_name": "Lima",
        **overrides,
    }


def test_platform_admin_lists_every_organization_with_member_counts(
    client, platform_admin, tenant_a, tenant_b
):
    client.force_login(platform_admin)
    response = client.get("/platform/organizations/")
    rows = {org.slug: org.member_count for org in response.context["page_obj"]}
    assert rows == {"alpha-clinic": 6, "bravo-hospital": 6}


def test_platform_admin_creates_an_organization_and_its_admin_is_invited(
    client, platform_admin, django_capture_on_commit_callbacks
):
    client.force_login(platform_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/platform/organizations/", organization_form(), follow=True)
    assert response.redirect_chain[-1][0] == "/platform/organizations/"
    organization = Organization.objects.get(slug="coral-bay")
    assert (organization.country, organization.currency) == ("AU", "AUD")
    admin = Membership.objects.get(organization=organization, role="org_admin").user
    assert admin.email == "lead@coral-bay.test"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lead@coral-bay.test"]
    assert "Coral Bay Clinic" in response.content.decode()


def test_a_taken_slug_shows_a_field_error(client, platform_admin, tenant_a):
    client.force_login(platform_admin)
    response = client.post("/platform/organizations/", organization_form(slug="alpha-clinic"))
    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == ["Already taken."]
    assert not Organization.objects.filter(name="Coral Bay Clinic").exists()


@pytest.mark.parametrize("who", ["admin", "doctor", "staff", "patient"])
def test_only_platform_admins_reach_the_organizations_page(client, tenant_a, who):
    client.force_login(getattr(tenant_a, who))
    assert client.get("/platform/organizations/").status_code == 403
    response = client.post("/platform/organizations/", organization_form())
    assert response.status_code == 403
    assert not Organization.objects.filter(slug="coral-bay").exists()
    assert AuditEvent.objects.filter(action="permission_denied").exists()


def test_navigation_shows_admin_pages_to_the_right_roles(client, tenant_a, platform_admin):
    client.force_login(tenant_a.admin)
    admin_html = client.get("/").content.decode()
    assert 'href="/organization/members/"' in admin_html
    assert 'href="/audit/"' in admin_html
    assert 'href="/platform/organizations/"' not in admin_html
    client.force_login(tenant_a.doctor)
    doctor_html = client.get("/").content.decode()
    assert 'href="/organization/members/"' not in doctor_html
    assert 'href="/audit/"' not in doctor_html
    assert 'href="/account/two-factor/"' in doctor_html
    client.force_login(platform_admin)
    assert 'href="/platform/organizations/"' in client.get("/").content.decode()
