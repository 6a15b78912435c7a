"""Changes to one existing voucher by merchant staff or the platform: refund credits, manual
adjustments, void, updates (expiry, enable/disable, metadata) and expiry. Each locks its voucher
(`SELECT … FOR UPDATE`), writes its ledger entry where the balance moves, raises the version and
records its webhook event, all in one transaction."""

from __future__ import annotations

import datetime
from typing import Any

import structlog
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vouchers.due_work import vouchers_due_work_schedule
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.events import (
    VOUCHER_EXPIRED,
    VOUCHER_UPDATED,
    voucher_change_event_type,
    voucher_event_record,
)
from vouchers.locks import voucher_locked, vouchers_due_for_expiry_locked
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.rules import voucher_metadata_validate
from vouchers.selectors import voucher_creditable_for_reference
from vouchers.validation import (
    REASON_MAX_LENGTH,
    amount_validate,
    reference_validate,
    text_validate,
)

log = structlog.get_logger(__name__)

EXPIRY_BATCH_SIZE = 500
CLOSED_STATUSES = (Voucher.Status.DISABLED, Voucher.Status.EXPIRED)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _locked_or_404(*, voucher_id: str, livemode: bool) -> Voucher:
    voucher = voucher_locked(public_id=voucher_id, livemode=livemode)
    if voucher is None:
        raise VoucherError(
            VoucherErrorCode.VOUCHER_NOT_FOUND, "No such voucher.", param="voucher_id"
        )
    return voucher


def _is_past_expiry(voucher: Voucher, now: datetime.datetime) -> bool:
    return voucher.expires_at is not None and voucher.expires_at <= now


def _refuse_closed(voucher: Voucher, now: datetime.datetime) -> None:
    expired = _is_past_expiry(voucher, now)
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
    VoucherLedgerEntry.objects.create(
        voucher=voucher, kind=kind, amount=change, balance_after=balance_after, **details
    )
    voucher.refresh_from_db()
    if change > 0 and voucher.status == Voucher.Status.ACTIVE:
        # A balance that grows may be live liability again, and an exhausted voucher that comes
        # back to life expires again.
        vouchers_due_work_schedule(expiries=[voucher.expires_at], livemode=voucher.livemode)
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
    amount = amount_validate(amount)
    reference = reference_validate(reference)
    reason = text_validate(reason, param="reason", max_length=REASON_MAX_LENGTH)
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
    voucher = _balance_move(
        voucher,
        change=amount,
        kind=VoucherLedgerEntry.Kind.REFUND_CREDIT,
        reference=reference,
        reason=reason,
        actor=actor,
    )
    voucher_event_record(voucher=voucher, event_type=VOUCHER_UPDATED)
    return voucher


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
    amount_validate(abs(amount))
    reason = text_validate(
        reason,
        param="reason",
        max_length=REASON_MAX_LENGTH,
        required_code=VoucherErrorCode.REASON_REQUIRED,
    )
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    _refuse_closed(voucher, timezone.now())
    voucher = _balance_move(
        voucher, change=amount, kind=VoucherLedgerEntry.Kind.ADJUSTMENT, reason=reason, actor=actor
    )
    voucher_event_record(voucher=voucher, event_type=voucher_change_event_type(voucher))
    return voucher


@transaction.atomic
def voucher_void(
    *, voucher_id: str, livemode: bool, reason: str = "", actor: int | None = None
) -> Voucher:
    """Cancel a voucher for good: its balance leaves by a ledger entry and it is disabled.
    Voiding a disabled voucher changes nothing."""
    reason = text_validate(reason, param="reason", max_length=REASON_MAX_LENGTH)
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    if voucher.status == Voucher.Status.DISABLED:
        return voucher
    if voucher.status == Voucher.Status.EXPIRED:
        _refuse_closed(voucher, timezone.now())
    voucher.status = Voucher.Status.DISABLED  # _balance_move keeps a closed status as it is
    voucher = _balance_move(
        voucher,
        change=-voucher.balance,
        kind=VoucherLedgerEntry.Kind.VOID,
        reason=reason,
        actor=actor,
    )
    voucher_event_record(voucher=voucher, event_type=VOUCHER_UPDATED)
    return voucher


