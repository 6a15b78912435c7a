"""The merchant API for checkout: create a session (idempotent), read sessions and payments;
another merchant's ids and the other mode's objects answer 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.checkout.support import issue, open_session, pay, publishable_key, secret_key

pytestmark = pytest.mark.django_db


def api_for(merchant, mode="test") -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_key(merchant, mode=mode)}")
    return api


@pytest.fixture
def paid(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="12.34", order_id="API-1")
    payment = pay(client, merchant_a, session["id"], voucher.code).json()["payment"]
    return session["id"], payment["id"], voucher


def test_a_backend_reads_the_payment_and_its_session(merchant_a, paid):
    session_id, payment_id, voucher = paid
    api = api_for(merchant_a)

    payment = api.get(f"/v1/payments/{payment_id}").json()
    session = api.get(f"/v1/checkout/sessions/{session_id}").json()

    assert payment["object"] == "payment"
    assert (payment["amount"], payment["currency"], payment["order_id"]) == (1234, "EUR", "API-1")
    assert payment["status"] == "succeeded"
    assert payment["checkout_session"] == session_id
    assert payment["tenders"] == [
        {"voucher": voucher.public_id, "code_last4": voucher.code[-4:], "amount": 1234}
    ]
    assert payment["livemode"] is False
    assert session["status"] == "completed"
    assert session["payment"] == payment_id
    assert session["origin"] == "https://shop.example"
    assert session["version"] == 2


def test_another_merchants_objects_are_not_found(merchant_b, paid):
    session_id, payment_id, _ = paid
    api = api_for(merchant_b)
    for path, code in [
        (f"/v1/payments/{payment_id}", "payment_not_found"),
        (f"/v1/checkout/sessions/{session_id}", "checkout_session_not_found"),
    ]:
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == code


def test_a_live_key_never_sees_test_objects(merchant_a, paid):
    session_id, payment_id, _ = paid
    api = api_for(merchant_a, mode="live")
    assert api.get(f"/v1/payments/{payment_id}").status_code == 404
    assert api.get(f"/v1/checkout/sessions/{session_id}").status_code == 404


def test_a_publishable_key_cannot_use_the_api(merchant_a, paid):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publishable_key(merchant_a).publishable_key}")
    response = api.get(f"/v1/payments/{paid[1]}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "secret_key_required"


def test_create_session_validates_and_replays_with_an_idempotency_key(merchant_a):
    api = api_for(merchant_a)
    body = {"amount": 2500, "order_id": "IDEM-1", "currency": "usd"}

    first = api.post("/v1/checkout/sessions", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/v1/checkout/sessions", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = api.post(
        "/v1/checkout/sessions",
        body | {"amount": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == 201
    assert (first.json()["amount"], first.json()["currency"]) == (2500, "USD")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    for bad, code in [
        ({"amount": 0, "order_id": "X"}, "parameter_invalid"),
        ({"amount": 100, "order_id": "X", "expires_in": 60}, "expires_in_invalid"),
        ({"amount": 100, "order_id": "X", "expires_in": 86_401}, "expires_in_invalid"),
        ({"amount": 100, "order_id": "X", "currency": "ZZZ"}, "currency_invalid"),
    ]:
        response = api.post("/v1/checkout/sessions", bad, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == code, bad


def test_a_session_for_a_paid_order_is_refused_by_the_api(merchant_a, paid):
    response = api_for(merchant_a).post(
        "/v1/checkout/sessions", {"amount": 1234, "order_id": "API-1"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_already_paid"
