"""The only code that changes a voucher's balance. Every change writes a ledger entry with the
resulting balance and raises the voucher's version, in the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from superpayment.money import MoneyError, currency_validate
from vouchers.codes import (
    DEFAULT_RANDOM_LENGTH,
    code_generate,
    code_import_validate,
    code_last4,
    code_normalise,
)
from vouchers.errors import VoucherError, VoucherErrorCode, voucher_not_redeemable
from vouchers.locks import (
    voucher_debit,
    voucher_debit_by_code,
    voucher_locked,
    vouchers_due_for_expiry_locked,
)
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.redemption import (
    RedemptionPlan,
    VoucherTender,
    redemption_plan,
    redemption_refusal,
    voucher_is_usable,
)
from vouchers.rules import (
    voucher_metadata_validate,
    voucher_redemption_limit,
    voucher_rules_validate,
)
from vouchers.selectors import voucher_creditable_for_reference, vouchers_by_code

log = structlog.get_logger(__name__)

EXPIRY_BATCH_SIZE = 500
BULK_BATCH_SIZE = 5_000
BULK_MAX_COUNT = 100_000
MAX_AMOUNT = 10**13
MAX_TENDERS = 10
REDEEM_ATTEMPTS = 3
CODE_ATTEMPTS = 5
TEXT_MAX_LENGTH = 64
REASON_MAX_LENGTH = 500
CLOSED_STATUSES = (Voucher.Status.DISABLED, Voucher.Status.EXPIRED)


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


# --- validation ---------------------------------------------------------------------------------


def _amount_validate(amount: Any, *, param: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise VoucherError(
            VoucherErrorCode.AMOUNT_INVALID,
            f"An amount is a whole number of minor units from 1 to {MAX_AMOUNT}.",
            param=param,
        )
    return amount


def _currency_validate(currency: str) -> str:
    try:
        return currency_validate(currency)
    except MoneyError as exc:
        raise VoucherError(VoucherErrorCode.CURRENCY_INVALID, str(exc), param="currency") from exc


def _text_validate(
    value: str, *, param: str, max_length: int, required_code: VoucherErrorCode | None = None
) -> str:
    clean = (value or "").strip()
    if (required_code and not clean) or len(clean) > max_length:
        raise VoucherError(
            required_code or VoucherErrorCode.REFERENCE_INVALID,
            f"{param} is {1 if required_code else 0} to {max_length} characters.",
            param=param,
        )
    return clean


def _issue_terms(
    *,
    currency: str,
    amount: int,
    livemode: bool,
    valid_from: datetime.datetime | None,
    expires_at: datetime.datetime | None,
    rules: dict | None,
    metadata: dict | None,
    created_by: int | None,
) -> dict[str, Any]:
    amount = _amount_validate(amount)
    if expires_at is not None and expires_at <= timezone.now():
        raise VoucherError(
            VoucherErrorCode.VALIDITY_INVALID,
            "The expiry must be in the future.",
            param="expires_at",
        )
    if valid_from is not None and expires_at is not None and valid_from >= expires_at:
        raise VoucherError(
            VoucherErrorCode.VALIDITY_INVALID,
            "The voucher must become valid before it expires.",
            param="valid_from",
        )
    return {
        "currency": _currency_validate(currency),
        "initial_amount": amount,
        "balance": amount,
        "livemode": livemode,
        "valid_from": valid_from,
        "expires_at": expires_at,
        "rules": voucher_rules_validate(rules),
        "metadata": voucher_metadata_validate(metadata),
        "created_by": created_by,
    }


def _is_code_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return "code" in (getattr(diag, "constraint_name", "") or "")


def _ledger_write(
    voucher: Voucher, *, kind: str, amount: int, balance_after: int, **details: Any
) -> VoucherLedgerEntry:
    return VoucherLedgerEntry.objects.create(
        voucher=voucher, kind=kind, amount=amount, balance_after=balance_after, **details
    )


# --- issuing ------------------------------------------------------------------------------------


def voucher_issue(
    *,
    currency: str,
    amount: int,
    livemode: bool = False,
    code: str | None = None,
    prefix: str = "",
    length: int = DEFAULT_RANDOM_LENGTH,
    valid_from: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    rules: dict | None = None,
    metadata: dict | None = None,
    created_by: int | None = None,
) -> Voucher:
    """Issue one voucher with a generated code (`prefix` + `length` random symbols), or with
    `code` when the merchant brings codes from another system."""
    terms = _issue_terms(
        currency=currency,
        amount=amount,
        livemode=livemode,
        valid_from=valid_from,
        expires_at=expires_at,
        rules=rules,
        metadata=metadata,
        created_by=created_by,
    )
    imported = code_import_validate(code) if code is not None else None
    for _ in range(CODE_ATTEMPTS):
        candidate = imported or code_generate(prefix=prefix, length=length)
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create(code=candidate, **terms)
                _ledger_write(
                    voucher,
                    kind=VoucherLedgerEntry.Kind.ISSUE,
                    amount=voucher.balance,
                    balance_after=voucher.balance,
                    actor=created_by,
                )
            return voucher
        except IntegrityError as exc:
            if not _is_code_conflict(exc):
                raise
            if imported:
                raise VoucherError(
                    VoucherErrorCode.CODE_TAKEN,
                    "This voucher code is already in use.",
                    param="code",
                ) from exc
    raise VoucherError(VoucherErrorCode.CODE_TAKEN, "Could not find a free code; try a longer one.")


def _fresh_codes(*, count: int, prefix: str, length: int, seen: set[str]) -> list[str]:
    """`count` new codes, distinct from each other, from `seen` and from every stored code."""
    codes: set[str] = set()
    for _ in range(CODE_ATTEMPTS):
        while len(codes) < count:
            candidate = code_generate(prefix=prefix, length=length)
            if candidate not in seen:
                codes.add(candidate)
        taken = set(Voucher.objects.filter(code__in=codes).values_list("code", flat=True))
        if not taken:
            seen.update(codes)
            return list(codes)
        codes -= taken
        seen.update(taken)
    raise VoucherError(VoucherErrorCode.CODE_TAKEN, "Could not find free codes; try longer ones.")


@transaction.atomic
def voucher_issue_bulk(
    *,
    count: int,
    currency: str,
    amount: int,
    livemode: bool = False,
    prefix: str = "",
    length: int = DEFAULT_RANDOM_LENGTH,
    valid_from: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    rules: dict | None = None,
    metadata: dict | None = None,
    created_by: int | None = None,
    batch_size: int = BULK_BATCH_SIZE,
) -> list[Voucher]:
    """Issue `count` vouchers on the same terms, all or none, inserted in batches."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= BULK_MAX_COUNT:
        raise VoucherError(
            VoucherErrorCode.COUNT_INVALID,
            f"Issue 1 to {BULK_MAX_COUNT} vouchers at a time.",
            param="count",
        )
    terms = _issue_terms(
        currency=currency,
        amount=amount,
        livemode=livemode,
        valid_from=valid_from,
        expires_at=expires_at,
        rules=rules,
        metadata=metadata,
        created_by=created_by,
    )
    code_generate(prefix=prefix, length=length)  # refuses a weak prefix/length before any work
    issued: list[Voucher] = []
    seen: set[str] = set()
    for start in range(0, count, batch_size):
        codes = _fresh_codes(
            count=min(batch_size, count - start), prefix=prefix, length=length, seen=seen
        )
        vouchers = Voucher.objects.bulk_create([Voucher(code=code, **terms) for code in codes])
        VoucherLedgerEntry.objects.bulk_create(
            [
                VoucherLedgerEntry(
                    voucher=voucher,
                    kind=VoucherLedgerEntry.Kind.ISSUE,
                    amount=voucher.balance,
                    balance_after=voucher.balance,
                    actor=created_by,
                )
                for voucher in vouchers
            ]
        )
        issued.extend(vouchers)
    log.info("vouchers_issued_bulk", count=count, currency=terms["currency"])
    return issued


