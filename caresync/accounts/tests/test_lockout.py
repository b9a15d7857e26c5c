"""Repeated failed sign-ins lock the account (per address) on the web and the password grant."""

import pytest

from caresync.accounts.models import Application
from caresync.accounts.tests.factories import TEST_PASSWORD
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db

SECRET = "lockout-client-secret"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def web_login(client, email, password):
    return client.post("/login/", {"username": email, "password": password})


def test_web_sign_in_locks_after_repeated_failures(client, tenant_a):
    for _ in range(2):
        assert web_login(client, tenant_a.doctor.email, "wrong").status_code == 200
    assert web_login(client, tenant_a.doctor.email, "wrong").status_code == 429
    locked = web_login(client, tenant_a.doctor.email.upper(), TEST_PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session
    # Three wrong passwords, then the attempt refused while locked.
    assert AuditEvent.objects.filter(action="login_failed").count() == 4
    assert AuditEvent.objects.filter(
        action="locked_out", actor_label=tenant_a.doctor.email
    ).exists()


def test_lockout_is_per_account_other_people_still_sign_in(client, tenant_a):
    for _ in range(3):
        web_login(client, tenant_a.doctor.email, "wrong")
    assert web_login(client, tenant_a.nurse.email, TEST_PASSWORD).status_code == 302


def test_success_before_the_limit_resets_the_counter(client, tenant_a):
    web_login(client, tenant_a.doctor.email, "wrong")
    web_login(client, tenant_a.doctor.email, "wrong")
    assert web_login(client, tenant_a.doctor.email, TEST_PASSWORD).status_code == 302
    client.logout()
    web_login(client, tenant_a.doctor.email, "wrong")
    assert web_login(client, tenant_a.doctor.email, TEST_PASSWORD).status_code == 302


def test_password_grant_shares_the_lockout(client, tenant_a):
    app = Application.objects.create(
        name="Mobile",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
        client_secret=SECRET,
    )

    def grant(password):
        return client.post(
            "/api/v1/auth/token/",
            {
                "grant_type": "password",
                "username": tenant_a.staff.email,
                "password": password,
                "client_id": app.client_id,
                "client_secret": SECRET,
            },
        )

    for _ in range(3):
        assert grant("wrong").status_code == 400
    locked = grant(TEST_PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"] == "locked_out"
    assert web_login(client, tenant_a.staff.email, TEST_PASSWORD).status_code == 429
