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
    # The page's start-up script is its own URL (no inline script: Content-Security-Policy).
    client = APIClient()
    assert '<script src="/v1/docs?script="></script>' in client.get("/v1/docs").content.decode()
    assert '"/v1/schema"' in client.get("/v1/docs?script=").content.decode()


LIST_OPERATIONS = [
    ("/v1/vouchers", "VoucherList"),
    ("/v1/vouchers/{voucher_id}/ledger", "LedgerEntryList"),
    ("/v1/voucher_jobs/{job_id}/codes", "VoucherCodeList"),
    ("/v1/payments", "PaymentList"),
    ("/v1/payments/{payment_id}/refunds", "RefundList"),
    ("/v1/webhook_endpoints", "EndpointList"),
    ("/v1/events", "EventList"),
]


@pytest.mark.parametrize("path, component", LIST_OPERATIONS)
def test_every_list_is_documented_as_the_envelope_it_answers(schema, path, component):
    response = schema["paths"][path]["get"]["responses"]["200"]
    page = schema["components"]["schemas"][component]

    assert response["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{component}"
    }
    assert set(page["properties"]) == {"object", "data", "has_more", "next_cursor"}
    assert page["properties"]["data"]["type"] == "array"
    assert page["properties"]["next_cursor"]["nullable"] is True


def _errors(schema, path, method) -> set[str]:
    responses = schema["paths"][path][method]["responses"]
    errors = {code for code in responses if code[0] in "45"}
    for code in errors:
        assert responses[code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }
    return errors


def test_each_operation_documents_the_error_statuses_it_can_answer(schema):
    writes = {"400", "401", "403", "409", "413", "422"}
    assert _errors(schema, "/v1/checkout/sessions", "post") == writes
    assert _errors(schema, "/v1/payments/{payment_id}/refunds", "post") == writes | {"404"}
    assert _errors(schema, "/v1/vouchers/balance", "post") == writes | {"429", "503"}
    assert _errors(schema, "/v1/vouchers/{voucher_id}", "patch") == writes | {"404"}
    assert _errors(schema, "/v1/payments", "get") == {"400", "401", "403"}
    assert _errors(schema, "/v1/payments/{payment_id}", "get") == {"401", "403", "404"}
    assert _errors(schema, "/v1/account", "get") == {"401", "403"}


def test_fields_carry_their_value_constraints(schema):
    components = schema["components"]["schemas"]
    session = components["SessionCreateInputRequest"]["properties"]
    voucher = components["VoucherCreateRequest"]["properties"]
    payments = {
        p["name"]: p["schema"] for p in schema["paths"]["/v1/payments"]["get"]["parameters"]
    }

    assert (session["amount"]["type"], session["amount"]["minimum"]) == ("integer", 1)
    assert session["amount"]["maximum"] == 10**13
    assert session["order_id"]["pattern"] == "^[\\u0021-\\u007e]{1,64}$"
    assert (session["expires_in"]["minimum"], session["expires_in"]["maximum"]) == (300, 86400)
    assert (session["currency"]["minLength"], session["currency"]["maxLength"]) == (3, 3)
    assert (voucher["amount"]["minimum"], voucher["amount"]["maximum"]) == (1, 10**13)
    assert (voucher["length"]["minimum"], voucher["length"]["maximum"]) == (13, 32)
    assert voucher["rules"]["additionalProperties"] is False
    assert voucher["rules"]["properties"]["max_redemptions"]["minimum"] == 1
    assert voucher["metadata"]["maxProperties"] == 50
    assert voucher["metadata"]["additionalProperties"]["maxLength"] == 500
    assert payments["limit"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert set(payments["refund_status"]["enum"]) == {"none", "partial", "full"}
