"""The OpenAPI document and its docs page."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/v1/schema")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert yaml.safe_load(out.read_text())["info"]["title"] == "SuperPayment API"


def test_schema_is_public_and_documents_the_account_endpoint(schema):
    operation = schema["paths"]["/v1/account"]["get"]

    assert operation["operationId"] == "account_retrieve"
    assert operation["security"] == [{"secretKey": []}]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Account"
    }
    for status in ("401", "403"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }


def test_schema_documents_bearer_auth_and_the_error_envelope(schema):
    components = schema["components"]
    assert components["securitySchemes"]["secretKey"]["type"] == "http"
    assert components["securitySchemes"]["secretKey"]["scheme"] == "bearer"
    assert components["schemas"]["ErrorEnvelope"]["properties"]["error"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert set(components["schemas"]["Error"]["properties"]) == {
        "type",
        "code",
        "message",
        "param",
        "errors",
    }


def test_schema_lists_only_api_paths(schema):
    assert "/v1/account" in schema["paths"]
    assert all(path.startswith("/v1/") for path in schema["paths"])
    assert "/v1/schema" not in schema["paths"]
    assert "/v1/docs" not in schema["paths"]


def test_docs_page_loads_no_asset_from_another_host():
    response = APIClient().get("/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", html)
    assert len(assets) >= 3
    for asset in assets:
        relative = asset.removeprefix("/static/")
        assert finders.find(relative), f"{relative} is not a local static file"


def test_docs_page_reads_the_local_schema():
    page = APIClient().get("/v1/docs").content.decode()
    assert '"/v1/schema"' in page
