"""Which commission plan is in force, and the rounding rule.

Rounding: a payment's commission is `amount * bps / 10 000 + fixed_fee`, the percentage part
rounded once, half-up, to the currency's minor unit, and capped at the payment amount (a sale
never costs more than it brought in). A refund's credit is proportional and cumulative:
after refunds totalling R of a payment of amount A whose commission was C, the credits add up
to exactly round_half_up(C * R / A); each refund's credit is that figure minus the credits
already given. So several partial refunds never reverse more than C, and a full refund
reverses exactly C."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing.models import CommissionPlan
from superpayment.pipeline import Statement
from superpayment.prepared import model_columns, model_from_row, prepared_fetch_one
from tenants.models import Merchant

# Used when no plan row matches at all (not even the any-currency default).
FALLBACK_BPS = 150
FALLBACK_PLAN_NAME = "Standard"


@dataclass(frozen=True, slots=True)
class PlanTerms:
    plan: CommissionPlan | None
    name: str
    bps: int
    fixed_fee: int


def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for numerator ≥ 0 and denominator > 0."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def commission_compute(*, amount: int, bps: int, fixed_fee: int) -> int:
    return min(amount, div_half_up(amount * bps, 10_000) + fixed_fee)


def reversal_cumulative(*, commission: int, payment_amount: int, refunded_total: int) -> int:
    """Total credit owed after `refunded_total` of the payment was refunded."""
    refunded_total = min(refunded_total, payment_amount)
    return div_half_up(commission * refunded_total, payment_amount)


# The rank of plan_in_force's docstring, then the latest `effective_from` (and id): one row, as
# one prepared statement, since every payment asks (superpayment.prepared).
_PLAN_IN_FORCE_SQL = f"""
SELECT {model_columns(CommissionPlan, "p")}
  FROM {{public}}.{CommissionPlan._meta.db_table} p
 WHERE (p.merchant_id = %(merchant)s OR p.merchant_id IS NULL)
   AND (p.currency = %(currency)s OR p.currency = '')
   AND p.effective_from <= %(at)s
   AND (p.effective_to IS NULL OR p.effective_to > %(at)s)
 ORDER BY p.merchant_id IS NULL, p.currency = '', p.effective_from DESC, p.id DESC
 LIMIT 1
"""  # noqa: S608 - table and column names from model meta; values are bound


def plan_in_force(*, merchant: Merchant, currency: str, at: datetime) -> PlanTerms:
    """The merchant's own plan for the currency, else its any-currency plan, else the default
    plan for the currency, else the default any-currency plan (no fixed fee); the latest
    `effective_from` wins among plans in force at `at`."""
    row = prepared_fetch_one(
        _PLAN_IN_FORCE_SQL, {"merchant": merchant.pk, "currency": currency, "at": at}
    )
    if row is None:
        return PlanTerms(plan=None, name=FALLBACK_PLAN_NAME, bps=FALLBACK_BPS, fixed_fee=0)
    plan = model_from_row(CommissionPlan, row)
    return PlanTerms(plan=plan, name=plan.name, bps=plan.bps, fixed_fee=plan.fixed_fee)


# Every plan in force for the merchant at `at`, in any currency, in plan_in_force's rank: a
# payment reads them in its first round trip, before it knows its session's currency
# (`plan_terms_choose` picks). A handful of rows: the merchant's plans and the defaults.
_PLANS_IN_FORCE_SQL = f"""
SELECT {model_columns(CommissionPlan, "p")}
  FROM {{public}}.{CommissionPlan._meta.db_table} p
 WHERE (p.merchant_id = %(merchant)s OR p.merchant_id IS NULL)
   AND p.effective_from <= %(at)s
   AND (p.effective_to IS NULL OR p.effective_to > %(at)s)
 ORDER BY p.merchant_id IS NULL, p.currency = '', p.effective_from DESC, p.id DESC
"""  # noqa: S608 - table and column names from model meta; values are bound


def plans_in_force_statement(*, merchant: Merchant, at: datetime) -> Statement:
    return Statement(_PLANS_IN_FORCE_SQL, {"merchant": merchant.pk, "at": at})


def plan_terms_choose(rows: list[tuple], *, currency: str) -> PlanTerms:
    """plan_in_force's answer for `currency`, from the rows of `plans_in_force_statement`."""
    for row in rows:
        plan = model_from_row(CommissionPlan, row)
        if plan.currency in (currency, ""):
            return PlanTerms(plan=plan, name=plan.name, bps=plan.bps, fixed_fee=plan.fixed_fee)
    return PlanTerms(plan=None, name=FALLBACK_PLAN_NAME, bps=FALLBACK_BPS, fixed_fee=0)
