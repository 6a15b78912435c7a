"""Holds are guarantees: a session whose holds cover its amount pays whatever other sessions
confirm meanwhile, and never takes what another session holds. The races are lined up
deterministically: a third connection holds the voucher's row lock (`SELECT … FOR UPDATE`) while
the confirms queue behind it, in a known order, then lets them go."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from checkout.models import CheckoutSession, Payment
from checkout.payments import checkout_session_confirm, checkout_voucher_add
from checkout.sessions import checkout_session_create
from tests.checkout.support import commission_entries_purge, frame_post, issue, open_session, pay
from tests.helpers import committed
from vouchers.errors import VoucherError
from vouchers.hold_models import VoucherHold
from vouchers.holds import voucher_hold_add, voucher_holds_release
from vouchers.models import Voucher
from vouchers.services import MAX_TENDERS, voucher_issue

pytestmark = pytest.mark.django_db


def _session(*, amount: int, order_id: str) -> CheckoutSession:
    return checkout_session_create(
        livemode=False,
        amount=amount,
        currency="EUR",
        order_id=order_id,
        source=CheckoutSession.Source.PAGE,
    )


def _hold(session: CheckoutSession, voucher: Voucher):
    return voucher_hold_add(
        holder=session.public_id,
        code=voucher.code,
        amount=session.amount,
        currency="EUR",
        livemode=False,
        order_id=session.order_id,
        hold_until=session.expires_at,
    )


def _purge() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE checkout_payment, checkout_checkoutsession, vouchers_voucherhold, "
            "webhooks_event, vouchers_voucherledgerentry, vouchers_voucher CASCADE"
        )


class Background:
    """`fn` on its own connection in the merchant's schema, in a thread: its result or error."""

    def __init__(self, schema: str, fn: Callable[[], object]):
        self.outcome: dict[str, object] = {}

        def run() -> None:
            try:
                with schema_context(schema):
                    self.outcome["value"] = fn()
            except BaseException as exc:
                self.outcome["error"] = exc
            finally:
                connections.close_all()

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def result(self):
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "still running"
        if "error" in self.outcome:
            raise self.outcome["error"]  # type: ignore[misc]
        return self.outcome["value"]


class RowLock:
    """A third connection holding `SELECT … FOR UPDATE` on one voucher until released."""

    def __init__(self, schema: str, voucher_pk: int):
        self._locked = threading.Event()
        self._release = threading.Event()

        def hold() -> None:
            with transaction.atomic():
                Voucher.objects.select_for_update().get(pk=voucher_pk)
                self._locked.set()
                self._release.wait(timeout=120)

        self._holder = Background(schema, hold)
        assert self._locked.wait(timeout=60)

    def release(self) -> None:
        self._release.set()
        self._holder.result()


def waiting_for_locks(count: int) -> None:
    """Return once `count` backends of this database wait on a lock (the queue is lined up)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # The test's transaction would otherwise keep reading its first snapshot of the view.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.01)
    raise AssertionError(f"{count} lock waiters never lined up")


def _confirm(merchant, session: CheckoutSession) -> Callable[[], Payment]:
    return lambda: checkout_session_confirm(
        merchant=merchant, session_id=session.public_id, confirm_token=session.confirm_token
    )


@pytest.fixture
def schema(merchant_a):
    """Merchant A's schema for committed data, emptied afterwards."""
    yield merchant_a.schema_name
    payments = committed(
        lambda: list(Payment.objects.values_list("public_id", flat=True)), merchant_a.schema_name
    )
    committed(_purge, merchant_a.schema_name)
    committed(lambda: commission_entries_purge(payments))


def test_a_covered_hold_pays_after_another_sessions_payment_on_the_same_voucher(merchant_a, schema):
    """V holds 1,000; P holds 600 of it, X 400. X's confirm waits behind P's; P's hold is gone
    when X goes on, and X's 400 is exactly what is left: X pays (it was refused "The vouchers
    cover 0 of 400", counting P's deleted hold against V's new balance)."""

    def setup():
        voucher = voucher_issue(currency="EUR", amount=1_000)
        p, x = _session(amount=600, order_id="RACE-P"), _session(amount=400, order_id="RACE-X")
        _hold(p, voucher)
        _hold(x, voucher)
        return voucher, p, x

    voucher, p, x = committed(setup, schema)
    lock = RowLock(schema, voucher.pk)
    paying_p = Background(schema, _confirm(merchant_a, p))
    waiting_for_locks(1)
    paying_x = Background(schema, _confirm(merchant_a, x))
    waiting_for_locks(2)
    lock.release()

    assert paying_p.result().amount == 600
    assert paying_x.result().amount == 400
    assert committed(lambda: Voucher.objects.get(pk=voucher.pk).balance, schema) == 0
    assert committed(lambda: VoucherHold.objects.count(), schema) == 0


