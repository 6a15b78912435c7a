"""Row locks on vouchers, always taken in primary-key order, so two payments that share
vouchers (in any order the shoppers typed them) cannot deadlock.

Redemption, the hot path, locks with one conditional UPDATE per voucher, in pk order, that also
writes the ledger entry (a data-modifying CTE):

    UPDATE voucher SET balance = balance - :amount ... WHERE id = :id AND balance >= :amount ...

Chosen over `SELECT ... FOR UPDATE` then UPDATE then INSERT because on a hot voucher throughput is
bounded by how long each transaction holds the row lock. Here the lock is taken by the statement
that changes the row and is held for that one round trip plus COMMIT; locking first would hold it
across three more round trips (the UPDATE, the ledger INSERT, and the Python in between). The
WHERE clause re-checks, on the latest row version, everything that can change under us (balance,
status, validity window, redemption count), so the read that planned the payment needs no lock.

Rare changes (credit, adjustment, void, expiry) read the row and its ledger before deciding, so
they lock with `SELECT ... FOR UPDATE` ordered by pk.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from superpayment.pipeline import Statement
from superpayment.prepared import model_columns, prepared_fetch_one
from vouchers.models import Voucher


def vouchers_due_for_expiry_locked(*, now: datetime.datetime, limit: int) -> QuerySet[Voucher]:
    """Active vouchers past their expiry, locked; rows another transaction holds are skipped."""
    return (
        Voucher.objects.select_for_update(skip_locked=True)
        .filter(status=Voucher.Status.ACTIVE, expires_at__lte=now)
        .order_by("pk")[:limit]
    )


def voucher_locked(*, public_id: str, livemode: bool) -> Voucher | None:
    return (
        Voucher.objects.select_for_update()
        .filter(public_id=public_id, livemode=livemode)
        .order_by("pk")
        .first()
    )


@dataclass(frozen=True)
class DebitOutcome:
    balance_after: int
    version: int


# What every debit does to its voucher's row (the three debit statements below share it).
_DEBIT_SET = """
    UPDATE vouchers_voucher
       SET balance = balance - %(amount)s,
           redemption_count = redemption_count + 1,
           version = version + 1,
           status = CASE WHEN balance = %(amount)s THEN 'exhausted' ELSE status END,
           updated_at = %(now)s"""

# The debit of one voucher by id, if it is usable now; the caller's limit on redemptions.
_DEBIT_BY_ID = f"""{_DEBIT_SET}
     WHERE id = %(id)s
       AND status = 'active'
       AND balance >= %(amount)s
       AND redemption_count < %(redemption_limit)s
       AND (valid_from IS NULL OR valid_from <= %(now)s)
       AND (expires_at IS NULL OR expires_at > %(now)s)
    RETURNING id, balance, version"""

_DEBIT_SQL = f"""
WITH debited AS ({_DEBIT_BY_ID}
), entry AS (
    INSERT INTO vouchers_voucherledgerentry
           (voucher_id, kind, amount, balance_after, reason, reference, order_id, actor,
            created_at)
    SELECT id, 'redeem', -%(amount)s, balance, '', %(reference)s, %(order_id)s, NULL, %(now)s
      FROM debited
)
SELECT balance, version FROM debited
"""  # noqa: S608 - built from the constant statements above; values are bound


# A payment with one voucher is one statement: found by code, every rule checked in SQL, debited,
# and its ledger entry written. Outside a transaction it commits by itself: one round trip, the
# row lock held only while it runs. The WHERE clause mirrors vouchers.redemption's checks; when
# it matches nothing, the caller takes the general path, which names the reason. A debit that
# would empty the voucher (`balance = amount`) is left to the general path too: that one runs in
# a transaction, which also records the voucher.exhausted event.
DEBIT_BY_CODE_SQL = f"""
WITH debited AS ({_DEBIT_SET}
     WHERE code = %(code)s
       AND livemode = %(livemode)s
       AND currency = %(currency)s
       AND status = 'active'
       AND balance > %(amount)s
       AND (valid_from IS NULL OR valid_from <= %(now)s)
       AND (expires_at IS NULL OR expires_at > %(now)s)
       AND redemption_count < CASE WHEN (rules ->> 'single_use')::boolean THEN 1
                                   ELSE COALESCE((rules ->> 'max_redemptions')::int, 2147483647)
                              END
       AND COALESCE((rules ->> 'min_order_amount')::bigint, 0) <= %(amount)s
       AND (rules ->> 'order_id_prefix' IS NULL
            OR starts_with(%(order_id)s, rules ->> 'order_id_prefix'))
    RETURNING id, public_id, code, balance, version
), entry AS (
    INSERT INTO vouchers_voucherledgerentry
           (voucher_id, kind, amount, balance_after, reason, reference, order_id, actor,
            created_at)
    SELECT id, 'redeem', -%(amount)s, balance, '', %(reference)s, %(order_id)s, NULL, %(now)s
      FROM debited
)
SELECT public_id, code, balance, version FROM debited
"""  # noqa: S608 - built from the constant statements above; values are bound


@dataclass(frozen=True)
class CodeDebitOutcome:
    public_id: str
    code: str
    balance_after: int
    version: int


def voucher_debit_by_code(
    *,
    code: str,
    livemode: bool,
    currency: str,
    amount: int,
    reference: str,
    order_id: str,
    now: datetime.datetime,
) -> CodeDebitOutcome | None:
    """The whole of a one-voucher payment (the order amount is the debit); None when the
    voucher is unknown or any check fails."""
    row = prepared_fetch_one(
        DEBIT_BY_CODE_SQL,
        {
            "code": code,
            "livemode": livemode,
            "currency": currency,
            "amount": amount,
            "reference": reference,
            "order_id": order_id,
            "now": now,
        },
    )
    return CodeDebitOutcome(*row) if row else None


def voucher_debit(
    *,
    pk: int,
    amount: int,
    redemption_limit: int,
    reference: str,
    order_id: str,
    now: datetime.datetime,
) -> DebitOutcome | None:
    """Debit one voucher and write its ledger entry in one statement; None when the voucher
    (as it is now, after any concurrent change) cannot take the debit. Call in pk order."""
    row = prepared_fetch_one(
        _DEBIT_SQL,
        {
            "id": pk,
            "amount": amount,
            "redemption_limit": redemption_limit,
            "reference": reference,
            "order_id": order_id,
            "now": now,
        },
    )
    return DebitOutcome(balance_after=row[0], version=row[1]) if row else None


# A payment in the checkout locks the vouchers its holds name before it debits them (in pk
# order, with the session already locked), so it knows before it sends its last round trip,
# COMMIT included, that every debit will take: nothing can change a locked row meanwhile.
VOUCHERS_LOCK_SQL = f"""
SELECT {model_columns(Voucher, "v")}
  FROM {Voucher._meta.db_table} v
 WHERE v.id = ANY(%(ids)s)
 ORDER BY v.id
   FOR UPDATE
