"""Every API error uses the one documented shape and changes nothing."""

import json

import pytest
from django.test import override_settings

from caresync.accounts.models import User

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_unknown_api_url_answers_json_404(client):
    response = client.get("/api/v1/does-not-exist/")
    assert_error_shape(response, 404, "not_found")


def test_unauthenticated_api_call_is_refused_with_error_shape(client):
    response = client.get("/api/v1/me/")
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_malformed_json_is_400_and_changes_nothing(client, tenant_a):
    client.force_login(tenant_a.doctor)
    response = client.patch(
        "/api/v1/me/", data='{"first_name": "Mallory"', content_type="application/json"
    )
    assert_error_shape(response, 400, "parse_error")
    tenant_a.doctor.refresh_from_db()
    assert tenant_a.doctor.first_name != "Mallory"


def test_wrong_content_type_is_415(client, tenant_a):
    client.force_login(tenant_a.doctor)
    response = client.patch("/api/v1/me/", data="first_name=Mallory", content_type="text/csv")
    assert_error_shape(response, 415, "unsupported_media_type")


def test_unknown_fields_are_refused_field_by_field_and_nothing_is_written(client, tenant_a):
    client.force_login(tenant_a.doctor)
    response = client.patch(
        "/api/v1/me/",
        data=json.dumps({"first_name": "Mallory", "is_platform_admin": True, "role": "x"}),
        content_type="application/json",
    )
    error = assert_error_shape(response, 400, "validation_error")
    assert error["fields"]["is_platform_admin"][0]["code"] == "unknown_field"
    assert error["fields"]["role"][0]["code"] == "unknown_field"
    user = User.objects.get(pk=tenant_a.doctor.pk)
    assert user.first_name != "Mallory"
    assert user.is_platform_admin is False


def test_invalid_field_value_reports_the_field(client, tenant_a):
    client.force_login(tenant_a.doctor)
    response = client.patch(
        "/api/v1/me/", data={"time_zone": "Mars/Olympus"}, content_type="application/json"
    )
    error = assert_error_shape(response, 400, "validation_error")
    assert error["fields"]["time_zone"][0]["code"] == "invalid_time_zone"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversize_body_is_413_and_changes_nothing(client, tenant_a):
    client.force_login(tenant_a.doctor)
    body = json.dumps({"first_name": "Mallory", "last_name": "x" * 5000})
    response = client.patch("/api/v1/me/", data=body, content_type="application/json")
    assert_error_shape(response, 413, "payload_too_large")
    tenant_a.doctor.refresh_from_db()
    assert tenant_a.doctor.first_name != "Mallory"


def test_method_not_allowed_uses_error_shape(client, tenant_a):
    client.force_login(tenant_a.doctor)
    response = client.delete("/api/v1/me/")
    assert_error_shape(response, 405, "method_not_allowed")


def test_well_formed_incoming_request_id_is_echoed(client):
    response = client.get("/api/v1/nothing-here/", headers={"X-Request-ID": "trace-1234abcd"})
    assert response["X-Request-ID"] == "trace-1234abcd"
    assert response.json()["error"]["request_id"] == "trace-1234abcd"


def test_malformed_incoming_request_id_is_replaced(client):
    response = client.get("/api/v1/nothing-here/", headers={"X-Request-ID": "<script>"})
    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32


@override_settings(ROOT_URLCONF="caresync.core.tests.urls_failing")
def test_unexpected_exception_answers_json_500_without_leaking_details(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/boom/")
    error = assert_error_shape(response, 500, "server_error")
    assert "secret detail" not in json.dumps(error)


@override_settings(ROOT_URLCONF="caresync.core.tests.urls_failing")
def test_unexpected_exception_on_a_page_renders_the_500_page(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert b"secret detail" not in response.content
    assert response["Content-Type"].startswith("text/html")


@override_settings(ROOT_URLCONF="caresync.core.tests.urls_failing")
def test_a_database_lock_timeout_answers_503_with_retry_after(client):
    client.raise_request_exception = False
    response = client.post("/api/v1/locked/", {}, content_type="application/json")
    error = assert_error_shape(response, 503, "database_busy")
    assert response["Retry-After"] == "2"
    assert "locked" not in json.dumps(error)
    page = client.get("/locked/")
    assert page.status_code == 503 and page["Retry-After"] == "2"
    assert page["Content-Type"].startswith("text/html")
    assert b"Error 503" in page.content and b"Nothing was changed" in page.content


def test_unknown_page_renders_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


def test_csrf_failure_on_api_uses_error_shape(tenant_a):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(tenant_a.doctor)
    response = csrf_client.patch(
        "/api/v1/me/", data={"first_name": "Mallory"}, content_type="application/json"
    )
    assert_error_shape(response, 403, "permission_denied")
    tenant_a.doctor.refresh_from_db()
    assert tenant_a.doctor.first_name != "Mallory"
