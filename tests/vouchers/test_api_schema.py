"""The vouchers API in the OpenAPI document."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return yaml.safe_load(APIClient().get("/v1/schema").content)


def test_every_voucher_post_documents_the_idempotency_key(schema):
    posts = {
        path: operation["post"]
        for path, operation in schema["paths"].items()
        if "voucher" in path and "post" in operation
    }
    assert set(posts) == {
        "/v1/vouchers",
        "/v1/vouchers/bulk",
        "/v1/vouchers/balance",
        "/v1/vouchers/{voucher_id}",
        "/v1/vouchers/{voucher_id}/adjust",
    }
    for operation in posts.values():
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"]


def test_create_documents_its_answer_and_the_error_envelope(schema):
    operation = schema["paths"]["/v1/vouchers"]["post"]
    assert operation["operationId"] == "vouchers_create"
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VoucherCreated"
    }
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorEnvelope"
    }
    bulk = schema["paths"]["/v1/vouchers/bulk"]["post"]["responses"]
    assert set(bulk) >= {"201", "202"}
    listing = schema["paths"]["/v1/vouchers"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names >= {"status", "currency", "created[gte]", "created[lte]", "last4", "cursor"}
