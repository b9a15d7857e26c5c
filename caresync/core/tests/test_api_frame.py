import pytest
from rest_framework.test import APIRequestFactory

from caresync.core.rest import PageNumberPagination

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_served_and_documents_the_api(client):
    response = client.get("/api/v1/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_api_docs_pages_use_local_assets_only(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def test_page_size_parameter_is_capped():
    paginator = PageNumberPagination()
    request = APIRequestFactory().get("/x/", {"page_size": "5000"})
    from rest_framework.request import Request

    assert paginator.get_page_size(Request(request)) == 100
    request = APIRequestFactory().get("/x/", {"page_size": "7"})
    assert paginator.get_page_size(Request(request)) == 7
    assert paginator.get_page_size(Request(APIRequestFactory().get("/x/"))) == 25


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    call_command(
        "spectacular", "--file", str(tmp_path / "schema.yaml"), "--validate", "--fail-on-warn"
    )
    schema = (tmp_path / "schema.yaml").read_text()
    assert "X-Organization" in schema
    assert "tokenUrl: /api/v1/auth/token/" in schema
