"""Paying in the frame: holds, split tender, one transaction for payment + commission + event,
idempotent confirm, expiry, throttling, and the frame's own protections."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import CommissionEntry
from checkout.models import CheckoutSession, Payment
from checkout.payments import checkout_session_confirm
from checkout.sessions import checkout_sessions_expire_due
from tests.checkout.support import (
    commission_entries_purge,
    confirm_token,
    frame_path,
    frame_post,
    issue,
    open_session,
    pay,
)
from vouchers.hold_models import VoucherHold
from vouchers.models import Voucher
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def in_schema(merchant, fn):
    with schema_context(merchant.schema_name):
        return fn()


def balance(merchant, voucher) -> int:
    return in_schema(merchant, lambda: Voucher.objects.get(pk=voucher.pk).balance)


def test_paying_with_one_voucher_writes_everything_at_once(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 15_000)
    session = open_session(client, pk_a, amount="99.00", order_id="ORDER-PAY")

    added = frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    assert added.json() == {
        "amount": 9900,
        "covered": 9900,
        "remaining": 0,
        "vouchers": [
            {
                "id": voucher.public_id,
                "code_last4": voucher.code[-4:],
                "held": 9900,
                "available": 15_000,
                "expires_at": None,
            }
        ],
    }
    response = frame_post(
        client,
        merchant_a,
        session["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_a, session["id"])},
    )

    assert response.status_code == 200, response.json()
    payment = response.json()["payment"]
    assert payment["amount"] == 9900
    assert payment["order_id"] == "ORDER-PAY"
    assert payment["checkout_session"] == session["id"]
    assert payment["tenders"] == [
        {"voucher": voucher.public_id, "code_last4": voucher.code[-4:], "amount": 9900}
    ]
    assert balance(merchant_a, voucher) == 5_100
    stored = in_schema(merchant_a, lambda: Payment.objects.get(public_id=payment["id"]))
    entry = CommissionEntry.objects.get(payment_id=payment["id"])
    assert (entry.merchant_id, entry.base_amount, entry.livemode) == (merchant_a.pk, 9900, False)
    assert stored.commission_amount == entry.amount == payment["commission"]["amount"]
    assert stored.commission_plan == {
        "name": entry.plan_name,
        "bps": entry.bps,
        "fixed_fee": entry.fixed_fee,
        "plan_id": entry.plan_id,
    }
    state = in_schema(merchant_a, lambda: CheckoutSession.objects.get(public_id=session["id"]))
    assert (state.status, state.version) == ("completed", 2)
    event = in_schema(merchant_a, lambda: Event.objects.get(type="payment.succeeded"))
    assert event.data_object["id"] == payment["id"]
    assert event.data_object["amount"] == 9900
    assert event.data_object["version"] == 1
    assert in_schema(merchant_a, lambda: VoucherHold.objects.count()) == 0


def test_split_tender_spends_the_soonest_expiring_voucher_first(client, merchant_a, pk_a):
    soon = timezone.now() + datetime.timedelta(days=2)
    later = timezone.now() + datetime.timedelta(days=200)
    never = issue(merchant_a, 9_000)
    late = issue(merchant_a, 3_000, expires_at=later)
    early = issue(merchant_a, 4_000, expires_at=soon)
    session = open_session(client, pk_a, amount="100.00", order_id="SPLIT-1")

    for code in (never.code, late.code):
        frame_post(client, merchant_a, session["id"], "vouchers", {"code": code})
    plan = frame_post(client, merchant_a, session["id"], "vouchers", {"code": early.code}).json()

    assert [(v["id"], v["held"]) for v in plan["vouchers"]] == [
        (early.public_id, 4_000),
        (late.public_id, 3_000),
        (never.public_id, 3_000),
    ]
    assert plan["remaining"] == 0
    response = pay(client, merchant_a, session["id"])
    assert response.status_code == 200
    assert [t["amount"] for t in response.json()["payment"]["tenders"]] == [4_000, 3_000, 3_000]
    assert [balance(merchant_a, v) for v in (early, late, never)] == [0, 0, 6_000]


def test_the_pay_button_needs_the_whole_amount(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 1_000)
    session = open_session(client, pk_a, amount="20.00", order_id="SHORT-1")
    plan = frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code}).json()
    assert (plan["covered"], plan["remaining"]) == (1_000, 1_000)

    response = pay(client, merchant_a, session["id"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert balance(merchant_a, voucher) == 1_000
    assert in_schema(merchant_a, lambda: Payment.objects.count()) == 0


def test_a_hold_keeps_the_balance_from_another_checkout(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="80.00", order_id="HOLD-1")
    second = open_session(client, pk_a, amount="50.00", order_id="HOLD-2")
    frame_post(client, merchant_a, first["id"], "vouchers", {"code": voucher.code})

    plan = frame_post(client, merchant_a, second["id"], "vouchers", {"code": voucher.code}).json()
    assert [(v["held"], v["available"]) for v in plan["vouchers"]] == [(2_000, 2_000)]
    assert pay(client, merchant_a, second["id"]).status_code == 400

    # Removing it from the first checkout releases the hold.
    frame_post(client, merchant_a, first["id"], f"vouchers/{voucher.public_id}/remove")
    response = pay(client, merchant_a, second["id"])
    assert response.status_code == 200
    assert balance(merchant_a, voucher) == 5_000


def test_a_retried_confirm_returns_the_same_payment(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="30.00", order_id="TWICE-1")
    first = pay(client, merchant_a, session["id"], voucher.code)
    second = frame_post(
        client,
        merchant_a,
        session["id"],
        "confirm",
        {"confirm_token": confirm_token(merchant_a, session["id"])},
    )

    assert second.status_code == 200
    assert second.json()["payment"]["id"] == first.json()["payment"]["id"]
    assert balance(merchant_a, voucher) == 7_000
    assert in_schema(merchant_a, lambda: Payment.objects.count()) == 1


def test_a_confirm_without_the_frames_token_is_refused(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="30.00", order_id="TOKEN-1")
    frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})

    response = frame_post(client, merchant_a, session["id"], "confirm", {"confirm_token": "x"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "confirm_token_invalid"
    assert balance(merchant_a, voucher) == 10_000


def test_a_second_session_for_a_paid_order_cannot_pay(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="10.00", order_id="ONCE-1")
    second = open_session(client, pk_a, amount="10.00", order_id="ONCE-1")
    assert pay(client, merchant_a, first["id"], voucher.code).status_code == 200

    frame_post(client, merchant_a, second["id"], "vouchers", {"code": voucher.code})
    response = pay(client, merchant_a, second["id"])

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_already_paid"
    assert balance(merchant_a, voucher) == 9_000


def test_an_expired_session_is_refused_and_expired_by_the_task(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="10.00", order_id="LATE-1")
    frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    past = timezone.now() - datetime.timedelta(seconds=1)
    in_schema(
        merchant_a,
        lambda: CheckoutSession.objects.filter(public_id=session["id"]).update(expires_at=past),
    )

    response = pay(client, merchant_a, session["id"])
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "checkout_session_expired"
    added = frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    assert added.status_code == 410

    assert in_schema(merchant_a, checkout_sessions_expire_due) == 1
    assert in_schema(merchant_a, checkout_sessions_expire_due) == 0
    state = in_schema(merchant_a, lambda: CheckoutSession.objects.get(public_id=session["id"]))
    assert (state.status, state.version) == ("expired", 2)
    event = in_schema(merchant_a, lambda: Event.objects.get(type="checkout.session.expired"))
    assert event.data_object["id"] == session["id"]
    assert event.data_object["status"] == "expired"
    assert in_schema(merchant_a, lambda: VoucherHold.objects.count()) == 0
    assert balance(merchant_a, voucher) == 10_000
    page = client.get(frame_path(merchant_a, session["id"]))
    assert b"This checkout has expired" in page.content


def test_wrong_codes_answer_one_error_then_are_throttled(client, merchant_a, pk_a):
    disabled = issue(merchant_a, 5_000)
    in_schema(merchant_a, lambda: Voucher.objects.filter(pk=disabled.pk).update(status="disabled"))
    other_currency = issue(merchant_a, 5_000, currency="USD")
    session = open_session(client, pk_a, amount="10.00", order_id="GUESS-1")

    answers = {
        frame_post(client, merchant_a, session["id"], "vouchers", {"code": code}).content
        for code in ("NOPE-NOPE-NOPE-NOPE", disabled.code, other_currency.code)
    }
    assert len(answers) == 1
    assert b'"code": "voucher_not_redeemable"' in answers.pop()

    for index in range(7):
        frame_post(client, merchant_a, session["id"], "vouchers", {"code": f"WRONG{index}"})
    good = issue(merchant_a, 5_000)
    response = frame_post(client, merchant_a, session["id"], "vouchers", {"code": good.code})

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "code_attempts_exceeded"
    assert int(response["Retry-After"]) > 0


def test_frame_endpoints_answer_only_the_frame_itself(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="10.00", order_id="CSRF-1")
    for origin in ("https://shop.example", None):
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        response = client.post(
            frame_path(merchant_a, session["id"], "vouchers"),
            f'{{"code": "{voucher.code}"}}',
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 403
    assert in_schema(merchant_a, lambda: VoucherHold.objects.count()) == 0


def test_only_the_keys_origins_may_frame_the_payment_page(client, merchant_a, pk_a):
    session = open_session(client, pk_a, order_id="FRAME-1")
    page = client.get(frame_path(merchant_a, session["id"]))

    assert page.status_code == 200
    assert "X-Frame-Options" not in page
    assert "frame-ancestors https://shop.example;" in page["Content-Security-Policy"]
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert 'data-parent-origin="https://shop.example"' in page.content.decode()
    assert client.get("/").get("X-Frame-Options") == "DENY"
    assert client.get("/widget.json").get("X-Frame-Options") == "DENY"


def test_a_frame_of_another_merchant_is_not_found(client, merchant_a, merchant_b, pk_a):
    session = open_session(client, pk_a, order_id="ISO-1")
    assert client.get(frame_path(merchant_b, session["id"])).status_code == 404
    assert frame_post(client, merchant_b, session["id"], "vouchers", {"code": "X"}).status_code == (
        404
    )


def _purge_checkout() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE checkout_payment, checkout_checkoutsession, checkout_rememberedvoucher, "
            "vouchers_voucherhold, webhooks_event, vouchers_voucherledgerentry, "
            "vouchers_voucher CASCADE"
        )


def test_concurrent_confirms_make_one_payment(merchant_a):
    """Two connections confirm one committed session at the same moment (a double click that
    reached two web workers): one payment, one debit; both answers name it."""
    from checkout.sessions import checkout_session_create
    from tests.helpers import committed
    from vouchers.holds import voucher_hold_add
    from vouchers.services import voucher_issue

    def setup():
        voucher = voucher_issue(currency="EUR", amount=10_000)
        session = checkout_session_create(
            livemode=False,
            amount=2_500,
            currency="EUR",
            order_id="RACE-THREADS",
            source=CheckoutSession.Source.PAGE,
        )
        voucher_hold_add(
            holder=session.public_id,
            code=voucher.code,
            amount=2_500,
            currency="EUR",
            livemode=False,
            order_id="RACE-THREADS",
            hold_until=session.expires_at,
        )
        return voucher, session

    voucher, session = committed(setup, merchant_a.schema_name)
    barrier = threading.Barrier(2)
    results: list = []

    def confirm():
        barrier.wait()
        return checkout_session_confirm(
            merchant=merchant_a, session_id=session.public_id, confirm_token=session.confirm_token
        ).public_id

    def run():
        try:
            results.append(committed(confirm, merchant_a.schema_name))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = committed(
            lambda: (Voucher.objects.get(pk=voucher.pk).balance, Payment.objects.count()),
            merchant_a.schema_name,
        )
        assert len(results) == 2 and results[0] == results[1], results
        assert final == (7_500, 1)
    finally:
        committed(_purge_checkout, merchant_a.schema_name)
        committed(lambda: commission_entries_purge(r for r in results if isinstance(r, str)))


def test_a_confirm_is_three_round_trips(merchant_a):
    """One voucher, one subscribed webhook endpoint: the confirm's whole transaction, BEGIN and
    COMMIT included, is three round trips, counted on the wire (tests.roundtrips); every
    statement of it ran as a server-side prepared statement."""
    from django.db import connection

    from checkout.sessions import checkout_session_create
    from tests.helpers import committed
    from tests.roundtrips import through_proxy
    from vouchers.holds import voucher_hold_add
    from vouchers.services import voucher_issue
    from webhooks.models import Delivery, WebhookEndpoint

    def setup():
        WebhookEndpoint.objects.create(
            url="https://shop.example.com/hooks", enabled_events=["payment.succeeded"]
        )
        voucher = voucher_issue(currency="EUR", amount=10_000)
        session = checkout_session_create(
            livemode=False,
            amount=2_500,
            currency="EUR",
            order_id="ROUND-TRIPS",
            source=CheckoutSession.Source.PAGE,
        )
        voucher_hold_add(
            holder=session.public_id,
            code=voucher.code,
            amount=2_500,
            currency="EUR",
            livemode=False,
            order_id="ROUND-TRIPS",
            hold_until=session.expires_at,
        )
        return voucher, session

    def prepared_runs() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
                " WHERE NOT from_sql"
            )
            return dict(cursor.fetchall())

    def confirm(proxy):
        connection.ensure_connection()  # connecting is not the confirm's
        before = prepared_runs()
        proxy.reset()
        payment = checkout_session_confirm(
            merchant=merchant_a, session_id=session.public_id, confirm_token=session.confirm_token
        )
        round_trips = proxy.round_trips
        after = prepared_runs()
        ran = [sql for sql, count in after.items() if count > before.get(sql, 0)]
        return payment, round_trips, ran

    voucher, session = committed(setup, merchant_a.schema_name)
    try:
        payment, round_trips, ran_prepared = through_proxy(confirm, merchant_a.schema_name)
        written = committed(
            lambda: (
                Voucher.objects.get(pk=voucher.pk).balance,
                Payment.objects.filter(public_id=payment.public_id).count(),
                Event.objects.filter(type="payment.succeeded").count(),
                Delivery.objects.count(),
                CheckoutSession.objects.get(pk=session.pk).status,
            ),
            merchant_a.schema_name,
        )
        assert written == (7_500, 1, 1, 1, "completed")
        # (1) session lock, holds, plans, endpoints; (2) the voucher locked; (3) the debit,
        # commission entry, payment + session, holds dropped, event + delivery + NOTIFY, COMMIT.
        assert round_trips == 3
        # Its 10 statements all ran prepared (superpayment.prepared): 4 + 1 + 5 above.
        assert len(ran_prepared) == 10, "\n".join(ran_prepared)
    finally:
        committed(_purge_checkout, merchant_a.schema_name)
        committed(lambda: WebhookEndpoint.objects.all().delete(), merchant_a.schema_name)
        committed(lambda: commission_entries_purge([payment.public_id]))
