"""Reads. Nothing here changes a voucher."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Right

from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.models import Voucher, VoucherLedgerEntry

# Lists never carry the full code: it is a bearer secret, shown once when issued.
VOUCHER_LIST_FIELDS = (
    "public_id",
    "code_last4",
    "currency",
    "initial_amount",
    "balance",
    "status",
    "livemode",
    "valid_from",
    "expires_at",
    "redemption_count",
    "version",
    "created_at",
)


def voucher_get(*, public_id: str, livemode: bool) -> Voucher:
    voucher = Voucher.objects.filter(public_id=public_id, livemode=livemode).first()
    if voucher is None:
        raise VoucherError(
            VoucherErrorCode.VOUCHER_NOT_FOUND, "No such voucher.", param="voucher_id"
        )
    return voucher


def voucher_list(*, livemode: bool, status: str | None = None) -> QuerySet:
    """Newest first, as dicts of VOUCHER_LIST_FIELDS (the code as its last 4 characters)."""
    vouchers = Voucher.objects.filter(livemode=livemode)
    if status:
        vouchers = vouchers.filter(status=status)
    return (
        vouchers.annotate(code_last4=Right("code", 4))
        .order_by("-created_at", "-pk")
        .values(*VOUCHER_LIST_FIELDS)
    )


def vouchers_by_code(*, codes: Iterable[str], livemode: bool) -> dict[str, Voucher]:
    """Normalised code -> voucher, for the codes that exist in this mode. No lock taken."""
    return {
        voucher.code: voucher
        for voucher in Voucher.objects.filter(code__in=list(codes), livemode=livemode)
    }


def voucher_ledger_list(*, voucher: Voucher) -> QuerySet[VoucherLedgerEntry]:
    return voucher.ledger_entries.order_by("pk")


def voucher_ledger_total(*, voucher: Voucher) -> int:
    return voucher.ledger_entries.aggregate(total=Sum("amount", default=0))["total"]


def voucher_creditable_for_reference(*, voucher: Voucher, reference: str) -> int:
    """What was redeemed from this voucher for `reference` and not yet credited back."""
    totals = voucher.ledger_entries.filter(reference=reference).aggregate(
        redeemed=Sum("amount", filter=Q(kind=VoucherLedgerEntry.Kind.REDEEM), default=0),
        credited=Sum("amount", filter=Q(kind=VoucherLedgerEntry.Kind.REFUND_CREDIT), default=0),
    )
    return -totals["redeemed"] - totals["credited"]


def voucher_any_exists() -> bool:
    """Whether the active merchant has issued any voucher (onboarding checklist)."""
    return Voucher.objects.exists()
