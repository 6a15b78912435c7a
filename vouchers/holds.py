"""Holds: a checkout reserves the share of each voucher it plans to spend.

A holder (a checkout session) lists one or more vouchers. Their shares are allocated soonest-
expiring first (a voucher without expiry last), each up to what is *available*: its balance
minus what other holders' unexpired holds reserve. Every change re-allocates under row locks
taken in primary-key order (`SELECT … FOR UPDATE`), and reads the other holds only once the
locks are held (a statement of its own, so with a snapshot taken after the wait): two checkouts
adding the same voucher at once see each other's holds.

So the unexpired holds on a voucher never add up to more than its balance, and a hold is a
guarantee: paying (`voucher_holds_debit`) debits exactly the held shares when they cover the
amount, whatever other holders pay meanwhile, and fails only if the merchant disabled, adjusted or
voided a voucher, or it expired, in between (the error names the voucher). Only holds that do not
cover the amount are re-allocated at payment time, under locks, from what is available then.
`voucher_holds_settle_statement` then drops the payer's holds and those of every other holder of
the same order, which can no longer pay.

A payment sends these as statements (superpayment.pipeline): the holds read with the session's
lock, the vouchers locked (with the other holds' sums when shares must be allocated again), then
the debits with the rest of the payment and its COMMIT, three round trips in all.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from superpayment.pipeline import Statement
from superpayment.prepared import model_columns, model_from_row
from vouchers.codes import code_last4, code_normalise
from vouchers.errors import VoucherError, VoucherErrorCode, voucher_not_redeemable
from vouchers.hold_models import VoucherHold
from vouchers.locks import (
    voucher_after_debit,
    voucher_debit_locked_statement,
    voucher_debit_takes,
    vouchers_lock_statement,
)
from vouchers.models import Voucher
from vouchers.redemption import VoucherTender, redemption_refusal, voucher_is_usable
from vouchers.rules import voucher_redemption_limit
from vouchers.services import MAX_TENDERS, VoucherDebit

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
    order_id: str | None = None,
) -> HoldPlan:
    """Share `amount` over `vouchers` (locked by the caller) and store the holds. The other holds
    are read after the locks were taken, by a statement of its own: it sees them all."""
    others = voucher_held_elsewhere(voucher_pks=[v.pk for v in vouchers], holder=holder, now=now)
    shares = _shares(vouchers=vouchers, others=others, amount=amount)
    for voucher, share, _available in shares:
        defaults = {"amount": share, "expires_at": hold_until}
        if order_id is not None:
            defaults["order_id"] = order_id
        VoucherHold.objects.update_or_create(voucher=voucher, holder=holder, defaults=defaults)
    return _plan(shares, amount)


# The holder's holds with their vouchers, pk order, not locked: read with the session a payment
# locks (one round trip), then the vouchers are locked (`voucher_holds_lock_statements`).
_HOLDER_HOLDS_SQL = f"""
SELECT {model_columns(Voucher, "v")}, h.amount, h.expires_at
  FROM {VoucherHold._meta.db_table} h
  JOIN {Voucher._meta.db_table} v ON v.id = h.voucher_id
 WHERE h.holder = %(holder)s
 ORDER BY v.id
"""  # noqa: S608 - table and column names from model meta; values are bound


# After a payment: the payer's holds, and the unexpired holds of every other holder of the same
# order in the same mode (that order can no longer be paid). Rows another transaction is changing
# right now (a holder adding or removing a voucher) are skipped rather than waited for, which could
# deadlock with a holder that waits on a voucher this payment debited; such a holder meets the
# paid order when it confirms, and its holds are released then (or when its session expires).
_HOLDS_SETTLE_SQL = f"""
DELETE FROM {VoucherHold._meta.db_table}
 WHERE id IN (
       SELECT h.id
         FROM {VoucherHold._meta.db_table} h
         JOIN {Voucher._meta.db_table} v ON v.id = h.voucher_id
        WHERE h.holder = %(holder)s
           OR (h.order_id = %(order_id)s AND v.livemode = %(livemode)s
               AND h.expires_at > %(now)s)
          FOR UPDATE OF h SKIP LOCKED)