"""  # noqa: S608 - table and column names from model meta; values are bound


def vouchers_lock_statement(*, pks: list[int]) -> Statement:
    return Statement(VOUCHERS_LOCK_SQL, {"ids": sorted(pks)})


# The debit of a voucher this transaction has locked and checked (`voucher_debit_refusal`). Its
# WHERE clause still re-checks the row; the ledger entry is written whatever, with the debited
# balance, so a debit that did not take (a check here and in Python disagreeing) leaves that
# balance NULL, which the column refuses: the transaction aborts before its COMMIT runs, and no
# payment commits without its debit.
_DEBIT_LOCKED_SQL = f"""
WITH debited AS ({_DEBIT_BY_ID}
)
INSERT INTO vouchers_voucherledgerentry
       (voucher_id, kind, amount, balance_after, reason, reference, order_id, actor, created_at)
VALUES (%(id)s, 'redeem', -%(amount)s, (SELECT balance FROM debited), '', %(reference)s,
        %(order_id)s, NULL, %(now)s)
"""  # noqa: S608 - built from the constant statements above; values are bound


def voucher_debit_locked_statement(
    *,
    voucher: Voucher,
    amount: int,
    redemption_limit: int,
    reference: str,
    order_id: str,
    now: datetime.datetime,
) -> Statement:
    """The debit of `voucher`, locked by this transaction and checked by
    `voucher_debit_refusal`, with its ledger entry: one statement."""
    return Statement(
        _DEBIT_LOCKED_SQL,
        {
            "id": voucher.pk,
            "amount": amount,
            "redemption_limit": redemption_limit,
            "reference": reference,
            "order_id": order_id,
            "now": now,
        },
    )


def voucher_debit_takes(
    voucher: Voucher, *, amount: int, redemption_limit: int, now: datetime.datetime
) -> bool:
    """Whether the debit statements' WHERE clause matches `voucher` as read under its lock."""
    return (
        voucher.status == Voucher.Status.ACTIVE
        and voucher.balance >= amount
        and voucher.redemption_count < redemption_limit
        and (voucher.valid_from is None or voucher.valid_from <= now)
        and (voucher.expires_at is None or voucher.expires_at > now)
    )


def voucher_after_debit(voucher: Voucher, *, amount: int, now: datetime.datetime) -> Voucher:
    """`voucher` as the debit statement leaves it (for the events that report it)."""
    after = copy.copy(voucher)
    after.balance = voucher.balance - amount
    after.redemption_count = voucher.redemption_count + 1
    after.version = voucher.version + 1
    if after.balance == 0:
        after.status = Voucher.Status.EXHAUSTED
    after.updated_at = now
    return after