# --- redeeming ----------------------------------------------------------------------------------


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
    amount = _amount_validate(amount)
    currency = _currency_validate(currency)
    reference = _text_validate(
        reference,
        param="reference",
        max_length=TEXT_MAX_LENGTH,
        required_code=VoucherErrorCode.REFERENCE_INVALID,
    )
    order_id = _text_validate(order_id, param="order_id", max_length=TEXT_MAX_LENGTH)
    parsed = [VoucherTender.parse(tender, index=i) for i, tender in enumerate(tenders)]
    if not 1 <= len(parsed) <= MAX_TENDERS:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            f"Pay with 1 to {MAX_TENDERS} voucher codes.",
            param="tenders",
        )
    for tender in parsed:
        if tender.amount is not None:
            _amount_validate(tender.amount, param=f"{tender.param}.amount")
        if sum(other.code == tender.code for other in parsed) > 1:
            raise VoucherError(
                VoucherErrorCode.VOUCHER_DUPLICATE,
                "The same voucher code is given twice.",
                param=tender.param,
            )
    now = now or timezone.now()
    if len(parsed) == 1 and parsed[0].amount in (None, amount):
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
    wanted = _currency_validate(currency) if currency else None
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


# --- credits, adjustments, void, expiry ----------------------------------------------------------


def _locked_or_404(*, voucher_id: str, livemode: bool) -> Voucher:
    voucher = voucher_locked(public_id=voucher_id, livemode=livemode)
    if voucher is None:
        raise VoucherError(
            VoucherErrorCode.VOUCHER_NOT_FOUND, "No such voucher.", param="voucher_id"
        )
    return voucher


def _refuse_closed(voucher: Voucher, now: datetime.datetime) -> None:
    expired = voucher.expires_at is not None and voucher.expires_at <= now
    if voucher.status in CLOSED_STATUSES or expired:
        raise VoucherError(
            VoucherErrorCode.VOUCHER_CLOSED,
            f"Voucher …{voucher.code_last4} is {'expired' if expired else voucher.status}; "
            "its balance can no longer change.",
            param="voucher_id",
        )


