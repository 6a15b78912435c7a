"""Deciding a redemption: which vouchers pay how much, and why a voucher cannot pay.

Pure functions over vouchers already read; vouchers.services applies the plan under locks.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from superpayment.money import amount_format
from vouchers.codes import code_normalise
from vouchers.errors import VoucherError, VoucherErrorCode, voucher_not_redeemable
from vouchers.models import Voucher
from vouchers.rules import voucher_redemption_limit

# Statuses a code may be looked up in; exhausted vouchers exist but hold nothing.
USABLE_STATUSES = (Voucher.Status.ACTIVE, Voucher.Status.EXHAUSTED)


@dataclass(frozen=True)
class VoucherTender:
    """One voucher offered for a payment: `amount` fixed, or None for "what is still due"."""

    code: str
    amount: int | None = None
    param: str = field(default="tenders[0]", compare=False)

    @classmethod
    def parse(cls, tender: VoucherTender | str, *, index: int) -> VoucherTender:
        code, amount = (tender, None) if isinstance(tender, str) else (tender.code, tender.amount)
        return cls(code=code_normalise(code), amount=amount, param=f"tenders[{index}]")


@dataclass(frozen=True)
class RedemptionStep:
    tender: VoucherTender
    voucher: Voucher
    amount: int


@dataclass(frozen=True)
class RedemptionPlan:
    steps: list[RedemptionStep]


def voucher_is_usable(voucher: Voucher, *, currency: str | None, now: datetime.datetime) -> bool:
    """Exists for the shopper: not disabled or expired, inside its validity window, and in the
    payment's currency. Every `False` answers the same uniform error."""
    return (
        voucher.status in USABLE_STATUSES
        and (currency is None or voucher.currency == currency)
        and (voucher.valid_from is None or voucher.valid_from <= now)
        and (voucher.expires_at is None or voucher.expires_at > now)
    )


def redemption_refusal(
    *,
    voucher: Voucher | None,
    tender: VoucherTender,
    amount: int,
    currency: str,
    order_amount: int,
    order_id: str,
    now: datetime.datetime,
) -> VoucherError | None:
    """Why `voucher` cannot pay `amount` of an order of `order_amount`; None when it can."""
    if voucher is None or not voucher_is_usable(voucher, currency=currency, now=now):
        return voucher_not_redeemable(tender.param)
    rules, last4 = voucher.rules, voucher.code_last4
    # A rule that fails answers like an unknown code (and counts against the guessing
    # throttles), so a guess learns nothing from it. The one exception is the minimum order,
    # which the shopper can act on: same code, a message with the minimum in the currency's
    # format. (docs/vouchers.md, "Guessing codes".)
    if order_amount < rules.get("min_order_amount", 0):
        minimum = amount_format(rules["min_order_amount"], voucher.currency)
        return VoucherError(
            VoucherErrorCode.VOUCHER_NOT_REDEEMABLE,
            f"This voucher code can only pay an order of at least {minimum}.",
            param=tender.param,
        )
    prefix = rules.get("order_id_prefix")
    if prefix is not None and not order_id.startswith(prefix):
        return voucher_not_redeemable(tender.param)
    if voucher.redemption_count >= voucher_redemption_limit(rules):
        return voucher_not_redeemable(tender.param)
    if voucher.balance < amount:
        return VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"Voucher …{last4} holds {voucher.balance}, less than {amount}.",
            param=tender.param,
        )
    return None


def redemption_plan(
    *,
    tenders: list[VoucherTender],
    vouchers: dict[str, Voucher],
    amount: int,
    currency: str,
    order_id: str,
    now: datetime.datetime,
) -> RedemptionPlan:
    """Split `amount` over the tenders, or raise the first tender's refusal."""
    for tender in tenders:
        refusal = redemption_refusal(
            voucher=vouchers.get(tender.code),
            tender=tender,
            amount=tender.amount or 0,
            currency=currency,
            order_amount=amount,
            order_id=order_id,
            now=now,
        )
        if refusal is not None:
            raise refusal
    fixed_total = sum(tender.amount for tender in tenders if tender.amount is not None)
    open_tenders = [tender for tender in tenders if tender.amount is None]
    if fixed_total > amount or (not open_tenders and fixed_total != amount):
        raise VoucherError(
            VoucherErrorCode.AMOUNT_MISMATCH,
            f"The voucher amounts add up to {fixed_total}, not {amount}.",
            param="tenders",
        )
    remaining = amount - fixed_total
    shares: dict[str, int] = {}
    for tender in open_tenders:
        shares[tender.code] = min(vouchers[tender.code].balance, remaining)
        remaining -= shares[tender.code]
    if remaining:
        last = open_tenders[-1]
        raise VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"The vouchers cover {amount - remaining} of {amount}; "
            f"voucher …{vouchers[last.code].code_last4} holds no more.",
            param=last.param,
        )
    steps = []
    for tender in tenders:
        share = tender.amount if tender.amount is not None else shares[tender.code]
        if share:
            steps.append(RedemptionStep(tender=tender, voucher=vouchers[tender.code], amount=share))
    return RedemptionPlan(steps=steps)
