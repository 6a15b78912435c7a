"""The payments API: listing with filters and cursors, refunding (idempotently), reading refunds;
a key never sees another mode's or another merchant's payments; list queries stay constant."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import CommissionEntry
from checkout.models import Payment
from checkout.refund_models import Refund
from tenants.models import ApiKey, AuditLog
from tests.checkout.factories_payments import payment_make
from tests.checkout.support import secret_key
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


@pytest.fixture
def sk_a(merchant_a):
    return secret_key(merchant_a)


@pytest.fixture
def sk_a_live(merchant_a):
    return secret_key(merchant_a, mode="live")


def get(client, key, path, **params):
    connection.set_schema_to_public()
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, key, path, body=None, **headers):
    connection.set_schema_to_public()
    return client.post(
        path,
        body or {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **headers,
    )


def balance(merchant, voucher) -> int:
    with schema_context(merchant.schema_name):
        return Voucher.objects.get(pk=voucher.pk).balance


def test_list_is_newest_first_with_refunded_amounts(client, merchant_a, sk_a):
    older, _ = payment_make(merchant_a, vouchers=(1_000,), order_id="ORDER-OLD")
    newer, _ = payment_make(merchant_a, vouchers=(2_500,), order_id="ORDER-NEW")
    assert (
        post(client, sk_a, f"/v1/payments/{older.public_id}/refunds", {"amount": 400}).status_code
        == 201
    )

    response = get(client, sk_a, "/v1/payments")

    assert response.status_code == 200
    body = response.json()
    assert (body["object"], body["has_more"], body["next_cursor"]) == ("list", False, None)
    assert [
        (p["id"], p["order_id"], p["amount"], p["amount_refunded"], p["refund_status"])
        for p in body["data"]
    ] == [
        (newer.public_id, "ORDER-NEW", 2_500, 0, "none"),
        (older.public_id, "ORDER-OLD", 1_000, 400, "partial"),
    ]
    assert body["data"][0]["checkout_session"].startswith("cs_")
    one = get(client, sk_a, f"/v1/payments/{older.public_id}").json()
    assert (one["amount_refunded"], one["refund_status"], one["version"]) == (400, "partial", 2)
    assert body["data"][0]["tenders"][0]["amount"] == 2_500


def test_list_filters(client, merchant_a, sk_a):
    eur, _ = payment_make(merchant_a, vouchers=(1_000,), order_id="ORDER-EUR")
    _usd, _ = payment_make(merchant_a, vouchers=(700,), currency="USD", order_id="ORDER-USD")
    full, _ = payment_make(merchant_a, vouchers=(300,), order_id="ORDER-FULL")
    post(client, sk_a, f"/v1/payments/{full.public_id}/refunds")
    with schema_context(merchant_a.schema_name):
        Payment.objects.filter(pk=eur.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=3)
        )

    def ids(**params):
        response = get(client, sk_a, "/v1/payments", **params)
        assert response.status_code == 200, response.json()
        return [p["order_id"] for p in response.json()["data"]]

    assert ids(order_id="ORDER-USD") == ["ORDER-USD"]
    assert ids(currency="usd") == ["ORDER-USD"]
    assert ids(refund_status="full") == ["ORDER-FULL"]
    assert ids(refund_status="none") == ["ORDER-USD", "ORDER-EUR"]
    assert ids(status="succeeded") == ["ORDER-FULL", "ORDER-USD", "ORDER-EUR"]
    yesterday = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids(**{"created[lte]": yesterday}) == ["ORDER-EUR"]
    assert ids(**{"created[gte]": yesterday}) == ["ORDER-FULL", "ORDER-USD"]

    refused = get(client, sk_a, "/v1/payments", status="refunded")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "status"


def test_list_pages_with_a_cursor(client, merchant_a, sk_a):
    made = [payment_make(merchant_a, vouchers=(100 + n,))[0] for n in range(5)]

    first = get(client, sk_a, "/v1/payments", limit=2).json()
    second = get(client, sk_a, "/v1/payments", limit=2, cursor=first["next_cursor"]).json()
    third = get(client, sk_a, "/v1/payments", limit=2, cursor=second["next_cursor"]).json()

    seen = [p["id"] for page in (first, second, third) for p in page["data"]]
    assert seen == [p.public_id for p in reversed(made)]
    assert (first["has_more"], second["has_more"], third["has_more"]) == (True, True, False)


def test_refund_over_the_api_partial_partial_then_refused(client, merchant_a, sk_a):
    payment, (voucher,) = payment_make(merchant_a, vouchers=(5_000,))
    path = f"/v1/payments/{payment.public_id}/refunds"

    one = post(client, sk_a, path, {"amount": 1_500, "reason": "late delivery"})
    two = post(client, sk_a, path, {"amount": 2_500})
    over = post(client, sk_a, path, {"amount": 1_001})

    assert (one.status_code, two.status_code) == (201, 201)
    # Audited with the key that made it (masked), by no person.
    audit = AuditLog.objects.filter(merchant=merchant_a, action="payment.refunded").first()
    assert (audit.actor_type, audit.actor_id) == ("system", None)
    assert audit.details["source"] == "api"
    key = ApiKey.objects.get(merchant=merchant_a, kind="secret")
    assert audit.details["api_key"] == key.masked
    assert sk_a.startswith(key.masked.split("…")[0]) and sk_a.endswith(key.masked[-4:])
    assert one.json() | {"id": None, "created_at": None} == {
        "id": None,
        "object": "refund",
        "livemode": False,
        "status": "succeeded",
        "amount": 1_500,
        "currency": "EUR",
        "payment": payment.public_id,
        "reason": "late delivery",
        "credits": [
            {"voucher": voucher.public_id, "code_last4": voucher.code_last4, "amount": 1_500}
        ],
        "commission_reversed": one.json()["commission_reversed"],
        "created_at": None,
    }
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "refund_exceeds_remaining"
    assert over.json()["error"]["message"] == (
        "Only €10.00 of this payment can still be refunded (€40.00 already was)."
    )
    assert balance(merchant_a, voucher) == 4_000

    rest = post(client, sk_a, path, {})  # no amount: the rest
    assert rest.json()["amount"] == 1_000
    assert post(client, sk_a, path, {}).json()["error"]["code"] == "payment_already_refunded"

    listed = get(client, sk_a, path).json()
    assert [r["amount"] for r in listed["data"]] == [1_000, 2_500, 1_500]
    fetched = get(client, sk_a, f"/v1/refunds/{one.json()['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == one.json()
    detail = get(client, sk_a, "/v1/payments", order_id=payment.order_id).json()["data"][0]
    assert (detail["amount_refunded"], detail["refund_status"], detail["version"]) == (
        5_000,
        "full",
        4,
    )


def test_a_retried_refund_with_the_same_idempotency_key_refunds_once(client, merchant_a, sk_a):
    payment, (voucher,) = payment_make(merchant_a, vouchers=(5_000,))
    path = f"/v1/payments/{payment.public_id}/refunds"

    first = post(client, sk_a, path, {"amount": 1_200}, HTTP_IDEMPOTENCY_KEY="refund-order-1")
    retry = post(client, sk_a, path, {"amount": 1_200}, HTTP_IDEMPOTENCY_KEY="refund-order-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    with schema_context(merchant_a.schema_name):
        assert Refund.objects.filter(payment__pk=payment.pk).count() == 1
    assert balance(merchant_a, voucher) == 1_200
    assert (
        CommissionEntry.objects.filter(payment_id=payment.public_id, kind="reversal").count() == 1
    )

    other = post(client, sk_a, path, {"amount": 999}, HTTP_IDEMPOTENCY_KEY="refund-order-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert balance(merchant_a, voucher) == 1_200


def test_another_merchants_payment_and_refund_answer_404(client, merchant_a, merchant_b, sk_a):
    of_b, (voucher_b,) = payment_make(merchant_b, vouchers=(2_000,))
    refund_b = post(
        client, secret_key(merchant_b), f"/v1/payments/{of_b.public_id}/refunds", {"amount": 100}
    )
    assert refund_b.status_code == 201

    for response in (
        get(client, sk_a, f"/v1/payments/{of_b.public_id}"),
        get(client, sk_a, f"/v1/payments/{of_b.public_id}/refunds"),
        post(client, sk_a, f"/v1/payments/{of_b.public_id}/refunds", {"amount": 100}),
        get(client, sk_a, f"/v1/refunds/{refund_b.json()['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] in ("payment_not_found", "refund_not_found")
    assert get(client, sk_a, "/v1/payments").json()["data"] == []
    assert balance(merchant_b, voucher_b) == 100


def test_a_test_key_never_sees_live_payments(client, merchant_a, sk_a, sk_a_live):
    live, (live_voucher,) = payment_make(merchant_a, vouchers=(3_000,), livemode=True)
    test, _ = payment_make(merchant_a, vouchers=(1_000,))
    live_refund = post(client, sk_a_live, f"/v1/payments/{live.public_id}/refunds", {"amount": 500})
    assert live_refund.status_code == 201
    assert live_refund.json()["livemode"] is True

    assert [p["id"] for p in get(client, sk_a, "/v1/payments").json()["data"]] == [test.public_id]
    assert [p["id"] for p in get(client, sk_a_live, "/v1/payments").json()["data"]] == [
        live.public_id
    ]
    assert get(client, sk_a, f"/v1/payments/{live.public_id}/refunds").status_code == 404
    assert (
        post(client, sk_a, f"/v1/payments/{live.public_id}/refunds", {"amount": 1}).status_code
        == 404
    )
    assert get(client, sk_a, f"/v1/refunds/{live_refund.json()['id']}").status_code == 404
    assert get(client, sk_a_live, f"/v1/refunds/{live_refund.json()['id']}").status_code == 200
    assert balance(merchant_a, live_voucher) == 500


def _list_queries(client, key) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = get(client, key, "/v1/payments", limit=100)
    assert response.status_code == 200
    return len(queries), len(response.json()["data"])


def test_list_queries_stay_constant_as_the_page_fills(
    client, merchant_a, sk_a, django_assert_num_queries
):
    first, _ = payment_make(merchant_a, vouchers=(1_000,))
    post(client, sk_a, f"/v1/payments/{first.public_id}/refunds", {"amount": 10})
    get(client, sk_a, "/v1/payments")  # the key's last-used time is recorded once a minute
    one, count = _list_queries(client, sk_a)
    assert count == 1

    for _ in range(19):
        payment, _ = payment_make(merchant_a, vouchers=(500,))
        post(client, sk_a, f"/v1/payments/{payment.public_id}/refunds", {"amount": 10})
    with django_assert_num_queries(one):
        response = get(client, sk_a, "/v1/payments", limit=100)
    assert len(response.json()["data"]) == 20
