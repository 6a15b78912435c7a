"""Hostile input to the widget's and the frame's endpoints: every refusal is a 4xx naming the
field, nothing is written, and no control character is ever stored."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from checkout.errors import CheckoutError
from checkout.models import CheckoutSession
from checkout.sessions import checkout_session_create
from checkout.signing import tag_sign
from tests.checkout.support import (
    SHOP,
    frame_path,
    frame_post,
    issue,
    open_session,
    secret_key,
    widget_open,
)
from vouchers.hold_models import VoucherHold

pytestmark = pytest.mark.django_db

ARABIC_100 = "\u0661\u0660\u0660"
FULLWIDTH_100 = "\uff11\uff10\uff10"


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def sessions_of(merchant) -> list[CheckoutSession]:
    with schema_context(merchant.schema_name):
        return list(CheckoutSession.objects.order_by("pk"))


def refused(response, param: str, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["param"] == param
    return error


def signed_fields(merchant, *, expires_at: str) -> dict:
    return {
        "amount": "99.00",
        "order_id": "ORDER-S",
        "expires_at": expires_at,
        "signature": tag_sign(
            secret_key=secret_key(merchant),
            amount=9900,
            currency="EUR",
            order_id="ORDER-S",
            expires_at=int(time.time()) + 600,
        ),
    }


@pytest.mark.parametrize(
    "expires_at", ["9" * 30, "-1", "-99999999999999", "1e9", " 17", "\u0661\u0667"]
)
def test_an_expires_at_that_is_not_unix_seconds_is_refused(client, merchant_a, pk_a, expires_at):
    response = widget_open(client, pk_a, **signed_fields(merchant_a, expires_at=expires_at))

    assert refused(response, "expires_at")["code"] == "signature_invalid"
    assert sessions_of(merchant_a) == []


@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
@pytest.mark.parametrize(
    "url", ["https://shop.example/ok\x00", "https://shop.example/o\nk", "https://shop.example/o k"]
)
def test_a_return_url_with_a_control_character_or_space_is_refused(
    client, merchant_a, pk_a, field, url
):
    response = widget_open(client, pk_a, amount="1.00", order_id="O-1", **{field: url})

    assert refused(response, field)["code"] in ("url_invalid", "parameter_invalid")
    assert sessions_of(merchant_a) == []


@pytest.mark.parametrize(
    "order_id", ["O" * 64 + "\n", "ORD-1\n", "ORD\x00-1", "ORD 1", "O" * 65, "ORD-\u0131", ""]
)
def test_an_order_id_must_match_its_pattern_exactly(client, merchant_a, pk_a, order_id):
    response = widget_open(client, pk_a, amount="1.00", order_id=order_id)

    assert refused(response, "order_id")["code"] in ("order_id_invalid", "parameter_invalid")
    assert sessions_of(merchant_a) == []


def test_an_order_id_with_a_trailing_newline_is_not_a_second_order(client, merchant_a, pk_a):
    open_session(client, pk_a, order_id="ORD-1")

    response = widget_open(client, pk_a, amount="99.00", order_id="ORD-1\n")

    assert refused(response, "order_id")["code"] in ("order_id_invalid", "parameter_invalid")
    assert [s.order_id for s in sessions_of(merchant_a)] == ["ORD-1"]


@pytest.mark.parametrize("order_id", ["ORD-1\n", "O" * 64 + "\n"])
def test_the_session_service_matches_the_order_id_pattern_whole(in_merchant_a, order_id):
    with pytest.raises(CheckoutError) as refusal:
        checkout_session_create(
            livemode=False, amount=100, currency="EUR", order_id=order_id, source="server"
        )

    assert (refusal.value.code, refusal.value.param) == ("order_id_invalid", "order_id")
    assert not CheckoutSession.objects.exists()


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (ARABIC_100, "EUR"),
        (FULLWIDTH_100, "EUR"),
        ("1\u00a000", "EUR"),
        ("99.000", "EUR"),
        ("500.0", "JPY"),
        ("1,00", "EUR"),
        ("+1", "EUR"),
    ],
)
def test_widget_amounts_are_ascii_decimals_for_the_currency(
    client, merchant_a, pk_a, amount, currency
):
    response = widget_open(client, pk_a, amount=amount, currency=currency, order_id="O-1")

    assert refused(response, "amount")["code"] == "amount_invalid"
    assert sessions_of(merchant_a) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 100),
        ("order_id", 12345),
        ("api_key", ["pk"]),
        ("currency", {"code": "EUR"}),
        ("session", "cs_\x00"),
        ("signature", "a" * 2001),
        ("currency", "EU\x00R"),
    ],
)
def test_a_widget_field_of_the_wrong_type_or_with_control_characters_is_named(
    client, merchant_a, pk_a, field, value
):
    body = {"api_key": pk_a.publishable_key, "amount": "1.00", "order_id": "O-1"}
    response = client.post(
        "/checkout/widget/sessions",
        json.dumps(body | {field: value}),
        content_type="text/plain",
        HTTP_ORIGIN=SHOP,
    )

    assert refused(response, field)["code"] == "parameter_invalid"
    assert sessions_of(merchant_a) == []


def test_a_code_with_a_nul_is_refused_at_the_frame(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a)

    response = frame_post(
        client, merchant_a, session["id"], "vouchers", {"code": voucher.code + "\x00"}
    )

    assert refused(response, "code")["code"] == "parameter_invalid"
    with schema_context(merchant_a.schema_name):
        assert not VoucherHold.objects.exists()


def test_removing_a_voucher_id_with_a_nul_is_refused(client, merchant_a, pk_a):
    session = open_session(client, pk_a)

    response = frame_post(client, merchant_a, session["id"], "vouchers/vch%00x/remove")

    assert refused(response, "voucher_id")["code"] == "parameter_invalid"


@pytest.mark.parametrize("action", ["vouchers", "confirm", "release", "forget"])
def test_a_session_id_with_a_nul_is_not_found(client, merchant_a, action):
    response = frame_post(client, merchant_a, "cs_%00x", action)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "checkout_session_not_found"


def test_the_frame_page_of_a_session_id_with_a_nul_is_not_found(client, merchant_a):
    assert client.get(frame_path(merchant_a, "cs_%00x")).status_code == 404


@pytest.mark.parametrize("action", ["release", "forget"])
def test_release_and_forget_of_an_unknown_session_are_404(client, merchant_a, action):
    response = frame_post(client, merchant_a, "cs_" + "0" * 32, action)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "checkout_session_not_found"


@pytest.mark.parametrize("action", ["release", "forget"])
def test_release_and_forget_of_another_merchants_session_are_404(
    client, merchant_a, merchant_b, pk_a, action
):
    session = open_session(client, pk_a)

    response = frame_post(client, merchant_b, session["id"], action)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "checkout_session_not_found"


@pytest.mark.parametrize("action", ["release", "forget"])
def test_release_and_forget_of_the_merchants_own_session_answer(client, merchant_a, pk_a, action):
    session = open_session(client, pk_a)

    response = frame_post(client, merchant_a, session["id"], action)

    assert response.status_code == 200
