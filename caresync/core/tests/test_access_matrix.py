"""The role × action matrix, checked against every API endpoint in the URL conf.

Every DRF endpoint under /api/v1/ must declare a policy for each method it serves, and
have a case below; so a new endpoint without a policy (or without a case) fails here.
Each case runs for every role in its own organization and against a foreign one.
"""

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from caresync.accounts.api import PublicEndpoint
from caresync.accounts.permissions import policy_for
from caresync.core.policy import RULES

pytestmark = pytest.mark.django_db

# Endpoints open to anyone: documentation, OAuth protocol endpoints, public account forms.
PUBLIC_NAMES = {
    "api-schema",
    "api-docs",
    "api-redoc",
    "oauth-token",
    "oauth-revoke",
    "oauth-introspect",
    "oauth-authorize",
    "api-password-reset",
    "api-set-password",
    "api-register",
}


def api_endpoints():
    """(url name, route, view class, {method: action}) for every DRF endpoint in /api/v1/."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                cls = getattr(entry.callback, "cls", None)
                if route.startswith("api/v1/") and entry.name:
                    actions = getattr(entry.callback, "actions", None)
                    found.append((entry.name, route, cls, actions))

    walk(get_resolver().url_patterns, "")
    return found


def member_id(tenant):
    return tenant.nurse.memberships.get().pk


def audit_id(tenant):
    from caresync.core.audit import audit_record

    return audit_record(actor=tenant.admin, action="read", organization=tenant.organization).pk


def break_glass_id(tenant):
    from caresync.core.break_glass import break_glass_open
    from caresync.core.policy import Actor

    actor = Actor(
        user=tenant.doctor,
        organization=tenant.organization,
        roles=frozenset({"user", "practitioner"}),
    )
    return break_glass_open(actor=actor, patient_id="42", reason="Unconscious in ED").pk


# (url name, method) → how to call it for a tenant: returns (path, body).
CASES = {
    ("api-me", "GET"): lambda t: ("/api/v1/me/", None),
    ("api-me", "PATCH"): lambda t: ("/api/v1/me/", {"first_name": "Renamed"}),
    ("organization-list", "GET"): lambda t: ("/api/v1/organizations/", None),
    ("organization-list", "POST"): lambda t: (
        "/api/v1/organizations/",
        {
            "name": "New",
            "slug": f"new-{t.organization.slug}",
            "time_zone": "UTC",
            "country": "AU",
            "admin_email": f"first@{t.organization.slug}.test",
        },
    ),
    ("organization-detail", "GET"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/",
        None,
    ),
    ("organization-detail", "PATCH"): lambda t: (
        f"/api/v1/organizations/{t.organization.slug}/",
        {"phone": "+61 2 0000 0000"},
    ),
    ("member-list", "GET"): lambda t: ("/api/v1/members/", None),
    ("member-list", "POST"): lambda t: (
        "/api/v1/members/",
        {"email": f"invitee@{t.organization.slug}.test", "role": "staff"},
    ),
    ("member-detail", "GET"): lambda t: (f"/api/v1/members/{member_id(t)}/", None),
    ("member-deactivate", "POST"): lambda t: (f"/api/v1/members/{member_id(t)}/deactivate/", None),
    ("audit-event-list", "GET"): lambda t: ("/api/v1/audit-events/", None),
    ("audit-event-detail", "GET"): lambda t: (f"/api/v1/audit-events/{audit_id(t)}/", None),
    ("audit-event-export", "GET"): lambda t: ("/api/v1/audit-events/export/", None),
    ("break-glass-list", "GET"): lambda t: ("/api/v1/break-glass/", None),
    ("break-glass-detail", "GET"): lambda t: (f"/api/v1/break-glass/{break_glass_id(t)}/", None),
    ("break-glass-review", "POST"): lambda t: (
        f"/api/v1/break-glass/{break_glass_id(t)}/review/",
        {"note": "Checked with the ED."},
    ),
}

ROLE_USERS = {  # role label → (attribute of the tenant fixture or None, policy roles held)
    "org_admin": ("admin", {"user", "org_admin"}),
    "doctor": ("doctor", {"user", "practitioner"}),
    "nurse": ("nurse", {"user", "practitioner"}),
    "staff": ("staff", {"user", "staff"}),
    "patient": ("patient", {"user", "patient"}),
    "platform_admin": (None, {"user", "platform_admin"}),
}


def served_methods(cls, actions):
    if actions:
        return {
            method.upper(): action
            for method, action in actions.items()
            if method not in ("head", "options")
        }
    return {m.upper(): None for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}


def all_cases():
    cases = []
    for name, route, cls, actions in api_endpoints():
        if name in PUBLIC_NAMES or cls is None:
            continue
        for method in served_methods(cls, actions):
            cases.append((name, route, cls, actions, method))
    return cases


def test_every_api_endpoint_declares_a_policy_and_has_a_matrix_case():
    missing_policy, missing_case = [], []
    for name, route, cls, actions, method in all_cases():
        view = cls()
        view.action = (actions or {}).get(method.lower())
        try:
            permission = policy_for(view, method)
        except LookupError:
            missing_policy.append(f"{method} {route}")
            continue
        assert permission in RULES, f"{method} {route} names unknown permission {permission}"
        if (name, method) not in CASES:
            missing_case.append(f"{method} {route} ({name})")
    assert missing_policy == [], "endpoints without a policy"
    assert missing_case == [], "endpoints without a case in the access matrix test"


def test_public_endpoints_are_exactly_the_listed_ones():
    public = {
        name
        for name, _, cls, _ in api_endpoints()
        if cls is None
        or any(p is PublicEndpoint for p in getattr(cls, "permission_classes", []))
        or name in PUBLIC_NAMES
    }
    schema_views = {"api-schema", "api-docs", "api-redoc"}
    oauth_views = {"oauth-token", "oauth-revoke", "oauth-introspect", "oauth-authorize"}
    assert public - schema_views - oauth_views == PUBLIC_NAMES - schema_views - oauth_views


def test_docs_access_control_matches_the_policy():
    out = io.StringIO()
    call_command("access_matrix", stdout=out)
    document = (settings.BASE_DIR / "docs" / "access-control.md").read_text()
    assert document == out.getvalue(), (
        "regenerate: manage.py access_matrix > docs/access-control.md"
    )


MATRIX = [(name, method, role) for name, _, _, _, method in all_cases() for role in ROLE_USERS]


@pytest.mark.parametrize(("name", "method", "role"), MATRIX)
def test_role_matrix_in_own_and_foreign_organization(
    name, method, role, tenant_a, tenant_b, platform_admin, api_client
):
    attribute, held = ROLE_USERS[role]
    user = platform_admin if attribute is None else getattr(tenant_a, attribute)
    route_cls = next(cls for n, _, cls, _ in api_endpoints() if n == name)
    actions = next(a for n, _, _, a in api_endpoints() if n == name)
    view = route_cls()
    view.action = (actions or {}).get(method.lower())
    rule = RULES[policy_for(view, method)]
    allowed = bool(rule.roles & held)
    api_client.force_authenticate(user=user)
    headers = {"HTTP_X_ORGANIZATION": tenant_a.organization.slug} if attribute is None else {}

    own_path, body = CASES[(name, method)](tenant_a)
    response = api_client.generic(
        method, own_path, data=_json(body), content_type="application/json", **headers
    )
    if allowed:
        assert response.status_code < 400, (role, method, own_path, response.content)
    else:
        assert response.status_code == 403, (role, method, own_path, response.status_code)
        assert response.json()["error"]["code"] == "permission_denied"

    foreign_path, body = CASES[(name, method)](tenant_b)
    if foreign_path != own_path and attribute is not None:
        response = api_client.generic(
            method, foreign_path, data=_json(body), content_type="application/json"
        )
        expected = 404 if allowed else 403
        assert response.status_code == expected, (role, method, foreign_path, response.content)


def test_anonymous_callers_get_401_everywhere(api_client, tenant_a):
    for name, _, _, _, method in all_cases():
        path, body = CASES[(name, method)](tenant_a)
        response = api_client.generic(
            method, path, data=_json(body), content_type="application/json"
        )
        assert response.status_code == 401, (method, path)


def _json(body):
    return json.dumps(body) if body is not None else ""
