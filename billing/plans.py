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

from django.db.models import Q

from billing.models import CommissionPlan
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


def plan_in_force(*, merchant: Merchant, currency: str, at: datetime) -> PlanTerms:
    """The merchant's own plan for the currency, else its any-currency plan, else the default
    plan for the currency, else the default any-currency plan (no fixed fee); the latest
    `effective_from` wins among plans in force at `at`."""
    candidates = (
        CommissionPlan.objects.filter(
            Q(merchant=merchant) | Q(merchant__isnull=True),
            Q(currency=currency) | Q(currency=""),
            effective_from__lte=at,
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=at))
        .order_by("-effective_from", "-id")
    )

    def rank(plan: CommissionPlan) -> tuple[int, int]:
        return (0 if plan.merchant_id else 1, 0 if plan.currency else 1)

    best = min(candidates, key=rank, default=None)  # min() keeps the first (latest) of a rank
    if best is None:
        return PlanTerms(plan=None, name=FALLBACK_PLAN_NAME, bps=FALLBACK_BPS, fixed_fee=0)
    return PlanTerms(plan=best, name=best.name, bps=best.bps, fixed_fee=best.fixed_fee)
