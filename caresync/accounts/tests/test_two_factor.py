"""Two-factor sign-in: enrolment, the second step, recovery codes, enforcement, password grant."""

import re
import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from caresync.accounts.models import Application
from caresync.accounts.tests.factories import TEST_PASSWORD
from caresync.accounts.two_factor import totp_enrolment_confirm, totp_enrolment_start
from caresync.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = totp_enrolment_start(actor=user)
    codes = totp_enrolment_confirm(actor=user, code=current_code(device))
    device.refresh_from_db()
    return device, codes


def sign_in(client, user):
    return client.post("/login/", {"username": user.email, "password": TEST_PASSWORD})


def test_enrolment_page_shows_a_qr_code_and_confirms_with_a_code(client, tenant_a):
    client.force_login(tenant_a.doctor)
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    assert b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=tenant_a.doctor, confirmed=False)
    wrong = client.post("/account/two-factor/", {"action": "enrol", "code": "000000"})
    assert b"did not match" in wrong.content
    done = client.post("/account/two-factor/", {"action": "enrol", "code": current_code(device)})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>([a-z0-9]+)</code></li>", done.content)
    assert len(codes) == 10
    assert AuditEvent.objects.filter(action="two_factor", actor=tenant_a.doctor).exists()


def test_sign_in_asks_for_the_code_after_the_password(client, tenant_a):
    device, _ = enrol(tenant_a.doctor)
    response = sign_in(client, tenant_a.doctor)
    assert response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    # The enrolment used this step's code; a code is accepted once, so use the next one.
    verified = client.post("/login/verify/", {"code": current_code(device, 1)})
    assert verified.status_code == 302 and verified["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_recovery_code_works_once(client, tenant_a):
    _, codes = enrol(tenant_a.nurse)
    sign_in(client, tenant_a.nurse)
    assert client.post("/login/verify/", {"code": codes[0]}).status_code == 302
    client.logout()
    sign_in(client, tenant_a.nurse)
    again = client.post("/login/verify/", {"code": codes[0]})
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session


def test_too_many_wrong_codes_end_the_attempt(client, tenant_a):
    enrol(tenant_a.doctor)
    sign_in(client, tenant_a.doctor)
    for _ in range(4):
        assert client.post("/login/verify/", {"code": "123456"}).status_code == 200
    assert client.post("/login/verify/", {"code": "123456"})["Location"] == "/login/"
    assert client.get("/login/verify/")["Location"] == "/login/"
    assert AuditEvent.objects.filter(action="login_failed", details__via="two_factor").count() == 5


def test_organization_requirement_sends_staff_to_enrolment(client, tenant_a):
    tenant_a.organization.require_two_factor = True
    tenant_a.organization.save()
    client.force_login(tenant_a.staff)
    response = client.get("/")
    assert response["Location"] == "/account/two-factor/"
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "two_factor_required"
    client.force_login(tenant_a.patient)
    assert client.get("/").status_code == 200


def test_required_two_factor_cannot_be_turned_off(client, tenant_a):
    enrol(tenant_a.admin)
    tenant_a.organization.require_two_factor = True
    tenant_a.organization.save()
    client.force_login(tenant_a.admin)
    client.post("/account/two-factor/", {"action": "disable"})
    assert TOTPDevice.objects.filter(user=tenant_a.admin, confirmed=True).exists()


def test_password_grant_needs_the_code_from_two_factor_users(client, tenant_a):
    secret = "two-factor-client-secret"
    app = Application.objects.create(
        name="Mobile",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
        client_secret=secret,
    )
    device, _ = enrol(tenant_a.doctor)
    data = {
        "grant_type": "password",
        "username": tenant_a.doctor.email,
        "password": TEST_PASSWORD,
        "client_id": app.client_id,
        "client_secret": secret,
    }
    assert client.post("/api/v1/auth/token/", data).status_code == 400
    with_code = client.post("/api/v1/auth/token/", {**data, "otp": current_code(device, 1)})
    assert with_code.status_code == 200, with_code.content
