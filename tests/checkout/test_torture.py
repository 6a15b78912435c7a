"""A bounded round of the checkout torture (bench/torture.py): shoppers on their own connections
race sessions, split tender, confirms and partial refunds over a few shared vouchers, then every
money invariant is checked. `make torture` runs the same for minutes, with webhooks."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.torture import (
    holds_after_expiry_check,
    invariants_check,
    shoppers_run,
    stage_prepare,
)
from checkout.models import Payment
from tenants.models import ApiKey
from tests.checkout.support import commission_entries_purge
from tests.helpers import committed

pytestmark = pytest.mark.django_db

SHOPPERS = 4
ROUNDS = 10


def _purge() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE checkout_payment, checkout_checkoutsession, vouchers_voucherhold, "
            "webhooks_event, vouchers_voucherledgerentry, vouchers_voucher CASCADE"
        )


@pytest.fixture
def stage(merchant_a):
    schema = merchant_a.schema_name
    committed(_purge, schema)
    stage = committed(lambda: stage_prepare(merchant=merchant_a))
    yield stage
    payments = committed(lambda: list(Payment.objects.values_list("public_id", flat=True)), schema)
    committed(_purge, schema)
    committed(lambda: commission_entries_purge(payments))
    committed(lambda: ApiKey.objects.filter(merchant=merchant_a, name="Torture").delete())


def test_torture_round_keeps_every_invariant(merchant_a, stage):
    report = shoppers_run(stage, threads=SHOPPERS, rounds=ROUNDS)

    violations = committed(
        lambda: invariants_check(schema=stage.schema, merchant_id=merchant_a.pk)
    ) + committed(lambda: holds_after_expiry_check(schema=stage.schema))
    print("\n".join(report.lines()))  # shown when the test fails
    assert report.server_errors == []
    assert violations == []
    # The round did race: payments, split tenders and refunds all happened.
    assert report.outcomes["confirm 200"] > 0
    assert report.outcomes["refund 201"] + report.outcomes["refund 200"] > 0
    assert report.attempts["add"] > report.attempts["confirm"]


def test_the_checker_finds_a_broken_balance_and_a_lost_event(merchant_a, stage):
    shoppers_run(stage, threads=2, rounds=3)

    def corrupt() -> str:
        from vouchers.models import Voucher
        from webhooks.models import Event

        voucher = Voucher.objects.order_by("pk").first()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE vouchers_voucher SET balance = balance + 1 WHERE id = %s", [voucher.pk]
            )
        Event.objects.filter(type="payment.succeeded").order_by("pk")[:1].get().delete()
        return voucher.public_id

    voucher_id = committed(corrupt, stage.schema)
    violations = committed(lambda: invariants_check(schema=stage.schema, merchant_id=merchant_a.pk))

    assert any(v.startswith(f"voucher {voucher_id}: balance") for v in violations), violations
    assert any(v.endswith(": 0 events") for v in violations), violations
