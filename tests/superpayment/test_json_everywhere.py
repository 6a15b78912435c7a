"""The API (/v1), the widget's and the frame's endpoints answer JSON in the error envelope for
every failure, with DEBUG on as in development: never an HTML page, a redirect or Django's debug
page."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from checkout import frame_views, widget_views
from checkout.models import CheckoutSession
from tenants.keys import api_key_create
from tests.checkout.support import (
    PLATFORM,
    SHOP,
    frame_path,
    frame_post,
    open_session,
    publishable_key,
    widget_open,
)
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture(autouse=True)
def _debug_on(settings):
    settings.DEBUG = True


@pytest.fixture
def client() -> Client:
    """Answers are inspected as sent: an exception must not escape to the test."""
    return Client(raise_request_exception=False)


@pytest.fixture
def secret(merchant_a, owner_a) -> str:
    _key, raw = api_key_create(
        merchant=merchant_a, kind="secret", mode="test", name="Backend", actor=owner_a
    )
    return raw


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["type", "code", "message", "param", "errors"]
    return body["error"]


def big_json(size: int = FIVE_MB) -> str:
    return json.dumps({"metadata": {"note": "x" * size}})


def test_a_5_mb_api_body_is_413(client, merchant_a, secret):
    response = client.post(
        "/v1/vouchers",
        big_json(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert error_of(response, 413)["code"] == "body_too_large"
    with schema_context(merchant_a.schema_name):
        assert not Voucher.objects.exists()


def test_a_5_mb_widget_body_is_413(client, merchant_a, pk_a):
    response = client.post(
        "/checkout/widget/sessions", big_json(), content_type="text/plain", HTTP_ORIGIN=SHOP
    )

    assert error_of(response, 413)["code"] == "body_too_large"
    with schema_context(merchant_a.schema_name):
        assert not CheckoutSession.objects.exists()


def test_a_widget_body_over_its_own_limit_is_413(client, merchant_a, pk_a):
    response = client.post(
        "/checkout/widget/sessions", big_json(20_000), content_type="text/plain", HTTP_ORIGIN=SHOP
    )

    assert error_of(response, 413)["code"] == "body_too_large"


def test_a_5_mb_frame_body_is_413(client, merchant_a, pk_a):
    session = open_session(client, pk_a)
    response = client.post(
        frame_path(merchant_a, session["id"], "vouchers"),
        big_json(),
        content_type="application/json",
        HTTP_ORIGIN=PLATFORM,
    )

    assert error_of(response, 413)["code"] == "body_too_large"


def test_v1_without_a_slash_is_a_json_404_not_a_redirect(client):
    response = client.get("/v1")

    assert error_of(response, 404)["code"] == "resource_missing"


@pytest.mark.parametrize("path", ["/v1/no-such-thing", "/v1/", "/v1/vouchers/"])
def test_unknown_api_paths_are_a_404_envelope(client, path):
    assert error_of(client.get(path), 404)["code"] == "resource_missing"


def test_an_invalid_cursor_is_a_400_naming_it(client, secret):
    response = client.get("/v1/payments?cursor=garbage", HTTP_AUTHORIZATION=f"Bearer {secret}")

    error = error_of(response, 400)
    assert (error["code"], error["param"]) == ("parameter_invalid", "cursor")


@pytest.mark.parametrize("action", ["vouchers", "confirm", "release", "forget"])
def test_a_wrong_method_on_a_frame_endpoint_is_a_405_envelope(client, merchant_a, pk_a, action):
    session = open_session(client, pk_a)
    response = client.put(frame_path(merchant_a, session["id"], action), HTTP_ORIGIN=PLATFORM)

    error = error_of(response, 405)
    assert (error["code"], error["message"]) == ("method_not_allowed", 'Method "PUT" not allowed.')
    assert response["Allow"] == "POST"


def test_a_wrong_method_on_the_widget_endpoint_is_a_405_envelope(client):
    response = client.get("/checkout/widget/sessions")

    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST, OPTIONS"


def test_an_unknown_widget_or_frame_path_is_a_404_envelope(client, merchant_a):
    assert error_of(client.get("/checkout/widget/nothing"), 404)["code"] == "resource_missing"
    response = frame_post(client, merchant_a, "cs_x", "nothing")
    assert error_of(response, 404)["code"] == "resource_missing"


def test_a_frame_endpoint_of_an_unknown_merchant_is_a_404_envelope(client, merchant_a):
    response = client.post(
        "/checkout/pay/no-such-shop/cs_x/release", "{}", "application/json", HTTP_ORIGIN=PLATFORM
    )

    assert error_of(response, 404)["code"] == "checkout_session_not_found"


def _broken(**kwargs):
    raise RuntimeError("internal-detail-7f3a")


def test_an_unhandled_widget_error_is_a_500_envelope(client, merchant_a, pk_a, monkeypatch):
    monkeypatch.setattr(widget_views, "checkout_session_open_from_widget", _broken)

    response = widget_open(client, pk_a, amount="1.00", order_id="O-1")

    error = error_of(response, 500)
    assert (error["type"], error["code"]) == ("api_error", "internal_error")
    assert b"internal-detail-7f3a" not in response.content


def test_an_unhandled_frame_error_is_a_500_envelope(client, merchant_a, pk_a, monkeypatch):
    session = open_session(client, pk_a)
    monkeypatch.setattr(frame_views, "checkout_voucher_add", _broken)

    response = frame_post(client, merchant_a, session["id"], "vouchers", {"code": "ABCD"})

    assert error_of(response, 500)["code"] == "internal_error"
    assert b"internal-detail-7f3a" not in response.content


def test_an_unhandled_api_error_is_a_500_envelope_with_debug_on(client, secret, monkeypatch):
    from tenants.api import views

    monkeypatch.setattr(views.AccountSerializer, "to_representation", _broken)

    response = client.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert error_of(response, 500)["code"] == "internal_error"


@pytest.fixture
def pk_a(merchant_a):
    return publishable_key(merchant_a)
