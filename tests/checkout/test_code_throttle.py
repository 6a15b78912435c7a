"""Wrong-code throttles that an attacker cannot turn against shoppers, and that fail closed."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from tenants.models import AuditAction, AuditLog
from tests.checkout.support import (
    confirm_token,
    frame_post,
    issue,
    open_session,
    secret_key,
)
from vouchers.hold_models import VoucherHold
from vouchers.throttle import LIMITS
from webhooks.models import Event

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_a_burst_from_many_addresses_does_not_lock_out_a_shopper(client, merchant_a, pk_a):
    # The report's attack, at the real limits: 300 wrong codes from 11 addresses (each under its
    # own limit of 30) over 30 sessions (10 each) reach the publishable key's 300.
    assert (LIMITS["key"].attempts, LIMITS["ip"].attempts, LIMITS["session"].attempts) == (
        300,
        30,
        10,
    )
    sessions = [
        open_session(client, pk_a, amount="10.00", order_id=f"GUESS-{n}")["id"] for n in range(30)
    ]
    for attempt in range(300):
        response = frame_post(
            client,
            merchant_a,
            sessions[attempt // 10],
            "vouchers",
            {"code": f"WRONG-{attempt:04d}"},
            REMOTE_ADDR=f"203.0.113.{attempt % 11 + 1}",
        )
        assert response.status_code == 400, (attempt, response.json())
        assert response.json()["error"]["code"] == "voucher_not_redeemable"

    # The alarm went off once for the key (with the last session's): an audit entry and a
    # webhook event. (Each session that used up its ten raised its own, too.)
    audits = AuditLog.objects.filter(
        merchant=merchant_a, action=AuditAction.VOUCHER_ENUMERATION_SUSPECTED
    )
    [by_key] = [audit for audit in audits if "key" in audit.details["scopes"]]
    assert by_key.details["scopes"]["key"] == str(pk_a.pk)
    with schema_context(merchant_a.schema_name):
        events = Event.objects.filter(type="voucher.enumeration_suspected")
        assert [e.data_object["scopes"] for e in events if "key" in e.data_object["scopes"]] == [
            ["key", "session"]
        ]

    # A shopper from a new address, in a new session, with a right code pays.
    voucher = issue(merchant_a, 1_000)
    session = open_session(client, pk_a, amount="10.00", order_id="SHOPPER-1")["id"]
    added = frame_post(
        client, merchant_a, session, "vouchers", {"code": voucher.code}, REMOTE_ADDR="198.51.100.4"
    )
    assert added.status_code == 200, added.json()
    paid = frame_post(
        client,
        merchant_a,
        session,
        "confirm",
        {"confirm_token": confirm_token(merchant_a, session)},
        REMOTE_ADDR="198.51.100.4",
    )
    assert paid.status_code == 200
    # The attacker's exhausted session stays locked out, right code or not.
    other = issue(merchant_a, 1_000)
    locked = frame_post(
        client, merchant_a, sessions[-1], "vouchers", {"code": other.code}, REMOTE_ADDR="192.0.2.1"
    )
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "code_attempts_exceeded"


def _caches_with_dead_redis() -> dict:
    caches = copy.deepcopy(settings.CACHES)
    caches["global"]["LOCATION"] = DEAD_REDIS
    return caches


def test_without_redis_the_frame_answers_503_and_holds_nothing(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 1_000)
    session = open_session(client, pk_a, amount="10.00", order_id="NO-REDIS-1")["id"]

    with override_settings(CACHES=_caches_with_dead_redis()):
        for code in (voucher.code, "WRONG-CODE-1"):
            response = frame_post(client, merchant_a, session, "vouchers", {"code": code})
            assert response.status_code == 503
            assert response["Content-Type"] == "application/json"
            error = response.json()["error"]
            assert (error["type"], error["code"]) == ("api_error", "service_unavailable")
            assert int(response["Retry-After"]) > 0

    with schema_context(merchant_a.schema_name):
        assert VoucherHold.objects.count() == 0


def test_without_redis_the_balance_check_answers_503(merchant_a):
    voucher = issue(merchant_a, 1_000)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_key(merchant_a)}")

    with override_settings(CACHES=_caches_with_dead_redis()):
        response = api.post("/v1/vouchers/balance", {"code": voucher.code}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


def test_an_unusable_code_answers_like_an_unknown_one_and_counts(client, merchant_a, pk_a):
    session = open_session(client, pk_a, amount="10.00", order_id="POS-7")["id"]
    other_orders = issue(merchant_a, 5_000, rules={"order_id_prefix": "WEB-"})
    used_up = issue(merchant_a, 5_000, rules={"single_use": True})
    with schema_context(merchant_a.schema_name):
        from vouchers.services import voucher_redeem

        voucher_redeem(
            tenders=[used_up.code], amount=100, currency="EUR", livemode=False, reference="pay_x"
        )
    big_orders = issue(merchant_a, 5_000, rules={"min_order_amount": 100_000})

    def add(code: str):
        return frame_post(client, merchant_a, session, "vouchers", {"code": code})

    unknown = add("NOPE-NOPE-NOPE-NOPE")
    assert unknown.status_code == 400
    for code in (other_orders.code, used_up.code):
        response = add(code)
        assert (response.status_code, response.content) == (400, unknown.content)
    minimum = add(big_orders.code).json()["error"]
    assert minimum["code"] == "voucher_not_redeemable"
    assert minimum["message"] == "This voucher code can only pay an order of at least €1,000.00."
    # All four count as wrong codes against the session's and the address's limits.
    from django.core.cache import caches

    counted = caches["global"].get(f"voucher_code_failures:session:{session}")
    assert counted == 4
