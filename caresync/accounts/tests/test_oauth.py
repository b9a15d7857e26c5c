"""OAuth2 over real HTTP requests through the test client: grants, scopes, revocation."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from oauth2_provider.models import AccessToken

from caresync.accounts.models import Application
from caresync.accounts.tests.factories import TEST_PASSWORD
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
SECRET = "s3cret-client-secret-for-tests"
REDIRECT = "https://app.example.test/callback"


def make_app(
    grant,
    *,
    organization=None,
    client_type=Application.CLIENT_CONFIDENTIAL,
    redirect_uris="",
    name="App",
):
    return Application.objects.create(
        name=name,
        client_type=client_type,
        authorization_grant_type=grant,
        client_secret=SECRET,
        organization=organization,
        redirect_uris=redirect_uris,
        skip_authorization=False,
    )


@pytest.fixture
def first_party_app():
    return make_app(Application.GRANT_PASSWORD, name="CareSync mobile")


def password_token(client, app, user, scope="user/*.read user/*.write", **extra):
    return client.post(
        TOKEN_URL,
        {
            "grant_type": "password",
            "username": user.email,
            "password": TEST_PASSWORD,
            "client_id": app.client_id,
            "client_secret": SECRET,
            "scope": scope,
            **extra,
        },
    )


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_password_grant_issues_a_token_that_reaches_the_api(client, first_party_app, tenant_a):
    response = password_token(client, first_party_app, tenant_a.doctor)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    me = client.get("/api/v1/me/", **bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == tenant_a.doctor.email
    issued = AuditEvent.objects.get(action="token_issued")
    assert issued.actor == tenant_a.doctor


def test_tokens_are_stored_only_as_checksums(client, first_party_app, tenant_a):
    raw = password_token(client, first_party_app, tenant_a.doctor).json()["access_token"]
    stored = AccessToken.objects.get()
    assert stored.token != raw
    assert stored.token_checksum == hashlib.sha256(raw.encode()).hexdigest()


def test_scope_limits_the_token_below_the_users_role(client, first_party_app, tenant_a):
    token = password_token(client, first_party_app, tenant_a.doctor, scope="user/User.read").json()[
        "access_token"
    ]
    assert client.get("/api/v1/me/", **bearer(token)).status_code == 200
    response = client.patch(
        "/api/v1/me/", {"first_name": "X"}, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert AuditEvent.objects.filter(action="permission_denied", actor=tenant_a.doctor).exists()


def test_unknown_scope_is_refused(client, first_party_app, tenant_a):
    response = password_token(client, first_party_app, tenant_a.doctor, scope="admin/*.*")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_wrong_password_is_invalid_grant_and_audited(client, first_party_app, tenant_a):
    response = client.post(
        TOKEN_URL,
        {
            "grant_type": "password",
            "username": tenant_a.doctor.email,
            "password": "wrong",
            "client_id": first_party_app.client_id,
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.actor_label == tenant_a.doctor.email
    assert failed.details["via"] == "oauth_password_grant"


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({}, 400, "unsupported_grant_type"),
        ({"grant_type": "telepathy"}, 400, "unsupported_grant_type"),
        (
            {
                "grant_type": "password",
                "username": "x@example.test",
                "password": "p",
                "client_id": "nope",
                "client_secret": "nope",
            },
            401,
            "invalid_client",
        ),
    ],
)
def test_malformed_token_requests_get_rfc6749_errors(client, data, status, error):
    response = client.post(TOKEN_URL, data)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response["X-Request-ID"]


def test_refresh_rotates_and_a_replayed_refresh_token_is_refused(client, first_party_app, tenant_a):
    first = password_token(client, first_party_app, tenant_a.nurse).json()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": first_party_app.client_id,
        "client_secret": SECRET,
    }
    second = client.post(TOKEN_URL, refresh)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    replay = client.post(TOKEN_URL, refresh)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_revoked_token_no_longer_works(client, first_party_app, tenant_a):
    token = password_token(client, first_party_app, tenant_a.staff).json()["access_token"]
    response = client.post(
        "/api/v1/auth/revoke-token/",
        {
            "token": token,
            "client_id": first_party_app.client_id,
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200
    assert client.get("/api/v1/me/", **bearer(token)).status_code == 401
    assert AuditEvent.objects.filter(action="token_revoked").exists()


def test_client_credentials_integration_acts_only_in_its_organization(client, tenant_a, tenant_b):
    app = make_app(Application.GRANT_CLIENT_CREDENTIALS, organization=tenant_a.organization)
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": SECRET},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "system/*.read"
    listed = client.get("/api/v1/organizations/", **bearer(body["access_token"])).json()
    assert [o["slug"] for o in listed["results"]] == [tenant_a.organization.slug]
    foreign = client.get(
        f"/api/v1/organizations/{tenant_b.organization.slug}/", **bearer(body["access_token"])
    )
    assert foreign.status_code == 404
    assert client.get("/api/v1/members/", **bearer(body["access_token"])).status_code == 403


def test_integration_without_an_organization_gets_no_token(client):
    app = make_app(Application.GRANT_CLIENT_CREDENTIALS)
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": SECRET},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_user_scopes_are_not_available_to_integrations(client, tenant_a):
    app = make_app(Application.GRANT_CLIENT_CREDENTIALS, organization=tenant_a.organization)
    response = client.post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "scope": "user/*.read",
            "client_id": app.client_id,
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_authorization_code_with_pkce(client, tenant_a):
    app = make_app(
        Application.GRANT_AUTHORIZATION_CODE,
        client_type=Application.CLIENT_PUBLIC,
        redirect_uris=REDIRECT,
        name="Third-party scheduler",
    )
    verifier, challenge = pkce_pair()
    client.force_login(tenant_a.patient)
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "patient/*.read",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    consent = client.get("/api/v1/auth/authorize/", params)
    assert consent.status_code == 200
    assert b"Third-party scheduler" in consent.content
    decision = client.post("/api/v1/auth/authorize/", {**params, "allow": "Authorize"})
    assert decision.status_code == 302
    redirect = urlparse(decision["Location"])
    query = parse_qs(redirect.query)
    assert query["state"] == ["st-123"]
    client.logout()
    token = client.post(
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    me = client.get("/api/v1/me/", **bearer(token.json()["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == tenant_a.patient.email


def test_authorization_code_without_pkce_is_refused(client, tenant_a):
    app = make_app(
        Application.GRANT_AUTHORIZATION_CODE,
        client_type=Application.CLIENT_PUBLIC,
        redirect_uris=REDIRECT,
    )
    client.force_login(tenant_a.patient)
    response = client.get(
        "/api/v1/auth/authorize/",
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "patient/*.read",
            "state": "s",
        },
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "error=invalid_request" in response["Location"]


def test_resource_server_introspects_tokens(client, first_party_app, tenant_a):
    user_token = password_token(client, first_party_app, tenant_a.doctor).json()["access_token"]
    server = make_app(
        Application.GRANT_CLIENT_CREDENTIALS,
        organization=tenant_a.organization,
        name="Resource server",
    )
    server_token = client.post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "scope": "introspection",
            "client_id": server.client_id,
            "client_secret": SECRET,
        },
    ).json()["access_token"]
    response = client.post(
        "/api/v1/auth/introspect/", {"token": user_token}, **bearer(server_token)
    )
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["username"] == tenant_a.doctor.email
    unknown = client.post("/api/v1/auth/introspect/", {"token": "nope"}, **bearer(server_token))
    assert unknown.json()["active"] is False


def test_createapplication_registers_a_tenant_bound_integration(tenant_a):
    from django.core.management import call_command

    call_command(
        "createapplication",
        "confidential",
        "client-credentials",
        "--name",
        "Lab feed",
        "--organization",
        tenant_a.organization.slug,
    )
    app = Application.objects.get(name="Lab feed")
    assert app.organization == tenant_a.organization