"""  # noqa: S608 - table names from model meta; values are bound


@dataclass(frozen=True)
class Held:
    """One of a holder's holds, with its voucher as read (not locked)."""

    voucher: Voucher
    amount: int
    expires_at: datetime.datetime


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
        holder=holder,
        vouchers=vouchers,
        amount=amount,
        hold_until=hold_until,
        now=now,
        order_id=order_id,
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
    """Drop one voucher from `holder`'s list (releasing its hold) and re-allocate the rest.
    The vouchers are locked before any hold row is touched, so this never holds a hold row while
    waiting for a voucher a payment has debited (`voucher_holds_settle` skips such rows)."""
    now = now or timezone.now()
    locked = _locked(_holder_voucher_pks(holder))
    VoucherHold.objects.filter(holder=holder, voucher__public_id=voucher_id).delete()
    vouchers = [voucher for voucher in locked if voucher.public_id != voucher_id]
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


@dataclass(frozen=True)
class HoldsDebit:
    """What paying with a holder's vouchers will do, decided under the vouchers' locks: the
    debits, the statements that make them, and the vouchers they empty (as the debits leave
    them: each owes a voucher.exhausted event)."""

    debits: list[VoucherDebit]
    statements: list[Statement]
    exhausted: list[Voucher]


def voucher_holds_statement(*, holder: str) -> Statement:
    """The holder's holds with their vouchers, pk order, not locked (`voucher_holds_from_rows`
    reads its rows). A payment reads them with the checkout session it locks."""
    return Statement(_HOLDER_HOLDS_SQL, {"holder": holder})


def voucher_holds_from_rows(rows: list[tuple]) -> list[Held]:
    return [
        Held(voucher=model_from_row(Voucher, row), amount=row[-2], expires_at=row[-1])
        for row in rows
    ]


def _covers(holds: list[Held], amount: int, now: datetime.datetime) -> bool:
    return sum(held.amount for held in holds if held.expires_at > now) == amount


def voucher_holds_lock_statements(
    *, holds: list[Held], holder: str, amount: int, now: datetime.datetime
) -> list[Statement]:
    """Lock the held vouchers (pk order) and, when the holds do not cover `amount`, read what the
    other holders reserve on them, by a statement of its own: it starts once the locks are held,
    so its snapshot sees every hold committed meanwhile (one statement that both waited for the
    lock and read the holds would count holds already gone and miss holds just taken). Sent
    together: one round trip. `voucher_holds_debit` reads their rows."""
    if not holds:
        raise VoucherError(
            VoucherErrorCode.CODE_INVALID, "Add a voucher code to pay.", param="code"
        )
    pks = [held.voucher.pk for held in holds]
    statements = [vouchers_lock_statement(pks=pks)]
    if not _covers(holds, amount, now):
        statements.append(_held_elsewhere_statement(voucher_pks=pks, holder=holder, now=now))
    return statements


def voucher_holds_debit(
    *,
    holds: list[Held],
    rows: list[list[tuple]],
    amount: int,
    reference: str,
    order_id: str,
    now: datetime.datetime,
) -> HoldsDebit:
    """Pay `amount` with the holder's vouchers, locked by `voucher_holds_lock_statements` (whose
    `rows` these are), every voucher debited or none: exactly the held shares when they cover the
    amount (a hold is a guarantee), otherwise shares allocated from what is available now. A
    voucher that cannot give its share is refused here, named, before anything is written. The
    holds stay until `voucher_holds_settle_statement`."""
    locked = [model_from_row(Voucher, row) for row in rows[0]]
    if _covers(holds, amount, now):
        shares = {held.voucher.pk: held.amount for held in holds if held.expires_at > now}
    else:
        others = {voucher_pk: total for voucher_pk, total in rows[1]}
        shares = _shares_covering(vouchers=locked, others=others, amount=amount)
    ordered = [voucher for voucher in sorted(locked, key=_expiry_order) if shares.get(voucher.pk)]
    debits, statements, exhausted = [], [], []
    for index, voucher in enumerate(ordered):
        share = shares[voucher.pk]
        limit = voucher_redemption_limit(voucher.rules)
        if not voucher_debit_takes(voucher, amount=share, redemption_limit=limit, now=now):
            raise _refusal_named(_debit_refusal(voucher, share, index, now), ordered)
        after = voucher_after_debit(voucher, amount=share, now=now)
        debits.append(
            VoucherDebit(
                voucher_id=voucher.public_id,
                code_last4=code_last4(voucher.code),
                amount=share,
                balance_after=after.balance,
                version=after.version,
            )
        )
        statements.append(
            voucher_debit_locked_statement(
                voucher=voucher,
                amount=share,
                redemption_limit=limit,
                reference=reference,
                order_id=order_id,
                now=now,
            )
        )
        if after.balance == 0:
            exhausted.append(after)
    # In pk order, as every lock on vouchers is taken.
    order = sorted(range(len(ordered)), key=lambda i: ordered[i].pk)
    return HoldsDebit(debits=debits, statements=[statements[i] for i in order], exhausted=exhausted)


