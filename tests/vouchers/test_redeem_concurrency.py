"""Many shoppers at once: 50 threads, each on its own database connection, pay with the same
three vouchers in random order and random splits. Nothing is overspent, nothing deadlocks."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from tests.helpers import committed
from tests.vouchers.factories import VoucherFactory
from tests.vouchers.support import ledger_totals, vouchers_purge
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.redemption import VoucherTender
from vouchers.services import voucher_redeem

pytestmark = pytest.mark.django_db

THREADS = 50
PAYMENTS_PER_THREAD = 8
INITIAL_BALANCE = 20_000


@pytest.fixture
def three_committed_vouchers(merchant_a):
    schema = merchant_a.schema_name
    vouchers = committed(lambda: [VoucherFactory(amount=INITIAL_BALANCE) for _ in range(3)], schema)
    yield schema, vouchers
    committed(vouchers_purge, schema)


def _tenders(rng: random.Random, vouchers: list[Voucher], amount: int) -> list:
    chosen = rng.sample(vouchers, rng.randint(1, 3))  # random subset, random order
    if rng.random() < 0.5:
        return [voucher.code for voucher in chosen]  # each pays what is still due
    shares = [amount // len(chosen)] * len(chosen)
    shares[0] += amount - sum(shares)
    return [
        VoucherTender(voucher.code, share) for voucher, share in zip(chosen, shares, strict=True)
    ]


def test_redeem_never_overspends_under_concurrency(three_committed_vouchers):
    schema, vouchers = three_committed_vouchers
    barrier = threading.Barrier(THREADS)
    outcomes: list[dict] = [{} for _ in range(THREADS)]

    def shopper(index: int) -> None:
        rng = random.Random(index)
        outcome = {"paid": 0, "debits": 0, "refusals": Counter(), "errors": []}
        try:
            with schema_context(schema):
                barrier.wait()
                for payment in range(PAYMENTS_PER_THREAD):
                    amount = rng.randint(3, 600)
                    try:
                        debits = voucher_redeem(
                            tenders=_tenders(rng, vouchers, amount),
                            amount=amount,
                            currency="EUR",
                            livemode=False,
                            reference=f"pay_{index}_{payment}",
                        )
                    except VoucherError as exc:
                        outcome["refusals"][exc.code] += 1
                        continue
                    assert sum(debit.amount for debit in debits) == amount
                    outcome["paid"] += amount
                    outcome["debits"] += len(debits)
        except BaseException as exc:  # a deadlock or any other database error fails the test
            outcome["errors"].append(repr(exc))
        finally:
            connections.close_all()
            outcomes[index] = outcome

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    errors = [error for outcome in outcomes for error in outcome["errors"]]
    assert errors == []
    refusals = sum((outcome["refusals"] for outcome in outcomes), Counter())
    assert set(refusals) <= {VoucherErrorCode.INSUFFICIENT_BALANCE}
    paid = sum(outcome["paid"] for outcome in outcomes)
    debits = sum(outcome["debits"] for outcome in outcomes)
    assert paid > 0

    def final_state():
        return (
            ledger_totals(),
            list(Voucher.objects.order_by("pk").values_list("balance", "status")),
            VoucherLedgerEntry.objects.filter(kind="redeem").count(),
            -sum(VoucherLedgerEntry.objects.filter(kind="redeem").values_list("amount", flat=True)),
        )

    totals, states, redeem_entries, redeemed = committed(final_state, schema)
    assert all(balance >= 0 for balance, _ in totals.values())
    assert all(balance == ledger_sum for balance, ledger_sum in totals.values())
    assert paid == redeemed == 3 * INITIAL_BALANCE - sum(balance for balance, _ in states)
    assert redeem_entries == debits
    assert all(status == ("exhausted" if balance == 0 else "active") for balance, status in states)
