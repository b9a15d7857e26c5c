"""Invitations, self-registration, password reset and set-password links (web and API)."""

import re
import time

import pytest
import time_machine
from django.core import mail

from caresync.accounts.models import Membership, User
from caresync.accounts.tests.factories import TEST_PASSWORD
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-new-passphrase-42"


def link_in(message) -> str:
    return re.search(r"https?://\S+/account/set-password/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def api_parts(link: str) -> dict:
    uid, token = link.rstrip("/").split("/")[-2:]
    return {"uid": uid, "token": token}


def test_org_admin_invites_a_practitioner_who_sets_a_password(
    api_as, tenant_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(tenant_a.admin).post(
            "/api/v1/members/",
            {
                "email": "New.Doctor@Example.test",
                "role": "practitioner",
                "practitioner_kind": "doctor",
                "first_name": "Nia",
                "last_name": "Okafor",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["invitation_pending"] is True
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.doctor@example.test"]
    assert tenant_a.organization.name in message.subject
    assert message.alternatives  # HTML part
    page = client.get(path_of(link_in(message)))
    assert page.status_code == 200
    done = client.post(
        path_of(link_in(message)), {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert (
        client.post(
            "/login/", {"username": "new.doctor@example.test", "password": NEW_PASSWORD}
        ).status_code
        == 302
    )
    assert AuditEvent.objects.filter(action="invite").exists()
    assert AuditEvent.objects.filter(action="password_set").exists()


def test_a_set_password_link_works_only_once(
    api_client, tenant_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    parts = api_parts(link_in(mail.outbox[0]))
    first = api_client.post(
        "/api/v1/auth/set-password/", {**parts, "password": NEW_PASSWORD}, format="json"
    )
    assert first.status_code == 204
    again = api_client.post(
        "/api/v1/auth/set-password/", {**parts, "password": "another-passphrase-77"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"
    assert client.get(path_of(link_in(mail.outbox[0]))).status_code == 400
    assert AuditEvent.objects.filter(action="password_set", details__outcome="bad_link").exists()


def test_set_password_links_expire(
    api_client, tenant_a, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    parts = api_parts(link_in(mail.outbox[0]))
    later = time.time() + settings.PASSWORD_RESET_TIMEOUT + 3600
    with time_machine.travel(later, tick=False):
        response = api_client.post(
            "/api/v1/auth/set-password/", {**parts, "password": NEW_PASSWORD}, format="json"
        )
    assert response.status_code == 400


def test_weak_password_is_refused_with_field_errors(
    api_client, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(
            "/api/v1/auth/password-reset/", {"email": tenant_a.nurse.email}, format="json"
        )
    parts = api_parts(link_in(mail.outbox[0]))
    response = api_client.post(
        "/api/v1/auth/set-password/", {**parts, "password": "12345"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["password"]


def test_password_reset_does_not_reveal_unknown_emails(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/password-reset/", {"email": "nobody@example.test"}, format="json"
        )
    assert response.status_code == 202
    assert mail.outbox == []


def test_patient_self_registers_through_the_public_page(
    client, tenant_a, django_capture_on_commit_callbacks
):
    url = f"/o/{tenant_a.organization.slug}/register/"
    assert tenant_a.organization.name.encode() in client.get(url).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {"first_name": "Pat", "last_name": "Lee", "email": "pat.lee@example.test", "phone": ""},
        )
    assert response.status_code == 200
    user = User.objects.get(email="pat.lee@example.test")
    assert not user.has_usable_password()
    assert user.memberships.get().role == "patient"
    assert "set your CareSync password" in mail.outbox[0].subject


def test_registering_a_known_email_does_not_leak_or_duplicate(
    api_client, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/register/",
            {
                "organization": tenant_b.organization.slug,
                "email": tenant_a.patient.email,
                "first_name": "Other",
                "last_name": "Name",
            },
            format="json",
        )
    assert response.status_code == 202
    assert User.objects.filter(email=tenant_a.patient.email).count() == 1
    tenant_a.patient.refresh_from_db()
    assert tenant_a.patient.first_name != "Other"
    assert "sign-up" in mail.outbox[0].subject


def test_registration_for_an_unknown_organization_is_404(api_client):
    response = api_client.post(
        "/api/v1/auth/register/",
        {
            "organization": "no-such-clinic",
            "email": "a@example.test",
            "first_name": "A",
            "last_name": "B",
        },
        format="json",
    )
    assert response.status_code == 404


def test_deactivated_member_cannot_sign_in_but_history_stays(api_as, tenant_a, client):
    membership = tenant_a.nurse.memberships.get()
    response = api_as(tenant_a.admin).post(f"/api/v1/members/{membership.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    tenant_a.nurse.refresh_from_db()
    assert tenant_a.nurse.is_active is False
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert (
        client.post(
            "/login/", {"username": tenant_a.nurse.email, "password": TEST_PASSWORD}
        ).status_code
        == 200
    )


def test_admin_cannot_remove_their_own_admin_role(api_as, tenant_a):
    own = tenant_a.admin.memberships.get()
    response = api_as(tenant_a.admin).post(f"/api/v1/members/{own.pk}/deactivate/")
    assert response.status_code == 409


def test_inviting_an_existing_member_again_is_a_conflict(api_as, tenant_a):
    response = api_as(tenant_a.admin).post(
        "/api/v1/members/", {"email": tenant_a.staff.email, "role": "staff"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"


def test_platform_admin_creates_an_organization_with_its_first_admin(
    api_as, platform_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(platform_admin).post(
            "/api/v1/organizations/",
            {
                "name": "Coastal Imaging",
                "slug": "coastal-imaging",
                "time_zone": "America/New_York",
                "country": "us",
                "currency": "usd",
                "admin_email": "boss@coastal.test",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["country"] == "US"
    admin = User.objects.get(email="boss@coastal.test")
    assert admin.memberships.get().role == "org_admin"
    assert "invited" in mail.outbox[0].subject


def test_organization_with_a_bad_time_zone_is_refused(api_as, platform_admin):
    response = api_as(platform_admin).post(
        "/api/v1/organizations/",
        {
            "name": "X",
            "slug": "x",
            "time_zone": "Nowhere/Land",
            "country": "AU",
            "admin_email": "a@x.test",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "time_zone" in response.json()["error"]["fields"]