def _status_after(voucher: Voucher, wanted: str) -> str:
    if wanted == Voucher.Status.DISABLED:
        return Voucher.Status.DISABLED
    if wanted == Voucher.Status.ACTIVE:
        # Enabling gives back the status the balance implies.
        return Voucher.Status.ACTIVE if voucher.balance > 0 else Voucher.Status.EXHAUSTED
    raise VoucherError(
        VoucherErrorCode.STATUS_INVALID,
        "A voucher's status can be set to 'active' (enable) or 'disabled' (disable).",
        param="status",
    )


@transaction.atomic
def voucher_update(
    *,
    voucher_id: str,
    livemode: bool,
    expires_at: datetime.datetime | None = UNSET,
    status: str | None = None,
    metadata: dict | None = None,
    actor: int | None = None,
) -> Voucher:
    """Change a voucher's expiry (None removes it), disable or enable it (`status` "disabled"
    or "active"), or update its metadata (keys merged; a key set to "" or null is removed).
    An expired voucher cannot change. A change records `voucher.updated`; no change, nothing."""
    now = timezone.now()
    voucher = _locked_or_404(voucher_id=voucher_id, livemode=livemode)
    if voucher.status == Voucher.Status.EXPIRED:
        _refuse_closed(voucher, now)
    changes: dict[str, Any] = {}
    if status is not None:
        new_status = _status_after(voucher, status)
        if new_status == Voucher.Status.ACTIVE and _is_past_expiry(voucher, now):
            _refuse_closed(voucher, now)
        if new_status != voucher.status:
            changes["status"] = new_status
    if expires_at is not UNSET:
        if expires_at is not None and expires_at <= now:
            raise VoucherError(
                VoucherErrorCode.VALIDITY_INVALID,
                "The expiry must be in the future.",
                param="expires_at",
            )
        if expires_at is not None and voucher.valid_from and voucher.valid_from >= expires_at:
            raise VoucherError(
                VoucherErrorCode.VALIDITY_INVALID,
                "The voucher must become valid before it expires.",
                param="expires_at",
            )
        if expires_at != voucher.expires_at:
            changes["expires_at"] = expires_at
    if metadata is not None:
        if not isinstance(metadata, dict):
            voucher_metadata_validate(metadata)  # raises the standard message
        merged = dict(voucher.metadata or {})
        for key, value in metadata.items():
            if value is None or value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        merged = voucher_metadata_validate(merged)
        if merged != (voucher.metadata or {}):
            changes["metadata"] = merged
    if not changes:
        return voucher
    Voucher.objects.filter(pk=voucher.pk).update(
        **changes, version=F("version") + 1, updated_at=now
    )
    voucher.refresh_from_db()
    if voucher.status == Voucher.Status.ACTIVE and {"status", "expires_at"} & changes.keys():
        vouchers_due_work_schedule(expiries=[voucher.expires_at], livemode=voucher.livemode)
    voucher_event_record(voucher=voucher, event_type=VOUCHER_UPDATED)
    log.info("voucher_updated", voucher_id=voucher.public_id, fields=sorted(changes), actor=actor)
    return voucher


def voucher_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every active voucher past its expiry: its remaining balance leaves by a ledger
    entry and a `voucher.expired` event is recorded. Batches commit one by one; rows another
    transaction holds are left for the next run. Running it twice expires nothing twice (only
    active vouchers are picked)."""
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
            pks = [voucher.pk for voucher in due]
            Voucher.objects.filter(pk__in=pks).update(
                balance=0, status=Voucher.Status.EXPIRED, version=F("version") + 1, updated_at=now
            )
            for voucher in Voucher.objects.filter(pk__in=pks).order_by("pk"):
                voucher_event_record(voucher=voucher, event_type=VOUCHER_EXPIRED)
        expired += len(due)
        if len(due) < EXPIRY_BATCH_SIZE:
            break
    if expired:
        log.info("vouchers_expired", count=expired)
    return expired
