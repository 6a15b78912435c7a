"""Commission ledger services, called by checkout (payments) and refunds inside their own
transaction, so the ledger row commits or rolls back with the sale it records.

    commission_record_payment(merchant=…, payment_id="pay_…", amount=9900, currency="EUR",
                              livemode=True, occurred_at=now)
    commission_record_refund(merchant=…, payment_id="pay_…", refund_id="re_…",
                             refunded_amount=2000, currency="EUR", livemode=True,
                             occurred_at=now)

Both are idempotent (per payment id, per refund id). The rounding rule is in billing.plans.
Test-mode entries are recorded and never invoiced.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Sum

from billing.errors import BillingError, BillingErrorCode
from billing.models import CommissionEntry
from billing.plans import PlanTerms, commission_compute, plan_in_force, reversal_cumulative
from superpayment.pipeline import Statement
from superpayment.prepared import (
    model_insert_clause,
    model_insert_values,
    model_inserted,
    prepared_fetch_one,
)
from tenants.models import Merchant

__all__ = ["commission_payment_statement", "commission_record_payment", "commission_record_refund"]


def _check(amount: int, currency: str, occurred_at: datetime) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise BillingError(BillingErrorCode.AMOUNT_INVALID, "Amount must be a positive integer.")
    if len(currency) != 3 or not currency.isupper():
        raise BillingError(BillingErrorCode.CURRENCY_MISMATCH, f"{currency!r} is no currency.")
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")


def commission_payment_statement(
    *,
    merchant: Merchant,
    payment_id: str,
    amount: int,
    currency: str,
    livemode: bool,
    occurred_at: datetime,
    terms: PlanTerms,
) -> tuple[CommissionEntry, Statement]:
    """The commission entry of one successful payment under `terms` (the plan in force, read by
    the caller with `plans_in_force_statement`), and the statement that writes it: for a payer
    that sends it with the rest of its transaction. The payment id is new, so the insert's
    ON CONFLICT never fires here; recording a payment twice is `commission_record_payment`'s."""
    _check(amount, currency, occurred_at)
    entry = _entry_new(
        merchant=merchant,
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        livemode=livemode,
        occurred_at=occurred_at,
        terms=terms,
    )
    return entry, Statement(_ENTRY_INSERT_SQL, model_insert_values(entry))


def _entry_new(*, merchant, payment_id, amount, currency, livemode, occurred_at, terms):
    return CommissionEntry(
        merchant=merchant,
        kind=CommissionEntry.Kind.CHARGE,
        payment_id=payment_id,
        currency=currency,
        livemode=livemode,
        occurred_at=occurred_at,
        base_amount=amount,
        amount=commission_compute(amount=amount, bps=terms.bps, fixed_fee=terms.fixed_fee),
        plan=terms.plan,
        plan_name=terms.name,
        bps=terms.bps,
        fixed_fee=terms.fixed_fee,
    )


def commission_record_payment(
    *,
    merchant: Merchant,
    payment_id: str,
    amount: int,
    currency: str,
    livemode: bool,
    occurred_at: datetime,
) -> CommissionEntry:
    """Write the commission of one successful payment, with the plan in force copied onto it.
    Recording the same payment again returns the first entry unchanged.

    Two prepared statements on the payment path and no savepoint: the plan, and an insert that
    skips a payment which already has its entry (ON CONFLICT DO NOTHING cannot fail on the
    duplicate); only then is the first entry read."""
    _check(amount, currency, occurred_at)
    terms = plan_in_force(merchant=merchant, currency=currency, at=occurred_at)
    entry = _entry_new(
        merchant=merchant,
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        livemode=livemode,
        occurred_at=occurred_at,
        terms=terms,
    )
    # A concurrent call for the same payment waits on the unique index, then finds the row.
    inserted = prepared_fetch_one(_ENTRY_INSERT_SQL, model_insert_values(entry))
    if inserted is None:
        return CommissionEntry.objects.get(
            merchant=merchant, kind=CommissionEntry.Kind.CHARGE, payment_id=payment_id
        )
    return model_inserted(entry, inserted[0])


_ENTRY_INSERT_SQL = f"""
INSERT INTO {{public}}.{CommissionEntry._meta.db_table} {model_insert_clause(CommissionEntry)}
ON CONFLICT DO NOTHING
RETURNING id
"""


@transaction.atomic
def commission_record_refund(
    *,
    merchant: Merchant,
    payment_id: str,
    refund_id: str,
    refunded_amount: int,
    currency: str,
    livemode: bool,
    occurred_at: datetime,
) -> CommissionEntry:
    """Write the credit for one refund of a payment: the payment's commission in proportion to
    the refunded amount (cumulative half-up, see billing.plans). The payment's commission entry
    is locked meanwhile, so concurrent refunds of one payment never credit too much. Recording
    the same refund again returns the first entry unchanged."""
    _check(refunded_amount, currency, occurred_at)
    charge = (
        CommissionEntry.objects.select_for_update()
        .filter(merchant=merchant, kind=CommissionEntry.Kind.CHARGE, payment_id=payment_id)
        .first()
    )
    if charge is None:
        raise BillingError(
            BillingErrorCode.COMMISSION_NOT_FOUND,
            f"No commission was recorded for payment {payment_id}.",
        )
    if charge.currency != currency:
        raise BillingError(
            BillingErrorCode.CURRENCY_MISMATCH,
            f"Payment {payment_id} is in {charge.currency}, not {currency}.",
        )
    reversals = CommissionEntry.objects.filter(
        merchant=merchant, kind=CommissionEntry.Kind.REVERSAL, payment_id=payment_id
    )
    existing = reversals.filter(refund_id=refund_id).first()
    if existing is not None:
        return existing
    totals = reversals.aggregate(refunded=Sum("base_amount"), credited=Sum("amount"))
    refunded_before = totals["refunded"] or 0
    credited_before = -(totals["credited"] or 0)
    owed = reversal_cumulative(
        commission=charge.amount,
        payment_amount=charge.base_amount,
        refunded_total=refunded_before + refunded_amount,
    )
    return CommissionEntry.objects.create(
        merchant=merchant,
        kind=CommissionEntry.Kind.REVERSAL,
        payment_id=payment_id,
        refund_id=refund_id,
        currency=currency,
        # A refund follows its payment's mode: a test payment's credit is never invoiced either.
        livemode=charge.livemode and livemode,
        occurred_at=occurred_at,
        base_amount=refunded_amount,
        amount=-max(0, owed - credited_before),
        plan=charge.plan,
        plan_name=charge.plan_name,
        bps=charge.bps,
        fixed_fee=charge.fixed_fee,
    )
