"""The voucher services: the only code that changes a voucher's balance. Every change writes a
ledger entry with the resulting balance and raises the voucher's version, in the same transaction.

This module holds redemption (the hot path) and the balance check by code; issuing lives in
vouchers.issuing, the other balance changes and updates in vouchers.balance_changes. Every
service is importable from here.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from django.db import transaction
from django.utils import timezone

from vouchers.balance_changes import (
    CLOSED_STATUSES,
    EXPIRY_BATCH_SIZE,
    UNSET,
    voucher_adjust,
    voucher_credit,
    voucher_expire_due,
    voucher_update,
    voucher_void,
)
from vouchers.codes import code_last4, code_normalise
from vouchers.errors import VoucherError, VoucherErrorCode, voucher_not_redeemable
from vouchers.events import VOUCHER_EXHAUSTED, voucher_event_record
from vouchers.issuing import (
    BULK_BATCH_SIZE,
    BULK_MAX_COUNT,
    CODE_ATTEMPTS,
    voucher_issue,
    voucher_issue_bulk,
)
from vouchers.locks import voucher_debit, voucher_debit_by_code
from vouchers.models import Voucher
from vouchers.redemption import (
    RedemptionPlan,
    VoucherTender,
    redemption_plan,
    redemption_refusal,
    voucher_is_usable,
)
from vouchers.rules import voucher_redemption_limit
from vouchers.selectors import vouchers_by_code
from vouchers.validation import (
    MAX_AMOUNT,
    REASON_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    amount_validate,
    reference_validate,
    text_validate,
    voucher_currency_validate,
)

__all__ = [
    "BULK_BATCH_SIZE",
    "BULK_MAX_COUNT",
    "CLOSED_STATUSES",
    "CODE_ATTEMPTS",
    "EXPIRY_BATCH_SIZE",
    "MAX_AMOUNT",
    "MAX_TENDERS",
    "REASON_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "UNSET",
    "VoucherBalance",
    "VoucherDebit",
    "voucher_adjust",
    "voucher_balance",
    "voucher_credit",
    "voucher_expire_due",
    "voucher_issue",
    "voucher_issue_bulk",
    "voucher_redeem",
    "voucher_update",
    "voucher_void",
]

log = structlog.get_logger(__name__)

MAX_TENDERS = 10
REDEEM_ATTEMPTS = 3


@dataclass(frozen=True)
class VoucherDebit:
    voucher_id: str
    code_last4: str
    amount: int
    balance_after: int
    version: int


@dataclass(frozen=True)
class VoucherBalance:
    code_last4: str
    balance: int
    currency: str
    expires_at: datetime.datetime | None


# --- redeeming ----------------------------------------------------------------------------------


def _exhausted_events_record(voucher_ids: list[str]) -> None:
    """voucher.exhausted for each voucher a redemption emptied (a partial redemption sends no
    voucher event: the payment's own event reports it)."""
    if voucher_ids:
        for voucher in Voucher.objects.filter(public_id__in=voucher_ids).order_by("pk"):
            voucher_event_record(voucher=voucher, event_type=VOUCHER_EXHAUSTED)


class _BalanceMoved(Exception):
    """A concurrent payment changed a balance the plan relied on; plan again."""


def _redeem_once(
    *,
    tenders: list[VoucherTender],
    amount: int,
    currency: str,
    livemode: bool,
    reference: str,
    order_id: str,
    now: datetime.datetime,
    last_attempt: bool,
) -> list[VoucherDebit]:
    vouchers = vouchers_by_code(codes=[tender.code for tender in tenders], livemode=livemode)
    plan: RedemptionPlan = redemption_plan(
        tenders=tenders,
        vouchers=vouchers,
        amount=amount,
        currency=currency,
        order_id=order_id,
        now=now,
    )
    outcomes = {}
    for step in sorted(plan.steps, key=lambda step: step.voucher.pk):  # pk order: no deadlock
        outcome = voucher_debit(
            pk=step.voucher.pk,
            amount=step.amount,
            redemption_limit=voucher_redemption_limit(step.voucher.rules),
            reference=reference,
            order_id=order_id,
            now=now,
        )
        if outcome is None:
            refusal = redemption_refusal(
                voucher=Voucher.objects.get(pk=step.voucher.pk),
                tender=step.tender,
                amount=step.amount,
                currency=currency,
                order_amount=amount,
                order_id=order_id,
                now=now,
            )
            # A fixed share the voucher cannot pay, or any other refusal, is final. A share
            # planned from a balance that a concurrent payment has since spent is planned again.
            replan = refusal is None or (
                refusal.code == VoucherErrorCode.INSUFFICIENT_BALANCE and step.tender.amount is None
            )
            if replan and not last_attempt:
                raise _BalanceMoved
            raise refusal or VoucherError(
                VoucherErrorCode.INSUFFICIENT_BALANCE,
                f"Voucher …{step.voucher.code_last4} changed during the payment; try again.",
                param=step.tender.param,
            )
        outcomes[step.voucher.pk] = outcome
    return [
        VoucherDebit(
            voucher_id=step.voucher.public_id,
            code_last4=code_last4(step.voucher.code),
            amount=step.amount,
            balance_after=outcomes[step.voucher.pk].balance_after,
            version=outcomes[step.voucher.pk].version,
        )
        for step in plan.steps
    ]


def voucher_redeem(
    *,
    tenders: Sequence[VoucherTender | str],
    amount: int,
    currency: str,
    livemode: bool,
    reference: str,
    order_id: str = "",
    now: datetime.datetime | None = None,
) -> list[VoucherDebit]:
    """Pay `amount` with one or several vouchers: every voucher is debited or none is.

    A tender with an amount pays exactly that; tenders without one pay what is still due, in
    the order given, each up to its balance. Returns the debits in the order of the tenders
    (a tender not needed for the amount is left out).
    """
    amount = amount_validate(amount)
    currency = voucher_currency_validate(currency)
    reference = reference_validate(reference)
    order_id = text_validate(order_id, param="order_id", max_length=TEXT_MAX_LENGTH)
    parsed = [VoucherTender.parse(tender, index=i) for i, tender in enumerate(tenders)]
    if not 1 <= len(parsed) <= MAX_TENDERS:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            f"Pay with 1 to {MAX_TENDERS} voucher codes.",
            param="tenders",
        )
    for tender in parsed:
        if tender.amount is not None:
            amount_validate(tender.amount, param=f"{tender.param}.amount")
        if sum(other.code == tender.code for other in parsed) > 1:
            raise VoucherError(
                VoucherErrorCode.VOUCHER_DUPLICATE,
                "The same voucher code is given twice.",
                param=tender.param,
            )
    now = now or timezone.now()
    if len(parsed) == 1 and parsed[0].amount in (None, amount):
        # One statement, committed by itself outside a transaction. It never empties the
        # voucher, so it never owes a voucher.exhausted event: that debit takes the path below.
        fast = voucher_debit_by_code(
            code=parsed[0].code,
            livemode=livemode,
            currency=currency,
            amount=amount,
            reference=reference,
            order_id=order_id,
            now=now,
        )
        if fast is not None:
            return [
                VoucherDebit(
                    voucher_id=fast.public_id,
                    code_last4=code_last4(fast.code),
                    amount=amount,
                    balance_after=fast.balance_after,
                    version=fast.version,
                )
            ]
        # Refused (or changed since): the general path below finds and names the reason.
    for attempt in range(1, REDEEM_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                debits = _redeem_once(
                    tenders=parsed,
                    amount=amount,
                    currency=currency,
                    livemode=livemode,
                    reference=reference,
                    order_id=order_id,
                    now=now,
                    last_attempt=attempt == REDEEM_ATTEMPTS,
                )
                _exhausted_events_record(
                    [debit.voucher_id for debit in debits if debit.balance_after == 0]
                )
        except _BalanceMoved:
            continue
        return debits
    raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover


def voucher_balance(
    *, code: str, livemode: bool, currency: str | None = None, now: datetime.datetime | None = None
) -> VoucherBalance:
    """What a shopper may still spend with a code. Unknown, disabled, expired and
    other-currency codes all answer the same error."""
    normalised = code_normalise(code)
    voucher = vouchers_by_code(codes=[normalised], livemode=livemode).get(normalised)
    wanted = voucher_currency_validate(currency) if currency else None
    if voucher is None or not voucher_is_usable(
        voucher, currency=wanted, now=now or timezone.now()
    ):
        raise voucher_not_redeemable("code")
    return VoucherBalance(
        code_last4=voucher.code_last4,
        balance=voucher.balance,
        currency=voucher.currency,
        expires_at=voucher.expires_at,
    )