def _balance_move(voucher: Voucher, *, change: int, kind: str, **details: Any) -> Voucher:
    """Apply a signed change to a voucher locked by the caller, with its ledger entry."""
    balance_after = voucher.balance + change
    if balance_after < 0:
        raise VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"Voucher …{voucher.code_last4} holds {voucher.balance}, less than {-change}.",
            param="amount",
        )
    status = voucher.status
    if voucher.status in (Voucher.Status.ACTIVE, Voucher.Status.EXHAUSTED):
        status = Voucher.Status.ACTIVE if balance_after > 0 else Voucher.Status.EXHAUSTED
    Voucher.objects.filter(pk=voucher.pk).update(
        balance=F("balance") + change,
        status=status,
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    _ledger_write(voucher, kind=kind, amount=change, balance_after=balance_after, **details)
    voucher.refresh_from_db()
    return voucher


@transaction.atomic
def voucher_credit(
    *,
    voucher_id: str,
    amount: int,
    reference: str,
    livemode: bool,
    reason: str = "",
    actor: int | None = None,
) -> Voucher:
    """Give back (a refund) part or all of what was redeemed from this voucher for `reference`,
    never more than that, across all credits for the reference."""
    amount = _amount_validate(amount)
    reference = _text_validate(
        reference,
        param="reference",
        max_length=TEXT_MAX_LENGTH,
        required_code=VoucherErrorCode.REFERENCE_INVALID,
    )
    reason = _text_validate(reason, param="reason", max_length=REASON_MAX_LENGTH)
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    _refuse_closed(voucher, timezone.now())
    # Under the row lock, so two concurrent credits for one reference see each other.
    creditable = voucher_creditable_for_reference(voucher=voucher, reference=reference)
    if amount > creditable:
        raise VoucherError(
            VoucherErrorCode.CREDIT_EXCEEDS_REDEEMED,
            f"Only {creditable} of what was redeemed for {reference} can still be credited.",
            param="amount",
        )
    return _balance_move(
        voucher,
        change=amount,
        kind=VoucherLedgerEntry.Kind.REFUND_CREDIT,
        reference=reference,
        reason=reason,
        actor=actor,
    )


@transaction.atomic
def voucher_adjust(
    *, voucher_id: str, amount: int, reason: str, actor: int | None, livemode: bool
) -> Voucher:
    """A manual correction by merchant staff: signed amount, a reason, and who did it."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise VoucherError(
            VoucherErrorCode.AMOUNT_INVALID,
            "An adjustment is a non-zero whole number of minor units.",
            param="amount",
        )
    _amount_validate(abs(amount))
    reason = _text_validate(
        reason,
        param="reason",
        max_length=REASON_MAX_LENGTH,
        required_code=VoucherErrorCode.REASON_REQUIRED,
    )
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    _refuse_closed(voucher, timezone.now())
    return _balance_move(
        voucher, change=amount, kind=VoucherLedgerEntry.Kind.ADJUSTMENT, reason=reason, actor=actor
    )


@transaction.atomic
def voucher_void(
    *, voucher_id: str, livemode: bool, reason: str = "", actor: int | None = None
) -> Voucher:
    """Cancel a voucher for good: its balance leaves by a ledger entry and it is disabled.
    Voiding a voided voucher changes nothing."""
    reason = _text_validate(reason, param="reason", max_length=REASON_MAX_LENGTH)
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    if voucher.status == Voucher.Status.DISABLED:
        return voucher
    if voucher.status == Voucher.Status.EXPIRED:
        _refuse_closed(voucher, timezone.now())
    voucher.status = Voucher.Status.DISABLED  # _balance_move keeps a closed status as it is
    return _balance_move(
        voucher,
        change=-voucher.balance,
        kind=VoucherLedgerEntry.Kind.VOID,
        reason=reason,
        actor=actor,
    )


def voucher_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every active voucher past its expiry: its remaining balance leaves by a ledger
    entry. Batches commit one by one; rows another transaction holds are left for the next run.
    Running it twice expires nothing twice (only active vouchers are picked)."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(vouchers_due_for_expiry_locked(now=now, limit=EXPIRY_BATCH_SIZE))
            VoucherLedgerEntry.objects.bulk_create(
                VoucherLedgerEntry(
                    voucher=voucher,
                    kind=VoucherLedgerEntry.Kind.EXPIRY,
                    amount=-voucher.balance,
                    balance_after=0,
                )
                for voucher in due
            )
            Voucher.objects.filter(pk__in=[voucher.pk for voucher in due]).update(
                balance=0, status=Voucher.Status.EXPIRED, version=F("version") + 1, updated_at=now
            )
        expired += len(due)
        if len(due) < EXPIRY_BATCH_SIZE:
            break
    if expired:
        log.info("vouchers_expired", count=expired)
    return expired
