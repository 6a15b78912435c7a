"""Holds: a checkout reserves the share of each voucher it plans to spend.

A holder (a checkout session) lists one or more vouchers. Their shares are allocated soonest-
expiring first (a voucher without expiry last), each up to what is *available*: its balance
minus what other holders' unexpired holds reserve. Every change re-allocates under row locks
taken in primary-key order (`SELECT … FOR UPDATE`), so two checkouts adding the same voucher at
once see each other's holds. Redeeming the held vouchers (`voucher_holds_redeem`) debits them
through `vouchers.services.voucher_redeem` with those exact shares and drops the holds, in the
caller's transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from superpayment.prepared import model_columns, model_from_row, prepared_fetch
from vouchers.codes import code_last4, code_normalise
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.hold_models import VoucherHold
from vouchers.models import Voucher
from vouchers.redemption import VoucherTender, redemption_refusal
from vouchers.services import MAX_TENDERS, VoucherDebit, voucher_redeem

FAR_FUTURE = datetime.datetime.max.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class HeldVoucher:
    """One voucher listed by a holder: what it reserves and what it could still give."""

    voucher_id: str
    code_last4: str
    currency: str
    held: int
    available: int
    expires_at: datetime.datetime | None


@dataclass(frozen=True)
class HoldPlan:
    vouchers: list[HeldVoucher]
    amount: int

    @property
    def covered(self) -> int:
        return sum(voucher.held for voucher in self.vouchers)

    @property
    def remaining(self) -> int:
        return self.amount - self.covered


def _locked(pks: Iterable[int]) -> list[Voucher]:
    return list(Voucher.objects.select_for_update().filter(pk__in=list(pks)).order_by("pk"))


def _others_holds(*, holder: str, now: datetime.datetime) -> QuerySet[VoucherHold]:
    """Unexpired holds of holders other than `holder`: what they reserve is not available."""
    return VoucherHold.objects.filter(expires_at__gt=now).exclude(holder=holder)


def _expiry_order(voucher: Voucher) -> tuple:
    return (voucher.expires_at or FAR_FUTURE, voucher.pk)


def _shares(
    *, vouchers: list[Voucher], others: dict[int, int], amount: int
) -> list[tuple[Voucher, int, int]]:
    """Share `amount` over `vouchers`, soonest-expiring first, each up to what other holders
    leave of its balance: (voucher, share, available) in that order."""
    remaining = amount
    shares = []
    for voucher in sorted(vouchers, key=_expiry_order):
        available = max(0, voucher.balance - others.get(voucher.pk, 0))
        share = min(available, remaining)
        remaining -= share
        shares.append((voucher, share, available))
    return shares


def _plan(shares: list[tuple[Voucher, int, int]], amount: int) -> HoldPlan:
    listed = [
        HeldVoucher(
            voucher_id=voucher.public_id,
            code_last4=code_last4(voucher.code),
            currency=voucher.currency,
            held=share,
            available=available,
            expires_at=voucher.expires_at,
        )
        for voucher, share, available in shares
    ]
    return HoldPlan(vouchers=listed, amount=amount)


def _allocate(
    *,
    holder: str,
    vouchers: list[Voucher],
    amount: int,
    hold_until: datetime.datetime,
    now: datetime.datetime,
) -> HoldPlan:
    """Share `amount` over `vouchers` (locked by the caller) and store the holds."""
    others = voucher_held_elsewhere(voucher_pks=[v.pk for v in vouchers], holder=holder, now=now)
    shares = _shares(vouchers=vouchers, others=others, amount=amount)
    for voucher, share, _available in shares:
        VoucherHold.objects.update_or_create(
            voucher=voucher, holder=holder, defaults={"amount": share, "expires_at": hold_until}
        )
    return _plan(shares, amount)


# The holder's vouchers, locked in pk order, each with what other holders' unexpired holds
# reserve on it (the `_others_holds` rule, here in SQL): the confirm's first statement on
# vouchers, so it runs prepared (superpayment.prepared).
_HOLDER_VOUCHERS_LOCKED_SQL = f"""
SELECT {model_columns(Voucher, "v")},
       COALESCE((SELECT sum(h.amount)::bigint FROM {VoucherHold._meta.db_table} h
                  WHERE h.voucher_id = v.id AND h.expires_at > %(now)s
                    AND h.holder <> %(holder)s), 0)
  FROM {Voucher._meta.db_table} v
 WHERE v.id IN (SELECT voucher_id FROM {VoucherHold._meta.db_table}
                 WHERE holder = %(holder)s)
 ORDER BY v.id
   FOR UPDATE OF v
"""  # noqa: S608 - table and column names from model meta; values are bound


_HOLDS_DROP_SQL = f"""
DELETE FROM {VoucherHold._meta.db_table} WHERE holder = %(holder)s
"""  # noqa: S608 - table name from model meta; values are bound


def _holder_vouchers_locked(*, holder: str, now: datetime.datetime) -> list[Voucher]:
    """The holder's vouchers locked in pk order, each annotated with `held_elsewhere` (what other
    holders' unexpired holds reserve on it): one prepared statement."""
    vouchers = []
    for row in prepared_fetch(_HOLDER_VOUCHERS_LOCKED_SQL, {"holder": holder, "now": now}):
        voucher = model_from_row(Voucher, row)
        voucher.held_elsewhere = row[-1]
        vouchers.append(voucher)
    return vouchers


def _holder_voucher_pks(holder: str) -> list[int]:
    return list(VoucherHold.objects.filter(holder=holder).values_list("voucher_id", flat=True))