def test_a_confirm_never_takes_what_another_session_holds(merchant_a, schema):
    """X holds 300 of V (expiring soon) and 500 of W. While X's confirm waits for V's lock, Q
    (queued first) takes a hold of 700 on V, all X leaves. X pays its own 300 + 500; Q's hold
    stays covered and Q pays (X's confirm took 800 from V, leaving Q's hold short)."""

    def setup():
        soon = timezone.now() + datetime.timedelta(days=2)
        v = voucher_issue(currency="EUR", amount=1_000, expires_at=soon)
        w = voucher_issue(currency="EUR", amount=1_000)
        earlier = _session(amount=700, order_id="RACE-O")
        _hold(earlier, v)
        x = _session(amount=800, order_id="RACE-X")
        _hold(x, v)
        plan = _hold(x, w)
        assert [(held.voucher_id, held.held) for held in plan.vouchers] == [
            (v.public_id, 300),
            (w.public_id, 500),
        ]
        voucher_holds_release(holders=[earlier.public_id])
        return v, w, x, _session(amount=700, order_id="RACE-Q")

    v, w, x, q = committed(setup, schema)
    lock = RowLock(schema, v.pk)
    adding_q = Background(schema, lambda: _hold(q, v))
    waiting_for_locks(1)
    paying_x = Background(schema, _confirm(merchant_a, x))
    waiting_for_locks(2)
    lock.release()

    assert [held.held for held in adding_q.result().vouchers] == [700]
    payment = paying_x.result()
    assert [(t["voucher"], t["amount"]) for t in payment.tenders] == [
        (v.public_id, 300),
        (w.public_id, 500),
    ]
    assert committed(lambda: Voucher.objects.get(pk=v.pk).balance, schema) == 700
    assert committed(_confirm(merchant_a, q), schema).amount == 700
    balances = committed(
        lambda: list(Voucher.objects.order_by("pk").values_list("balance", flat=True)), schema
    )
    assert balances == [0, 500]


def test_concurrent_adds_keep_the_split_tender_limit(merchant_a, schema):
    """20 shoppers' tabs add 20 different vouchers to one session at the same moment, each on its
    own connection: exactly MAX_TENDERS (10) are listed, the others refused with the limit."""
    count = 2 * MAX_TENDERS

    def setup():
        vouchers = [voucher_issue(currency="EUR", amount=100) for _ in range(count)]
        return vouchers, _session(amount=10_000, order_id="LIMIT-1")

    vouchers, session = committed(setup, schema)
    barrier = threading.Barrier(count)

    def add(voucher: Voucher) -> Callable[[], object]:
        def run():
            barrier.wait(timeout=60)
            try:
                return checkout_voucher_add(
                    session_id=session.public_id, code=voucher.code, client_ip="127.0.0.1"
                )
            except VoucherError as exc:
                return exc.message

        return run

    adds = [Background(schema, add(voucher)) for voucher in vouchers]
    results = [add.result() for add in adds]

    refused = [r for r in results if isinstance(r, str)]
    assert refused == [f"Pay with at most {MAX_TENDERS} vouchers."] * (count - MAX_TENDERS)
    holds = committed(lambda: VoucherHold.objects.filter(holder=session.public_id).count(), schema)
    assert holds == MAX_TENDERS


def test_paying_an_order_releases_its_other_sessions_holds(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    first = open_session(client, pk_a, amount="30.00", order_id="ORDER-L")
    second = open_session(client, pk_a, amount="40.00", order_id="ORDER-L")
    other = open_session(client, pk_a, amount="20.00", order_id="ORDER-OTHER")
    for session in (second, other):
        frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})

    assert pay(client, merchant_a, first["id"], voucher.code).status_code == 200

    with schema_context(merchant_a.schema_name):
        holds = dict(VoucherHold.objects.values_list("holder", "amount"))
    assert holds == {other["id"]: 2_000}
    refused = pay(client, merchant_a, second["id"])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "order_already_paid"
    added = frame_post(client, merchant_a, second["id"], "vouchers", {"code": voucher.code})
    assert added.status_code == 409
    with schema_context(merchant_a.schema_name):
        assert not VoucherHold.objects.filter(holder=second["id"]).exists()


def test_a_held_voucher_disabled_meanwhile_is_named(client, merchant_a, pk_a):
    voucher = issue(merchant_a, 10_000)
    session = open_session(client, pk_a, amount="30.00", order_id="ORDER-D")
    frame_post(client, merchant_a, session["id"], "vouchers", {"code": voucher.code})
    with schema_context(merchant_a.schema_name):
        Voucher.objects.filter(pk=voucher.pk).update(status="disabled")

    refused = pay(client, merchant_a, session["id"])

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "voucher_not_redeemable"
    assert error["message"] == (
        f"Voucher …{voucher.code[-4:]} can no longer be used (disabled or expired); "
        "remove it to pay."
    )


def test_holds_shared_again_at_payment_see_the_payment_that_went_first(merchant_a, schema):
    """X's hold did not cover its 400 when taken (another session reserved the rest, then let it
    go), so X's confirm shares V again: it waits behind P's payment, and then counts neither P's
    hold (gone) nor more than V's balance left. X pays 400, exactly what is left."""

    def setup():
        voucher = voucher_issue(currency="EUR", amount=1_000)
        p, x = _session(amount=600, order_id="RACE-P"), _session(amount=400, order_id="RACE-X")
        _hold(p, voucher)
        other = _session(amount=300, order_id="RACE-O")
        _hold(other, voucher)
        assert [held.held for held in _hold(x, voucher).vouchers] == [100]
        voucher_holds_release(holders=[other.public_id])
        return voucher, p, x

    voucher, p, x = committed(setup, schema)
    lock = RowLock(schema, voucher.pk)
    paying_p = Background(schema, _confirm(merchant_a, p))
    waiting_for_locks(1)
    paying_x = Background(schema, _confirm(merchant_a, x))
    waiting_for_locks(2)
    lock.release()

    assert paying_p.result().amount == 600
    assert paying_x.result().amount == 400
    assert committed(lambda: Voucher.objects.get(pk=voucher.pk).balance, schema) == 0
