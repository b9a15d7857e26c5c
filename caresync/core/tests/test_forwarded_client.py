"""The client address behind a reverse proxy: believed only from a trusted proxy."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory

from caresync.accounts.tests.factories import TEST_PASSWORD
from caresync.core.middleware import ForwardedClientMiddleware
from caresync.core.models import AuditEvent


def _client_address(settings, proxies, remote, forwarded=None) -> str:
    settings.TRUSTED_PROXIES = proxies
    seen = {}

    def view(request):
        seen["address"] = request.META["REMOTE_ADDR"]
        return HttpResponse()

    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    ForwardedClientMiddleware(view)(request)
    return seen["address"]


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client"),
    [
        # No proxy configured: the header is anyone's to forge.
        ([], "198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # From the proxy: the address it saw.
        (["10.0.0.5"], "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9", "203.0.113.9"),
        # A forged entry before the real one: the proxy appends, so the last untrusted counts.
        (["10.0.0.0/8"], "10.1.2.3", "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        # Two proxies in a row (a load balancer, then nginx): both skipped.
        (["10.0.0.0/8", "192.168.0.0/16"], "10.1.2.3", "203.0.113.9, 192.168.1.1", "203.0.113.9"),
        # A direct connection with the header set: not believed.
        (["10.0.0.0/8"], "198.51.100.7", "203.0.113.9", "198.51.100.7"),
        # Nonsense in the header: the walk stops; the proxy's address stays.
        (["10.0.0.0/8"], "10.1.2.3", "not-an-address", "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "203.0.113.9, junk", "10.1.2.3"),
        # IPv6 clients.
        (["::1"], "::1", "2001:db8::42", "2001:db8::42"),
        # From the proxy without the header.
        (["10.0.0.0/8"], "10.1.2.3", None, "10.1.2.3"),
    ],
)
def test_client_address(settings, proxies, remote, forwarded, client):
    assert _client_address(settings, proxies, remote, forwarded) == client


def test_a_malformed_trusted_proxy_setting_stops_start_up(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        ForwardedClientMiddleware(lambda request: HttpResponse())


def test_audit_rows_and_lockouts_see_the_client_not_the_proxy(settings, client, tenant_a):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = client.post(
        "/login/",
        {"username": tenant_a.nurse.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert response.status_code == 302
    login = AuditEvent.objects.filter(action="login").latest("id")
    assert login.ip == "203.0.113.9"
