"""Checkout torture: concurrent shoppers over shared vouchers, then every money invariant checked.

Each shopper is a thread with its own database connection and its own HTTP client (Django's
in-process WSGI client: the frame's and the API's real views, middleware and error handling, so a
server error is an answer with status 5xx, not an exception). A shopper, in a loop: opens a
checkout session for an order (some order ids are shared, so sessions of one order race), adds one
to three vouchers from a small shared pool through the payment frame (split tender, holds racing
on the same rows), confirms, and now and then refunds part of a random payment through the API
(refunds racing with payments on the same vouchers), and the merchant tops a voucher up through
the API (an adjustment racing with holds and debits). Refusals (insufficient balance, order already
paid, nothing left to refund, …) are normal answers; only a 5xx or an exception is a failure.

Then `invariants_check` reads the merchant's schema and reports every violation of:
- each voucher's balance = its issued amount + its other ledger entries, and ≥ 0;
- each payment's amount = the debits that name it, and the redemption entries name only payments;
- each payment's refunds = the credits that name it;
- one payment per order id (and mode);
- one commission entry per payment, = round-half-up(amount * bps / 10,000) + fixed fee (capped at
  the amount), the payment's own snapshot; its reversals add up to round-half-up(C * R / A);
- one `payment.succeeded` event per payment and one `payment.refunded` per refund;
- no hold of a completed session, and no hold at all once the sessions have expired.

`make torture` (`python -m bench.torture`) runs it against its own merchant for TORTURE_SECONDS
(default 120) with TORTURE_THREADS shoppers (default 8), with a webhook endpoint on a real HTTP
receiver and a webhooks worker, and prints attempts, outcomes, violations, 5xx answers and lost
and duplicated webhooks. tests/checkout/test_torture.py runs a small bounded round in `make test`.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections
from django.test import Client
from django_tenants.utils import schema_context

VOUCHER_BALANCE = 20_000
VOUCHERS = 6
ORDERS_SHARED = 3  # order ids per round number every shopper may pick: sessions of one order race
REFUND_EVERY = 3  # one refund attempt every this many rounds
TOP_UP_EVERY = 2  # one merchant adjustment (+) every this many rounds, so long runs keep paying


@dataclass
class TortureReport:
    attempts: Counter = field(default_factory=Counter)  # what was tried
    outcomes: Counter = field(default_factory=Counter)  # "<what> <status> <code>"
    server_errors: list[str] = field(default_factory=list)  # 5xx answers and exceptions
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, status: int, code: str = "") -> None:
        with self.lock:
            self.attempts[what] += 1
            self.outcomes[f"{what} {status} {code}".strip()] += 1

    def failed(self, what: str, detail: str) -> None:
        with self.lock:
            self.attempts[what] += 1
            self.server_errors.append(f"{what}: {detail}"[:500])

    def lines(self) -> list[str]:
        lines = [f"attempts: {dict(sorted(self.attempts.items()))}"]
        lines += [f"  {name}: {count}" for name, count in sorted(self.outcomes.items())]
        lines.append(f"5xx and exceptions: {len(self.server_errors)}")
        lines += [f"  {error}" for error in self.server_errors[:20]]
        lines.append(f"violations: {len(self.violations)}")
        lines += [f"  {violation}" for violation in self.violations[:50]]
        return lines


@dataclass(frozen=True)
class Stage:
    """What the shoppers work on: a merchant's schema, its slug, a test secret key, the host."""

    schema: str
    slug: str
    secret_key: str
    codes: list[str]
    voucher_ids: list[str]
    host: str = "testserver"


def stage_prepare(*, merchant, host: str = "testserver", vouchers: int = VOUCHERS) -> Stage:
    """Issue the shared vouchers and a secret key in `merchant`'s schema (committed)."""
    from tenants.keys import api_key_create
    from vouchers.services import voucher_issue

    _key, raw = api_key_create(
        merchant=merchant, kind="secret", mode="test", name="Torture", actor=None
    )
    with schema_context(merchant.schema_name):
        issued = [voucher_issue(currency="EUR", amount=VOUCHER_BALANCE) for _ in range(vouchers)]
    return Stage(
        schema=merchant.schema_name,
        slug=merchant.slug,
        secret_key=raw,
        codes=[voucher.code for voucher in issued],
        voucher_ids=[voucher.public_id for voucher in issued],
        host=host,
    )