def _debit_refusal(
    voucher: Voucher, share: int, index: int, now: datetime.datetime
) -> VoucherError:
    """Why a locked voucher cannot give `share`, as the shopper's answer names it."""
    param = f"tenders[{index}]"
    if not voucher_is_usable(voucher, currency=None, now=now) or (
        voucher.redemption_count >= voucher_redemption_limit(voucher.rules)
    ):
        return voucher_not_redeemable(param)
    return VoucherError(
        VoucherErrorCode.INSUFFICIENT_BALANCE,
        f"Voucher …{code_last4(voucher.code)} holds {voucher.balance}, less than {share}.",
        param=param,
    )


def _shares_covering(
    *, vouchers: list[Voucher], others: dict[int, int], amount: int
) -> dict[int, int]:
    """Shares of `amount` over the locked vouchers from what other holders leave of them."""
    shares = _shares(vouchers=vouchers, others=others, amount=amount)
    plan = _plan(shares, amount)
    if plan.remaining:
        raise VoucherError(
            VoucherErrorCode.INSUFFICIENT_BALANCE,
            f"The vouchers cover {plan.covered} of {amount}; add another voucher.",
            param="code",
        )
    return {voucher.pk: share for voucher, share, _available in shares}


def _refusal_named(exc: VoucherError, ordered: list[Voucher]) -> VoucherError:
    """A held voucher refused its share: the shopper added it, so the error names it (the uniform
    not-redeemable answer is for codes typed, not for vouchers already shown)."""
    index = _tender_index(exc.param)
    if index is None or index >= len(ordered):
        return exc
    last4 = code_last4(ordered[index].code)
    if exc.code == VoucherErrorCode.VOUCHER_NOT_REDEEMABLE:
        message = f"Voucher …{last4} can no longer be used (disabled or expired); remove it to pay."
    elif exc.code == VoucherErrorCode.INSUFFICIENT_BALANCE:
        message = (
            f"Voucher …{last4} no longer holds what this payment reserved (its balance was "
            "changed); remove it or add another voucher."
        )
    else:
        message = f"Voucher …{last4}: {exc.message}"
    return VoucherError(exc.code, message, param="code")


def _tender_index(param: str | None) -> int | None:
    if param and param.startswith("tenders[") and param.endswith("]"):
        inner = param[len("tenders[") : -1]
        return int(inner) if inner.isdigit() else None
    return None


def voucher_holds_settle_statement(
    *, holder: str, order_id: str, livemode: bool, now: datetime.datetime
) -> Statement:
    """A holder paid `order_id`: drop its holds and release those of every other holder of that
    order, in the caller's transaction (one statement)."""
    return Statement(
        _HOLDS_SETTLE_SQL,
        {"holder": holder, "order_id": order_id, "livemode": livemode, "now": now},
    )


# What other holders' unexpired holds reserve on each of some vouchers.
_HELD_ELSEWHERE_SQL = f"""
SELECT h.voucher_id, sum(h.amount)
  FROM {VoucherHold._meta.db_table} h
 WHERE h.voucher_id = ANY(%(ids)s) AND h.holder <> %(holder)s AND h.expires_at > %(now)s
 GROUP BY h.voucher_id
"""  # noqa: S608 - table names from model meta; values are bound


def _held_elsewhere_statement(
    *, voucher_pks: list[int], holder: str, now: datetime.datetime
) -> Statement:
    return Statement(_HELD_ELSEWHERE_SQL, {"ids": voucher_pks, "holder": holder, "now": now})


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
