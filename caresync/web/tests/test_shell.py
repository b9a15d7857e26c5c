"""The web shell: sign-in, role dashboards, organization switcher, strict CSP."""

import re

import pytest

from caresync.accounts.tests.factories import TEST_PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_in_with_email_and_password_lands_on_dashboard(client, tenant_a):
    response = client.post(
        "/login/", {"username": tenant_a.doctor.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert tenant_a.organization.name in page.content.decode()


def test_wrong_password_shows_an_error_and_stays_signed_out(client, tenant_a):
    response = client.post("/login/", {"username": tenant_a.doctor.email, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("who", "template"),
    [
        ("admin", "web/dashboards/org_admin.html"),
        ("doctor", "web/dashboards/practitioner.html"),
        ("nurse", "web/dashboards/practitioner.html"),
        ("staff", "web/dashboards/staff.html"),
        ("patient", "web/dashboards/patient.html"),
    ],
)
def test_each_role_lands_on_its_own_dashboard(client, tenant_a, who, template):
    client.force_login(getattr(tenant_a, who))
    response = client.get("/")
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]


def test_platform_admin_dashboard_lists_organizations(client, platform_admin, tenant_a, tenant_b):
    client.force_login(platform_admin)
    response = client.get("/")
    assert "web/dashboards/platform_admin.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert tenant_a.organization.name in html and tenant_b.organization.name in html


def test_org_admin_sees_member_counts_of_their_organization_only(client, tenant_a, tenant_b):
    client.force_login(tenant_a.admin)
    response = client.get("/")
    assert response.context["member_counts"] == {
        "org_admin": 1,
        "practitioner": 2,
        "staff": 1,
        "patient": 2,
    }
    assert tenant_b.organization.name not in response.content.decode()


def test_organization_switcher_changes_the_active_organization(client, tenant_a, tenant_b):
    second = MembershipFactory(
        user=tenant_a.doctor, organization=tenant_b.organization, role="org_admin"
    )
    client.force_login(tenant_a.doctor)
    assert client.get("/").context["active_membership"].organization == tenant_a.organization
    response = client.post("/organization/switch/", {"membership": second.pk, "next": "/"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.context["active_membership"] == second
    assert "web/dashboards/org_admin.html" in [t.name for t in page.templates]


def test_switching_to_someone_elses_membership_is_refused(client, tenant_a, tenant_b):
    client.force_login(tenant_a.doctor)
    foreign = tenant_b.admin.memberships.get()
    client.post("/organization/switch/", {"membership": foreign.pk})
    assert client.get("/").context["active_membership"].organization == tenant_a.organization


def test_switcher_ignores_an_offsite_next_url(client, tenant_a):
    client.force_login(tenant_a.doctor)
    membership = tenant_a.doctor.memberships.get()
    response = client.post(
        "/organization/switch/", {"membership": membership.pk, "next": "https://evil.test/"}
    )
    assert response["Location"] == "/"


def test_system_page_is_for_platform_admins_only(client, platform_admin, tenant_a):
    client.force_login(tenant_a.admin)
    assert client.get("/system/").status_code == 403
    client.force_login(platform_admin)
    response = client.get("/system/")
    assert response.status_code == 200
    assert (
        "channel_layer" in response.content.decode() or "Channel layer" in response.content.decode()
    )


def test_sign_out_requires_post_and_ends_the_session(client, tenant_a):
    client.force_login(tenant_a.staff)
    client.post("/logout/")
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/login/", "/"])
def test_pages_carry_a_strict_csp_and_no_inline_script(client, tenant_a, path):
    client.force_login(tenant_a.doctor)
    if path == "/login/":
        client.logout()
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"inline script found: {tag}"
    assert not re.search(r"\son[a-z]+=\"", html), "inline event handler found"
    assert 'style="' not in html
    assert "//cdn" not in html
