"""Strict types at the /v1 edges: a value of the wrong JSON type, with a control character, too
long or overflowing is a 400 in the envelope naming the field, and nothing is written."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from checkout.models import CheckoutSession
from tests.checkout.support import issue, open_session, pay, publishable_key
from tests.vouchers.api_support import api_client
from vouchers.models import Voucher
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

VOUCHER = {"currency": "EUR", "amount": 5000}
SESSION = {"amount": 1000, "order_id": "ORD-1"}


@pytest.fixture
def api(merchant_a):
    return api_client(merchant_a)


def count(merchant, model) -> int:
    with schema_context(merchant.schema_name):
        return model.objects.count()


def assert_refused(response, param: str, code: str = "parameter_invalid") -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert param in error["errors"]


@pytest.mark.parametrize("amount", ["100", 1000.0, True, None, [100], {"v": 100}])
def test_a_voucher_amount_is_a_json_integer(api, merchant_a, amount):
    response = api.post("/v1/vouchers", VOUCHER | {"amount": amount}, format="json")

    assert_refused(response, "amount")
    assert count(merchant_a, Voucher) == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("amount", "100"),
        ("amount", 1000.0),
        ("order_id", 12345),
        ("expires_in", "300"),
        ("expires_in", 300.0),
        ("currency", 978),
        ("success_url", 1),
    ],
)
def test_a_session_refuses_a_value_of_the_wrong_type(api, merchant_a, field, value):
    response = api.post("/v1/checkout/sessions", SESSION | {field: value}, format="json")

    assert_refused(response, field)
    assert count(merchant_a, CheckoutSession) == 0


@pytest.mark.parametrize("order_id", ["ORD-1\n", "ORD\x001", " ORD-1", "ORD-1 ", "\uff2f-1"])
def test_a_session_order_id_matches_its_pattern_exactly(api, merchant_a, order_id):
    response = api.post("/v1/checkout/sessions", SESSION | {"order_id": order_id}, format="json")

    assert_refused(response, "order_id")
    assert count(merchant_a, CheckoutSession) == 0


@pytest.mark.parametrize(
    "body, param, code",
    [
        ({"metadata": {"ke\x00y": "v"}}, "metadata", "metadata_invalid"),
        ({"metadata": {"key": "v\x00"}}, "metadata.key", "metadata_invalid"),
        ({"metadata": {"key": "line\nbreak"}}, "metadata.key", "metadata_invalid"),
        ({"metadata": ["key"]}, "metadata", "parameter_invalid"),
        ({"metadata": {"key": 1}}, "metadata.key", "metadata_invalid"),
        ({"rules": {"order_id_prefix": "ORD\x00"}}, "rules.order_id_prefix", "rules_invalid"),
        ({"rules": {"max_redemptions": 2**40}}, "rules.max_redemptions", "rules_invalid"),
        ({"rules": {"min_order_amount": 10**30}}, "rules.min_order_amount", "rules_invalid"),
        ({"rules": "single_use"}, "rules", "parameter_invalid"),
        ({"amount": 10**30}, "amount", "parameter_invalid"),
        ({"code": "ABCD\x00EFGHIJKLMN"}, "code", "parameter_invalid"),
        ({"code": "A" * 101}, "code", "parameter_invalid"),
        ({"prefix": 12}, "prefix", "parameter_invalid"),
        ({"length": "16"}, "length", "parameter_invalid"),
        ({"expires_at": "9999-12-31T23:59:59-05:00"}, "expires_at", "parameter_invalid"),
        ({"expires_at": 1893456000}, "expires_at", "parameter_invalid"),
    ],
)
def test_a_voucher_create_refuses_control_characters_and_overflows(
    api, merchant_a, body, param, code
):
    response = api.post("/v1/vouchers", VOUCHER | body, format="json")

    assert_refused(response, param, code)
    assert count(merchant_a, Voucher) == 0


@pytest.mark.parametrize("method", ["post", "patch"])
@pytest.mark.parametrize(
    "metadata, param",
    [
        ({"ke\x00y": "v"}, "metadata"),
        ({"key": "v\x00"}, "metadata.key"),
        ({"k": "\x1b[31m"}, "metadata.k"),
    ],
)
def test_a_voucher_update_never_stores_a_control_character(
    api, merchant_a, method, metadata, param
):
    voucher = api.post("/v1/vouchers", VOUCHER | {"metadata": {"a": "1"}}, format="json").json()

    response = getattr(api, method)(
        f"/v1/vouchers/{voucher['id']}", {"metadata": metadata}, format="json"
    )

    assert_refused(response, param, "metadata_invalid")
    with schema_context(merchant_a.schema_name):
        stored = Voucher.objects.get(public_id=voucher["id"])
    assert (stored.metadata, stored.version) == ({"a": "1"}, 1)


@pytest.mark.parametrize(
    "body, param",
    [
        ({"status": 1}, "status"),
        ({"status": ["disabled"]}, "status"),
        ({"expires_at": "0001-01-01T00:00:00+01:00"}, "expires_at"),
    ],
)
def test_a_voucher_update_refuses_the_wrong_type(api, merchant_a, body, param):
    voucher = api.post("/v1/vouchers", VOUCHER, format="json").json()

    response = api.patch(f"/v1/vouchers/{voucher['id']}", body, format="json")

    assert_refused(response, param)


@pytest.mark.parametrize(
    "body, param",
    [
        ({"amount": "500", "reason": "r"}, "amount"),
        ({"amount": 500, "reason": 5}, "reason"),
        ({"amount": 500, "reason": "r" * 501}, "reason"),
        ({"amount": 2**64, "reason": "r"}, "amount"),
    ],
)
def test_an_adjustment_is_strictly_typed(api, merchant_a, body, param):
    voucher = api.post("/v1/vouchers", VOUCHER, format="json").json()

    response = api.post(f"/v1/vouchers/{voucher['id']}/adjust", body, format="json")

    assert_refused(response, param)
    with schema_context(merchant_a.schema_name):
        assert Voucher.objects.get(public_id=voucher["id"]).balance == 5000


@pytest.mark.parametrize(
    "path, query, param",
    [
        ("/v1/vouchers", {"created[gte]": "9999-12-31T23:59:59-05:00"}, "created[gte]"),
        ("/v1/vouchers", {"last4": "AB\x00C"}, "last4"),
        ("/v1/payments", {"order_id": "ORD\x00"}, "order_id"),
        ("/v1/payments", {"created[lte]": "0001-01-01T00:00:00+01:00"}, "created[lte]"),
    ],
)
def test_list_filters_refuse_control_characters_and_overflowing_dates(api, path, query, param):
    assert_refused(api.get(path, query), param)


@pytest.mark.parametrize(
    "body, param",
    [
        ({"url": 5, "enabled_events": ["*"]}, "url"),
        ({"url": "https://hooks.example/\x00", "enabled_events": ["*"]}, "url"),
        ({"url": "https://hooks.example/", "enabled_events": "*"}, "enabled_events"),
        ({"url": "https://hooks.example/", "enabled_events": [1]}, "enabled_events.0"),
        (
            {"url": "https://hooks.example/", "enabled_events": ["*"], "description": 1},
            "description",
        ),
    ],
)
def test_a_webhook_endpoint_is_strictly_typed(api, merchant_a, body, param):
    response = api.post("/v1/webhook_endpoints", body, format="json")

    assert_refused(response, param)
    assert count(merchant_a, WebhookEndpoint) == 0


def test_a_webhook_endpoint_update_takes_only_a_json_boolean(api, merchant_a):
    created = api.post(
        "/v1/webhook_endpoints",
        {"url": "https://hooks.example/", "enabled_events": ["*"]},
        format="json",
    ).json()

    response = api.post(
        f"/v1/webhook_endpoints/{created['id']}", {"disabled": "true"}, format="json"
    )

    assert_refused(response, "disabled")


@pytest.mark.parametrize(
    "body, param",
    [
        ({"amount": "100"}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"amount": 10**20}, "amount"),
        ({"reason": 7}, "reason"),
        ({"reason": "dup\x00"}, "reason"),
    ],
)
def test_a_refund_is_strictly_typed(api, client, merchant_a, body, param):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, publishable_key(merchant_a), amount="12.34", order_id="R-1")
    payment = pay(client, merchant_a, session["id"], voucher.code).json()["payment"]

    response = api.post(f"/v1/payments/{payment['id']}/refunds", body, format="json")

    assert_refused(response, param)
    assert api.get(f"/v1/payments/{payment['id']}").json()["amount_refunded"] == 0


@pytest.mark.parametrize(
    "path, query, param",
    [
        ("/v1/vouchers", {"limit": "101"}, "limit"),
        ("/v1/vouchers", {"limit": "0"}, "limit"),
        ("/v1/payments", {"limit": "ten"}, "limit"),
        ("/v1/events", {"limit": "-1"}, "limit"),
        ("/v1/vouchers", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/vouchers", {"status": ""}, "status"),
        ("/v1/payments", {"refund_status": ""}, "refund_status"),
        ("/v1/payments", {"created[gte]": ""}, "created[gte]"),
        ("/v1/events", {"type": ""}, "type"),
    ],
)
def test_list_parameters_outside_the_document_are_refused(api, path, query, param):
    assert_refused(api.get(path, query), param)
