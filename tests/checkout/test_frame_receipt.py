"""The payment frame's receipt: what the confirm answers for it, and what a reopened paid
checkout shows. A voucher's balance left is shown only for codes typed in that checkout."""

from __future__ import annotations

import json
import re

import pytest

from checkout.remember import cookie_name
from tests.checkout.support import confirm_token, frame_path, frame_post, issue, open_session, pay

pytestmark = pytest.mark.django_db


def test_the_confirm_answers_a_receipt_with_each_typed_vouchers_share_and_balance_left(
    client, merchant_a, pk_a, monkeypatch
):
    def read_after_the_fact(**_kwargs):
        raise AssertionError("the confirm knew the balances under its locks: no read after it")

    monkeypatch.setattr("checkout.frame_views.voucher_balances", read_after_the_fact)
    first, second = issue(merchant_a, 1_500), issue(merchant_a, 2_000)
    session = open_session(client, pk_a, amount="24.90", order_id="RECEIPT-1")

    response = pay(client, merchant_a, session["id"], first.code, second.code)

    assert response.status_code == 200, response.json()
    payment, receipt = response.json()["payment"], response.json()["receipt"]
    assert receipt == {
        "id": payment["id"],
        "amount": 2490,
        "currency": "EUR",
        "order_id": "RECEIPT-1",
        "created_at": receipt["created_at"],
        "vouchers": [
            {"code_last4": first.code[-4:], "amount": 1_500, "balance": 0},
            {"code_last4": second.code[-4:], "amount": 990, "balance": 1_010},
        ],
    }
    assert payment["created_at"].rstrip("Z") in receipt["created_at"]


def test_a_remembered_vouchers_receipt_leaves_its_balance_out(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="10.00", order_id="RECEIPT-2")
    cookie = pay(client, merchant_a, first["id"], voucher.code, remember=True)["Set-Cookie"]
    client.cookies[cookie_name(merchant_a.slug)] = cookie.split(";")[0].split("=", 1)[1]
    second = open_session(client, pk_a, amount="10.00", order_id="RECEIPT-3")

    body = {"confirm_token": confirm_token(merchant_a, second["id"]), "use_remembered": True}
    response = frame_post(client, merchant_a, second["id"], "confirm", body)

    assert response.status_code == 200, response.json()
    assert response.json()["receipt"]["vouchers"] == [
        {"code_last4": voucher.code[-4:], "amount": 1_000, "balance": None}
    ]


def test_a_paid_checkout_reopened_shows_its_receipt_without_balances(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 5_000)
    session = open_session(client, pk_a, amount="12.00", order_id="RECEIPT-4")
    paid = pay(client, merchant_a, session["id"], voucher.code).json()["payment"]

    page = client.get(frame_path(merchant_a, session["id"])).content.decode()

    data = re.search(r'<script id="sp-receipt-data" type="application/json">(.*?)</script>', page)
    receipt = json.loads(data.group(1))
    assert (receipt["id"], receipt["amount"]) == (paid["id"], 1_200)
    assert receipt["vouchers"] == [
        {"code_last4": voucher.code[-4:], "amount": 1_200, "balance": None}
    ]
    assert 'id="sp-add"' not in page