class Shopper:
    def __init__(self, stage: Stage, report: TortureReport, index: int, seed: int) -> None:
        self.stage = stage
        self.report = report
        self.index = index
        self.rng = random.Random(seed * 1_000 + index)
        self.client = Client(HTTP_HOST=stage.host, raise_request_exception=False)
        self.origin = f"http://{stage.host}"

    def _answer(self, what: str, response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = (body.get("error") or {}).get("code", "") if isinstance(body, dict) else ""
        if response.status_code >= 400 and not code:  # not the API's envelope: show what it was
            content = response.content.decode(errors="replace")
            title = content.partition("<title>")[2].partition("</title>")[0].strip()
            code = repr((title or content)[:120])
        if response.status_code >= 500:
            self.report.failed(what, f"{response.status_code} {response.content[:200]!r}")
        else:
            self.report.note(what, response.status_code, code)
        return body

    def _frame(self, session_id: str, action: str, body: dict) -> tuple[str, object]:
        return (
            f"/checkout/pay/{self.stage.slug}/{session_id}/{action}",
            json.dumps(body),
        )

    def round(self, number: int) -> None:
        from checkout.models import CheckoutSession
        from checkout.sessions import checkout_session_create

        rng = self.rng
        shared = rng.random() < 0.5
        # Shoppers at the same round pick among the same few order ids, so their sessions race.
        order_id = (
            f"T-{number}-{rng.randrange(ORDERS_SHARED)}" if shared else f"T-{self.index}-{number}"
        )
        try:
            with schema_context(self.stage.schema):
                session = checkout_session_create(
                    livemode=False,
                    amount=rng.randint(100, 6_000),
                    currency="EUR",
                    order_id=order_id,
                    source=CheckoutSession.Source.PAGE,
                )
        except Exception as exc:  # an order already paid is refused here
            if getattr(exc, "code", "") == "order_already_paid":
                self.report.note("session", 409, "order_already_paid")
                return
            self.report.failed("session", repr(exc))
            return
        for code in rng.sample(self.stage.codes, rng.randint(1, 3)):
            path, body = self._frame(session.public_id, "vouchers", {"code": code})
            self._answer("add", self._post(path, body))
        path, body = self._frame(
            session.public_id, "confirm", {"confirm_token": session.confirm_token}
        )
        self._answer("confirm", self._post(path, body))
        if number % REFUND_EVERY == self.index % REFUND_EVERY:
            self._refund()
        if number % TOP_UP_EVERY == self.index % TOP_UP_EVERY:
            self._top_up()

    def _post(self, path: str, body: str, **headers):
        return self.client.post(
            path, body, content_type="application/json", HTTP_ORIGIN=self.origin, **headers
        )

    def _refund(self) -> None:
        from checkout.models import Payment

        with schema_context(self.stage.schema):
            ids = list(Payment.objects.values_list("public_id", "amount")[:200])
        if not ids:
            return
        payment_id, amount = self.rng.choice(ids)
        refund = self.rng.randint(1, max(1, amount // 2))
        response = self.client.post(
            f"/v1/payments/{payment_id}/refunds",
            json.dumps({"amount": refund}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.stage.secret_key}",
        )
        self._answer("refund", response)

    def _top_up(self) -> None:
        """The merchant adds to a voucher while shoppers hold and spend it (an adjustment)."""
        voucher_id = self.rng.choice(self.stage.voucher_ids)
        response = self.client.post(
            f"/v1/vouchers/{voucher_id}/adjust",
            json.dumps({"amount": self.rng.randint(1_000, 8_000), "reason": "Torture top-up"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.stage.secret_key}",
        )
        self._answer("top-up", response)


def shoppers_run(
    stage: Stage,
    *,
    threads: int,
    rounds: int | None = None,
    seconds: float | None = None,
    seed: int = 1,
    report: TortureReport | None = None,
) -> TortureReport:
    """Run `threads` shoppers at once, each for `rounds` rounds or until `seconds` have passed."""
    report = report or TortureReport()
    deadline = time.monotonic() + seconds if seconds is not None else None
    start = threading.Barrier(threads)

    def shop(index: int) -> None:
        shopper = Shopper(stage, report, index, seed)
        try:
            start.wait()
            number = 0
            while (rounds is None or number < rounds) and (
                deadline is None or time.monotonic() < deadline
            ):
                try:
                    shopper.round(number)
                except Exception as exc:
                    report.failed("round", repr(exc))
                number += 1
        finally:
            connections.close_all()

    workers = [threading.Thread(target=shop, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return report


# --- the invariants --------------------------------------------------------------------------


def invariants_check(*, schema: str, merchant_id: int) -> list[str]:
    """Every violation of the money invariants in `schema` (the module's docstring lists them).
    Expects the schema to hold only the run's data."""
    with schema_context(schema):
        return (
            _balances_check()
            + _payments_check()
            + _refunds_check()
            + _commission_check(merchant_id)
            + _events_check()
            + _holds_of_completed_check()
        )


def _balances_check() -> list[str]:
    from django.db.models import Sum

    from vouchers.models import Voucher, VoucherLedgerEntry

    sums = dict(
        VoucherLedgerEntry.objects.values("voucher_id")
        .annotate(total=Sum("amount"))
        .values_list("voucher_id", "total")
    )
    violations = []
    for voucher in Voucher.objects.order_by("pk"):
        if voucher.balance < 0:
            violations.append(f"voucher {voucher.public_id}: balance {voucher.balance} < 0")
        if voucher.balance != sums.get(voucher.pk, 0):
            violations.append(
                f"voucher {voucher.public_id}: balance {voucher.balance} != initial + ledger "
                f"{sums.get(voucher.pk, 0)}"
            )
    return violations


def _payments_check() -> list[str]:
    from checkout.models import Payment
    from vouchers.models import VoucherLedgerEntry

    debits: dict[str, int] = defaultdict(int)
    for reference, amount in VoucherLedgerEntry.objects.filter(kind="redeem").values_list(
        "reference", "amount"
    ):
        debits[reference] -= amount
    violations = []
    payments = {p.public_id: p for p in Payment.objects.all()}
    for payment_id, payment in payments.items():
        tendered = sum(tender["amount"] for tender in payment.tenders)
        if not payment.amount == tendered == debits.get(payment_id, 0):
            violations.append(
                f"payment {payment_id}: amount {payment.amount}, tenders {tendered}, "
                f"debits {debits.get(payment_id, 0)}"
            )
    for reference in sorted(set(debits) - set(payments)):
        violations.append(f"debits of {debits[reference]} name no payment ({reference})")
    orders = Counter((p.livemode, p.order_id) for p in payments.values())
    violations += [f"order {order}: {n} payments" for (_, order), n in orders.items() if n > 1]
    return violations


def _refunds_check() -> list[str]:
    from checkout.models import Payment
    from checkout.refund_models import Refund
    from vouchers.models import VoucherLedgerEntry

    credits: dict[str, int] = defaultdict(int)
    for reference, amount in VoucherLedgerEntry.objects.filter(kind="refund_credit").values_list(
        "reference", "amount"
    ):
        credits[reference] += amount
    refunded: dict[str, int] = defaultdict(int)
    for payment_id, amount in Refund.objects.values_list("payment__public_id", "amount"):
        refunded[payment_id] += amount
    violations = []
    for payment_id, amount in Payment.objects.values_list("public_id", "amount"):
        if refunded.get(payment_id, 0) != credits.get(payment_id, 0):
            violations.append(
                f"payment {payment_id}: refunds {refunded.get(payment_id, 0)} != credits "
                f"{credits.get(payment_id, 0)}"
            )
        if refunded.get(payment_id, 0) > amount:
            violations.append(f"payment {payment_id}: refunded {refunded[payment_id]} > {amount}")
    return violations


def _commission_check(merchant_id: int) -> list[str]:
    from billing.models import CommissionEntry
    from billing.plans import commission_compute, reversal_cumulative
    from checkout.models import Payment
    from checkout.refund_models import Refund

    payments = {p.public_id: p for p in Payment.objects.all()}
    entries = CommissionEntry.objects.filter(merchant_id=merchant_id, payment_id__in=list(payments))
    charges: dict[str, list] = defaultdict(list)
    reversals: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.kind == CommissionEntry.Kind.CHARGE:
            charges[entry.payment_id].append(entry)
        else:
            reversals[entry.payment_id] += entry.amount
    refunded: dict[str, int] = defaultdict(int)
    for payment_id, amount in Refund.objects.values_list("payment__public_id", "amount"):
        refunded[payment_id] += amount
    violations = []
    for payment_id, payment in payments.items():
        found = charges.get(payment_id, [])
        if len(found) != 1:
            violations.append(f"payment {payment_id}: {len(found)} commission entries")
            continue
        charge = found[0]
        expected = commission_compute(
            amount=payment.amount, bps=charge.bps, fixed_fee=charge.fixed_fee
        )
        if not charge.amount == expected == payment.commission_amount:
            violations.append(
                f"payment {payment_id}: commission {charge.amount}, payment's "
                f"{payment.commission_amount}, rule {expected}"
            )
        owed = reversal_cumulative(
            commission=charge.amount,
            payment_amount=payment.amount,
            refunded_total=refunded.get(payment_id, 0),
        )
        if -reversals.get(payment_id, 0) != owed:
            violations.append(
                f"payment {payment_id}: reversals {reversals.get(payment_id, 0)}, owed -{owed}"
            )
    return violations


def _events_check() -> list[str]:
    from checkout.models import Payment
    from checkout.refund_models import Refund
    from webhooks.models import Event

    succeeded = Counter()
    refunded = Counter()
    for event_type, data in Event.objects.filter(
        type__in=["payment.succeeded", "payment.refunded"]
    ).values_list("type", "data_object"):
        if event_type == "payment.succeeded":
            succeeded[data["id"]] += 1
        else:
            refunded[(data.get("refund") or {}).get("id")] += 1
    violations = []
    payments = set(Payment.objects.values_list("public_id", flat=True))
    refunds = set(Refund.objects.values_list("public_id", flat=True))
    for payment_id in payments | set(succeeded):
        if succeeded.get(payment_id, 0) != (payment_id in payments):
            violations.append(f"payment {payment_id}: {succeeded.get(payment_id, 0)} events")
    for refund_id in refunds | set(refunded):
        if refunded.get(refund_id, 0) != (refund_id in refunds):
            violations.append(f"refund {refund_id}: {refunded.get(refund_id, 0)} events")
    return violations


def _holds_of_completed_check() -> list[str]:
    from checkout.models import CheckoutSession
    from vouchers.hold_models import VoucherHold

    completed = CheckoutSession.objects.filter(status=CheckoutSession.Status.COMPLETED)
    left = VoucherHold.objects.filter(holder__in=completed.values("public_id")).values_list(
        "holder", flat=True
    )
    return [f"session {holder}: completed, still holds" for holder in sorted(set(left))]


def holds_after_expiry_check(*, schema: str) -> list[str]:
    """Expire every session as if their time had come: no hold may be left."""
    import datetime

    from django.utils import timezone

    from checkout.sessions import checkout_sessions_expire_due
    from vouchers.hold_models import VoucherHold

    with schema_context(schema):
        checkout_sessions_expire_due(now=timezone.now() + datetime.timedelta(days=2))
        left = VoucherHold.objects.count()
    return [f"{left} holds left after every session expired"] if left else []


# --- make torture ------------------------------------------------------------------------------


TORTURE_SLUG = "torture"


def _webhooks_worker(env: dict[str, str]):
    """The webhooks dispatcher, as `make run` starts it."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "manage.py", "webhooks_dispatch", "--threads", "8"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )


def main() -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
    os.environ["WEBHOOKS_ALLOW_PRIVATE"] = "1"
    django.setup()
    logging.disable(logging.WARNING)  # thousands of payments: only errors (a 5xx) are shown
    from django.core.management import call_command
    from django.test.utils import override_settings

    from bench.merchants import bench_merchant_drop
    from tenants.services import provision_merchant
    from webhooks.endpoints import endpoint_create

    seconds = float(os.environ.get("TORTURE_SECONDS", "120"))
    threads = int(os.environ.get("TORTURE_THREADS", "8"))
    call_command("setup_platform", verbosity=0)
    bench_merchant_drop(TORTURE_SLUG)
    merchant = provision_merchant(
        slug=TORTURE_SLUG, name="Torture", country="DE", default_currency="EUR"
    ).merchant
    receiver = WebhookReceiver().start()
    with schema_context(merchant.schema_name), override_settings(WEBHOOKS_ALLOW_PRIVATE=True):
        endpoint_create(url=receiver.url, enabled_events=["*"], livemode=False)
    stage = stage_prepare(merchant=merchant, host="localhost")
    worker = _webhooks_worker({**os.environ, "LOG_LEVEL": "WARNING"})
    print(f"torture: {threads} shoppers for {seconds:.0f} s on merchant {TORTURE_SLUG}", flush=True)
    try:
        report = shoppers_run(stage, threads=threads, seconds=seconds)
        report.violations += invariants_check(schema=stage.schema, merchant_id=merchant.pk)
        report.violations += holds_after_expiry_check(schema=stage.schema)
        lost, duplicated = receiver.reconcile(schema=stage.schema, wait=120)
    finally:
        worker.terminate()
        worker.wait(30)
        receiver.stop()
    for line in report.lines():
        print(line)
    print(f"webhooks: {receiver.received_count} received, {lost} lost, {duplicated} duplicated")
    failed = report.violations or report.server_errors or lost
    return 1 if failed else 0


class WebhookReceiver:
    """A real HTTP receiver on 127.0.0.1 that answers 200 and records each `webhook-id`."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.ids: Counter = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.ids[self.headers.get("webhook-id", "")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    @property
    def received_count(self) -> int:
        return sum(self.ids.values())

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reconcile(self, *, schema: str, wait: float) -> tuple[int, int]:
        """(lost, duplicated): events with no delivery received after `wait` seconds at most,
        and deliveries received more than once."""
        from webhooks.models import Event

        with schema_context(schema):
            expected = set(Event.objects.values_list("public_id", flat=True))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not expected <= set(self.ids):
            time.sleep(0.5)
        with self.lock:
            lost = len(expected - set(self.ids))
            duplicated = sum(count - 1 for count in self.ids.values() if count > 1)
        return lost, duplicated


def _main_guard(run: Callable[[], int]) -> int:
    try:
        return run()
    finally:
        connections.close_all()


if __name__ == "__main__":
    sys.exit(_main_guard(main))
