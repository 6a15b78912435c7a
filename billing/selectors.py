"""Billing reads. Nothing here changes anything."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.db.models import Count, Q, QuerySet, Sum

from billing.models import CommissionEntry, Invoice, VoucherLiabilitySnapshot
from tenants.models import Merchant

FINAL = (Invoice.Status.OPEN, Invoice.Status.PAID, Invoice.Status.UNCOLLECTIBLE)


def _sums() -> dict:
    return {
        "charges": Sum("amount", filter=Q(kind="charge"), default=0),
        "credits": Sum("amount", filter=Q(kind="reversal"), default=0),
        "total": Sum("amount", default=0),
        "payments": Count("pk", filter=Q(kind="charge")),
    }


def commission_running(*, merchant: Merchant, now: datetime) -> list[dict]:
    """This month's live commission so far, per currency (what the next invoice will hold)."""
    start = datetime.combine(now.date().replace(day=1), time.min, tzinfo=UTC)
    return list(
        CommissionEntry.objects.filter(
            merchant=merchant, livemode=True, occurred_at__gte=start, occurred_at__lte=now
        )
        .values("currency")
        .annotate(**_sums())
        .order_by("currency")
    )


def invoice_list_for_merchant(*, merchant: Merchant) -> QuerySet[Invoice]:
    """What a merchant sees: finalized invoices only (drafts are internal)."""
    return Invoice.objects.filter(merchant=merchant).exclude(status=Invoice.Status.DRAFT)


def invoice_get_for_merchant(*, merchant: Merchant, invoice_id: int) -> Invoice | None:
    return invoice_list_for_merchant(merchant=merchant).filter(pk=invoice_id).first()


def invoice_entries(*, invoice: Invoice) -> QuerySet[CommissionEntry]:
    return invoice.entries.order_by("occurred_at", "pk")


def invoice_search(
    *,
    period: date | None = None,
    status: str = "",
    merchant: str = "",
    currency: str = "",
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.select_related("merchant")
    if period:
        invoices = invoices.filter(period_start=period)
    if status:
        invoices = invoices.filter(status=status)
    if merchant:
        invoices = invoices.filter(
            Q(merchant__slug=merchant) | Q(merchant__name__icontains=merchant)
        )
    if currency:
        invoices = invoices.filter(currency=currency.upper())
    return invoices.order_by("-period_start", "number", "pk")


def invoice_totals(*, invoices: QuerySet[Invoice]) -> list[dict]:
    return list(
        invoices.values("currency")
        .annotate(
            count=Count("pk"),
            sum_total=Sum("total", default=0),
            sum_paid=Sum("total", filter=Q(status=Invoice.Status.PAID), default=0),
        )
        .order_by("currency")
    )


def revenue_by_month(*, currency: str, months: int = 12) -> list[dict]:
    """Commission billed (finalized, not void) and collected (paid), per period."""
    rows = (
        Invoice.objects.filter(currency=currency, status__in=FINAL)
        .values("period_start")
        .annotate(
            billed=Sum("total", default=0),
            collected=Sum("total", filter=Q(status=Invoice.Status.PAID), default=0),
        )
        .order_by("-period_start")[:months]
    )
    return list(reversed(rows))


def revenue_currencies() -> list[str]:
    return list(
        Invoice.objects.filter(status__in=FINAL)
        .values_list("currency", flat=True)
        .distinct()
        .order_by("currency")
    )


def top_merchants(*, currency: str, limit: int = 10) -> list[dict]:
    return list(
        Invoice.objects.filter(currency=currency, status__in=FINAL)
        .values("merchant__slug", "merchant__name")
        .annotate(billed=Sum("total", default=0), invoices=Count("pk"))
        .order_by("-billed", "merchant__slug")[:limit]
    )


def liability_latest() -> list[VoucherLiabilitySnapshot]:
    """The newest snapshot row of each merchant and currency."""
    return list(
        VoucherLiabilitySnapshot.objects.select_related("merchant")
        .order_by("merchant_id", "currency", "-as_of")
        .distinct("merchant_id", "currency")
    )