@transaction.atomic
def voucher_hold_add(
    *,
    holder: str,
    code: str,
    amount: int,
    currency: str,
    livemode: bool,
    order_id: str,
    hold_until: datetime.datetime,
    now: datetime.datetime | None = None,
) -> HoldPlan:
    """List the voucher `code` for `holder`'s payment of `amount` and re-allocate every listed
    voucher's share. Unknown and unusable codes answer the uniform not-redeemable error."""
    now = now or timezone.now()
    normalised = code_normalise(code)
    voucher = Voucher.objects.filter(code=normalised, livemode=livemode).first()
    refusal = redemption_refusal(
        voucher=voucher,
        tender=VoucherTender(code=normalised, param="code"),
        amount=0,
        currency=currency,
        order_amount=amount,
        order_id=order_id,
        now=now,
    )
    if refusal is not None:
        raise refusal
    pks = _holder_voucher_pks(holder)
    if voucher.pk in pks:
        raise VoucherError(
            VoucherErrorCode.VOUCHER_DUPLICATE, "This voucher is already added.", param="code"
        )
    if len(pks) >= MAX_TENDERS:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID,
            f"Pay with at most {MAX_TENDERS} vouchers.",
            param="code",
        )
    vouchers = _locked([*pks, voucher.pk])
    plan = _allocate(
        holder=holder, vouchers=vouchers, amount=amount, hold_until=hold_until, now=now
    )
    added = next(held for held in plan.vouchers if held.voucher_id == voucher.public_id)
    if added.available == 0:
        raise VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"Voucher …{added.code_last4} has nothing left to spend right now.",
            param="code",
        )
    return plan


@transaction.atomic
def voucher_hold_remove(
    *,
    holder: str,
    voucher_id: str,
    amount: int,
    hold_until: datetime.datetime,
    now: datetime.datetime | None = None,
) -> HoldPlan:
    """Drop one voucher from `holder`'s list (releasing its hold) and re-allocate the rest."""
    now = now or timezone.now()
    VoucherHold.objects.filter(holder=holder, voucher__public_id=voucher_id).delete()
    vouchers = _locked(_holder_voucher_pks(holder))
    return _allocate(
        holder=holder, vouchers=vouchers, amount=amount, hold_until=hold_until, now=now
    )


def voucher_holds_plan(
    *, holder: str, amount: int, now: datetime.datetime | None = None
) -> HoldPlan:
    """The holder's vouchers as they stand (no lock, nothing stored), soonest-expiring first."""
    now = now or timezone.now()
    holds = {
        hold.voucher_id: hold
        for hold in VoucherHold.objects.filter(holder=holder).select_related("voucher")
    }
    vouchers = [hold.voucher for hold in holds.values()]
    others = voucher_held_elsewhere(voucher_pks=[v.pk for v in vouchers], holder=holder, now=now)
    listed = [
        HeldVoucher(
            voucher_id=voucher.public_id,
            code_last4=code_last4(voucher.code),
            currency=voucher.currency,
            held=holds[voucher.pk].amount,
            available=max(0, voucher.balance - others.get(voucher.pk, 0)),
            expires_at=voucher.expires_at,
        )
        for voucher in sorted(vouchers, key=_expiry_order)
    ]
    return HoldPlan(vouchers=listed, amount=amount)


def voucher_holds_release(*, holders: Iterable[str]) -> int:
    """Drop every hold of these holders (a checkout expired or completed)."""
    deleted, _ = VoucherHold.objects.filter(holder__in=list(holders)).delete()
    return deleted


def voucher_holds_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Housekeeping: expired holds reserve nothing; delete them."""
    deleted, _ = VoucherHold.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def voucher_holds_redeem(
    *,
    holder: str,
    amount: int,
    currency: str,
    livemode: bool,
    reference: str,
    order_id: str,
    now: datetime.datetime | None = None,
) -> list[VoucherDebit]:
    """Pay `amount` with the holder's vouchers: shares re-allocated under row locks (balances
    may have moved since they were listed), every voucher debited or none, holds dropped.
    Runs in the caller's transaction (it must be inside one)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("voucher_holds_redeem runs inside the caller's transaction")
    now = now or timezone.now()
    vouchers = _holder_vouchers_locked(holder=holder, now=now)
    if not vouchers:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID, "Add a voucher code to pay.", param="code"
        )
    # The holds are dropped below, so the shares are planned without storing them.
    others = {voucher.pk: voucher.held_elsewhere for voucher in vouchers}
    plan = _plan(_shares(vouchers=vouchers, others=others, amount=amount), amount)
    if plan.remaining:
        raise VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"The vouchers cover {plan.covered} of {amount}; add another voucher.",
            param="code",
        )
    by_public_id = {voucher.public_id: voucher for voucher in vouchers}
    tenders = [
        VoucherTender(code=by_public_id[held.voucher_id].code, amount=held.held)
        for held in plan.vouchers
        if held.held
    ]
    debits = voucher_redeem(
        tenders=tenders,
        amount=amount,
        currency=currency,
        livemode=livemode,
        reference=reference,
        order_id=order_id,
        now=now,
    )
    prepared_fetch(_HOLDS_DROP_SQL, {"holder": holder})
    return debits


def voucher_held_elsewhere(
    *, voucher_pks: Iterable[int], holder: str = "", now: datetime.datetime | None = None
) -> dict[int, int]:
    """Amount reserved on each voucher by unexpired holds of holders other than `holder`."""
    rows = (
        _others_holds(holder=holder, now=now or timezone.now())
        .filter(voucher_id__in=list(voucher_pks))
        .values("voucher_id")
        .annotate(total=Sum("amount"))
    )
    return {row["voucher_id"]: row["total"] for row in rows}
