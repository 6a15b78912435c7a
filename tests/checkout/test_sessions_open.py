"""Opening a session from the widget: the page's origin, the signed tag, server-created sessions,
and every way a tampered request is refused."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from checkout.models import CheckoutSession
from checkout.signing import tag_sign
from tenants.keys import api_key_revoke
from tenants.services import merchant_suspend
from tests.checkout.support import (
    SHOP,
    open_session,
    pay,
    publishable_key,
    secret_key,
    widget_open,
)

pytestmark = pytest.mark.django_db


def sessions_of(merchant) -> list[CheckoutSession]:
    with schema_context(merchant.schema_name):
        return list(CheckoutSession.objects.order_by("pk"))


def test_widget_opens_a_session_on_an_allowed_origin(client, merchant_a, pk_a):
    response = widget_open(client, pk_a, amount="99.00", order_id="ORDER_123")

    assert response.status_code == 201
    body = response.json()
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert body["amount"] == 9900
    assert body["currency"] == "EUR"  # the merchant's default
    assert body["order_id"] == "ORDER_123"
    assert body["frame_url"] == f"http://testserver/checkout/pay/test-alpha/{body['id']}/"
    [session] = sessions_of(merchant_a)
    assert (session.public_id, session.source, session.origin) == (body["id"], "page", SHOP)
    assert session.publishable_key_id == pk_a.pk
    assert session.livemode is False
    remaining = (session.expires_at - session.created_at).total_seconds()
    assert 1799 <= remaining <= 1800


def test_amount_is_parsed_by_the_currency(client, merchant_a, pk_a):
    body = open_session(client, pk_a, amount="500", currency="jpy", order_id="J-1")
    assert (body["amount"], body["currency"]) == (500, "JPY")
    response = widget_open(client, pk_a, amount="5.5", currency="JPY", order_id="J-2")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "amount_invalid"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://shop.example", "https://shop.example:8443", None]
)
def test_a_page_on_another_origin_is_refused(client, merchant_a, pk_a, origin):
    response = widget_open(client, pk_a, origin=origin, amount="99.00", order_id="O-1")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert sessions_of(merchant_a) == []


def test_a_secret_key_in_a_page_is_refused_with_advice(client, merchant_a):
    raw = secret_key(merchant_a)
    response = widget_open(client, raw, amount="99.00", order_id="O-1")

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "publishable_key_required"
    assert "roll this one now" in error["message"]


def test_revoked_key_and_suspended_merchant_are_refused(client, merchant_a, owner_a):
    key = publishable_key(merchant_a)
    api_key_revoke(key=key, actor=None)
    assert widget_open(client, key, amount="1.00", order_id="O").json()["error"]["code"] == (
        "api_key_revoked"
    )
    live = publishable_key(merchant_a)
    merchant_suspend(merchant=merchant_a, actor=owner_a, reason="test")
    response = widget_open(client, live, amount="1.00", order_id="O")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "merchant_suspended"


def signed(merchant, raw_secret, *, amount=9900, currency="EUR", order_id="ORDER-S", ttl=600):
    expires_at = int(time.time()) + ttl
    signature = tag_sign(
        secret_key=raw_secret,
        amount=amount,
        currency=currency,
        order_id=order_id,
        expires_at=expires_at,
    )
    return {
        "amount": f"{amount / 100:.2f}",
        "currency": currency,
        "order_id": order_id,
        "expires_at": str(expires_at),
        "signature": signature,
    }


def test_a_signed_tag_opens_a_session_that_expires_with_the_tag(client, merchant_a, pk_a):
    fields = signed(merchant_a, secret_key(merchant_a), ttl=600)
    body = open_session(client, pk_a, **fields)

    [session] = sessions_of(merchant_a)
    assert session.source == "signed"
    assert body["amount"] == 9900
    assert int(session.expires_at.timestamp()) == int(fields["expires_at"])


@pytest.mark.parametrize(
    "edit",
    [
        {"amount": "9.90"},
        {"amount": "99.01"},
        {"currency": "USD"},
        {"order_id": "ORDER-OTHER"},
        {"expires_at": "1999999999"},
        {"signature": "0" * 64},
    ],
)
def test_an_edited_signed_tag_is_refused(client, merchant_a, pk_a, edit):
    fields = signed(merchant_a, secret_key(merchant_a)) | edit
    response = widget_open(client, pk_a, **fields)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_invalid"
    assert sessions_of(merchant_a) == []


def test_a_tag_signed_with_another_merchants_key_is_refused(client, merchant_a, merchant_b, pk_a):
    fields = signed(merchant_b, secret_key(merchant_b))
    response = widget_open(client, pk_a, **fields)
    assert response.json()["error"]["code"] == "signature_invalid"


def test_an_expired_signed_tag_is_refused(client, merchant_a, pk_a):
    fields = signed(merchant_a, secret_key(merchant_a), ttl=-1)
    response = widget_open(client, pk_a, **fields)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_expired"


def test_a_server_created_session_keeps_its_amount(client, merchant_a, pk_a):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_key(merchant_a)}")
    created = api.post(
        "/v1/checkout/sessions",
        {"amount": 4990, "order_id": "SRV-1", "expires_in": 600},
        format="json",
    )
    assert created.status_code == 201, created.json()
    session_id = created.json()["id"]
    assert created.json()["source"] == "server"
    assert created.json()["origin"] is None

    # The page says another amount: the session's own is what will be paid.
    opened = open_session(client, pk_a, session=session_id, amount="0.01", order_id="X")

    assert (opened["id"], opened["amount"], opened["order_id"]) == (session_id, 4990, "SRV-1")
    [session] = sessions_of(merchant_a)
    assert (session.origin, session.publishable_key_id) == (SHOP, pk_a.pk)
    # Opened on one site, it cannot be opened on another.
    other = publishable_key(merchant_a, origins=["https://other.example"])
    response = widget_open(client, other, origin="https://other.example", session=session_id)
    assert response.status_code == 403


def test_a_session_of_another_merchant_or_mode_is_not_found(client, merchant_a, merchant_b):
    pk_b = publishable_key(merchant_b)
    body = open_session(client, pk_b, order_id="B-1")
    pk_a = publishable_key(merchant_a)
    pk_a_live = publishable_key(merchant_a, mode="live")
    for key in (pk_a, pk_a_live):
        response = widget_open(client, key, session=body["id"])
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "checkout_session_not_found"


def test_a_paid_order_cannot_be_opened_again(client, merchant_a, pk_a):
    from tests.checkout.support import issue

    voucher = issue(merchant_a, 10_000)
    body = open_session(client, pk_a, amount="10.00", order_id="PAID-1")
    assert pay(client, merchant_a, body["id"], voucher.code).status_code == 200

    response = widget_open(client, pk_a, amount="10.00", order_id="PAID-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_already_paid"
    # The same order id in live mode is another order.
    live = publishable_key(merchant_a, mode="live")
    assert widget_open(client, live, amount="10.00", order_id="PAID-1").status_code == 201


def test_bad_bodies_are_refused_politely(client, pk_a):
    response = client.post(
        "/checkout/widget/sessions", "not json", content_type="text/plain", HTTP_ORIGIN=SHOP
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "body_invalid"
    assert response["Access-Control-Allow-Origin"] == SHOP
    for fields, code in [
        ({"amount": "", "order_id": "O"}, "amount_invalid"),
        ({"amount": "-1", "order_id": "O"}, "amount_invalid"),
        ({"amount": "1.00", "order_id": ""}, "order_id_invalid"),
        ({"amount": "1.00", "order_id": "with space"}, "order_id_invalid"),
        ({"amount": "1.00", "order_id": "O", "currency": "XXX"}, "currency_invalid"),
        ({"amount": "1.00", "order_id": "O", "success_url": "javascript:alert(1)"}, "url_invalid"),
    ]:
        response = widget_open(client, pk_a, **fields)
        assert response.status_code == 400, fields
        assert response.json()["error"]["code"] == code, fields


def test_preflight_is_answered(client):
    response = client.options("/checkout/widget/sessions", HTTP_ORIGIN=SHOP)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response["Access-Control-Allow-Methods"] == "POST"
