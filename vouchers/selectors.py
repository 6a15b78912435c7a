"""Reads. Nothing here changes a voucher."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Right

from vouchers.codes import MIN_RANDOM_LENGTH, code_normalise
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


def voucher_balances(*, public_ids: Iterable[str], livemode: bool) -> dict[str, int]:
    """Voucher id -> balance, for the ids that exist in this mode (one query)."""
    return dict(
        Voucher.objects.filter(public_id__in=list(public_ids), livemode=livemode).values_list(
            "public_id", "balance"
        )
    )


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


def voucher_creditable_for_reference(*, voucher: Voucher, reference: str) -> int:
    """What was redeemed from this voucher for `reference` and not yet credited back."""
    totals = voucher.ledger_entries.filter(reference=reference).aggregate(
        redeemed=Sum("amount", filter=Q(kind=VoucherLedgerEntry.Kind.REDEEM), default=0),
        credited=Sum("amount", filter=Q(kind=VoucherLedgerEntry.Kind.REFUND_CREDIT), default=0),
    )
    return -totals["redeemed"] - totals["credited"]


def voucher_any_exists(*, livemode: bool | None = None) -> bool:
    """Whether the active merchant has issued any voucher (in one mode, if given): the
    onboarding checklist."""
    vouchers = (
        Voucher.objects.all() if livemode is None else Voucher.objects.filter(livemode=livemode)
    )
    return vouchers.exists()


def voucher_liability_summary(*, now: datetime) -> list[dict]:
    """Outstanding live balances of the active merchant per currency (for finance): count,
    outstanding total, what expires within 30 / 90 days, and ageing by issue date. Only
    active vouchers with a balance that have not expired count."""
    day = timedelta(days=1)

    def aged(q: Q) -> Sum:
        return Sum("balance", filter=q, default=0)

    rows = (
        Voucher.objects.filter(livemode=True, status=Voucher.Status.ACTIVE, balance__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("currency")
        .annotate(
            voucher_count=Count("pk"),
            outstanding=Sum("balance", default=0),
            expiring_30d=aged(Q(expires_at__lte=now + 30 * day)),
            expiring_90d=aged(Q(expires_at__lte=now + 90 * day)),
            age_0_30=aged(Q(created_at__gt=now - 30 * day)),
            age_31_90=aged(Q(created_at__lte=now - 30 * day, created_at__gt=now - 90 * day)),
            age_91_180=aged(Q(created_at__lte=now - 90 * day, created_at__gt=now - 180 * day)),
            age_181_365=aged(Q(created_at__lte=now - 180 * day, created_at__gt=now - 365 * day)),
            age_over_365=aged(Q(created_at__lte=now - 365 * day)),
        )
        .order_by("currency")
    )
    return list(rows)


def voucher_search(
    *,
    livemode: bool,
    status: str | None = None,
    currency: str | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
    last4: str | None = None,
    query: str | None = None,
    job_id: str | None = None,
) -> QuerySet[Voucher]:
    """Vouchers of one mode matching every filter given; `last4` matches the code's end
    (normalised, so `ab-cd` finds `…ABCD`); `query` is what a person pastes into one search
    box: a voucher id (`vch_…`), a whole code (found through its unique index) or the code's
    last characters."""
    vouchers = Voucher.objects.filter(livemode=livemode)
    if status:
        vouchers = vouchers.filter(status=status)
    if currency:
        vouchers = vouchers.filter(currency=currency.upper())
    if created_gte:
        vouchers = vouchers.filter(created_at__gte=created_gte)
    if created_lte:
        vouchers = vouchers.filter(created_at__lte=created_lte)
    if last4:
        vouchers = vouchers.filter(code__endswith=code_normalise(last4))
    if query:
        vouchers = vouchers.filter(_query_condition(query))
    if job_id:
        vouchers = vouchers.filter(job_id=job_id)
    return vouchers


def _query_condition(query: str) -> Q:
    if query.startswith("vch_"):
        return Q(public_id=query)
    normal = code_normalise(query)
    if len(normal) >= MIN_RANDOM_LENGTH:
        return Q(code=normal)
    return Q(code__endswith=normal)


def voucher_public_id_for_code(*, code: str, livemode: bool) -> str | None:
    """The id of the voucher a whole code (as typed or pasted) names, or None."""
    normal = code_normalise(code)
    if len(normal) < MIN_RANDOM_LENGTH:
        return None
    return (
        Voucher.objects.filter(code=normal, livemode=livemode)
        .values_list("public_id", flat=True)
        .first()
    )


def voucher_status_counts(*, livemode: bool) -> dict[str, int]:
    """Status -> how many vouchers of this mode have it (the portal's status chips)."""
    rows = Voucher.objects.filter(livemode=livemode).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


# --- periodic work (duework.kinds) -----------------------------------------------------------


def voucher_expiry_next_due(*, now: datetime) -> datetime | None:
    """When the active merchant's next active voucher expires (voucher_active_expiry_idx)."""
    return (
        Voucher.objects.filter(status=Voucher.Status.ACTIVE, expires_at__isnull=False)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )


def voucher_holds_next_expiry() -> datetime | None:
    """When the active merchant's next voucher hold expires (the table holds only live holds
    and expired ones not yet purged, so it stays small)."""
    from vouchers.hold_models import VoucherHold

    return VoucherHold.objects.order_by("expires_at").values_list("expires_at", flat=True).first()


def voucher_liability_outstanding() -> bool:
    """Whether the active merchant has live vouchers with a balance left to spend."""
    return Voucher.objects.filter(
        livemode=True, status=Voucher.Status.ACTIVE, balance__gt=0
    ).exists()
