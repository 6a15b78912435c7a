"""The finance console (/finance/…): invoices across merchants, revenue, runs, voucher
liability. Reads go through `reporting_reads()` (the replica when one is configured)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import exports, selectors
from billing.errors import BillingError
from billing.finance_access import finance_view
from billing.invoicing import invoice_run, period_previous
from billing.liability import liability_snapshot_merchant
from billing.lifecycle import invoice_mark_paid, invoice_mark_uncollectible, invoice_void
from billing.models import Invoice
from billing.portal_views import company_context
from superpayment.charts import BarChart, Group, Series, bar_chart_build
from superpayment.db_router import reporting_reads
from tenants.models import Merchant
from tenants.regional import merchant_regional

MONTHS = ("12", "24", "36")  # the revenue chart's ranges
BILLED = Series(name="Billed", css_class="series-a")
COLLECTED = Series(name="Collected", css_class="series-b")
ACTION_DONE = {"void": "voided", "uncollectible": "marked uncollectible", "paid": "marked paid"}


def _period(text: str) -> date | None:
    try:
        return date.fromisoformat(text + "-01") if len(text) == 7 else None
    except ValueError:
        return None


def _today() -> date:
    return timezone.now().date()


def _months(last: date, count: int) -> list[date]:
    """`count` month starts ending with `last`'s month, oldest first."""
    index = last.year * 12 + last.month - 1
    return [date(n // 12, n % 12 + 1, 1) for n in range(index - count + 1, index + 1)]


def _chart(rows: list[dict], currency: str, months: list[date]) -> BarChart:
    """Billed and collected per month, side by side (superpayment/charts.py); a month without
    invoices is an empty slot, so the axis is continuous."""
    by_month = {row["period_start"]: row for row in rows}
    empty = {"billed": 0, "collected": 0}
    groups = [
        Group(
            short_label=format_skeleton("MMMyy", month, locale="en"),
            long_label=format_skeleton("yMMMM", month, locale="en"),
            values=(by_month.get(month, empty)["billed"], by_month.get(month, empty)["collected"]),
        )
        for month in months
    ]
    return bar_chart_build(
        title=f"Commission in {currency} per month",
        currency=currency,
        series=[BILLED, COLLECTED],
        groups=groups,
        locale="en",
    )


@finance_view
@require_GET
def finance_home(request: HttpRequest) -> HttpResponse:
    months = int(request.GET.get("months", "12")) if request.GET.get("months") in MONTHS else 12
    # The last `months` invoiced periods: up to last month (this month is not invoiced yet).
    shown = _months(period_previous(_today()), months)
    currencies_rows = []
    with reporting_reads():
        for currency in selectors.revenue_currencies():
            rows = selectors.revenue_by_month(currency=currency, months=months)
            currencies_rows.append(
                {
                    "currency": currency,
                    "chart": _chart(rows, currency, shown),
                    "top": selectors.top_merchants(currency=currency),
                }
            )
    return render(
        request,
        "billing/finance_home.html",
        {"revenue": currencies_rows, "months": months, "month_choices": [int(m) for m in MONTHS]},
    )


@finance_view
@require_GET
def finance_invoices(request: HttpRequest) -> HttpResponse:
    filters = {
        "period": request.GET.get("period", ""),
        "status": request.GET.get("status", ""),
        "merchant": request.GET.get("merchant", "").strip(),
        "currency": request.GET.get("currency", "").strip(),
    }
    with reporting_reads():
        invoices = selectors.invoice_search(
            period=_period(filters["period"]),
            status=filters["status"] if filters["status"] in Invoice.Status.values else "",
            merchant=filters["merchant"],
            currency=filters["currency"],
        )
        if request.GET.get("format") == "csv":
            return exports.invoices_csv(invoices=list(invoices))
        totals = selectors.invoice_totals(invoices=invoices)
        page = list(invoices[:500])
    return render(
        request,
        "billing/finance_invoices.html",
        {
            "invoices": page,
            "totals": totals,
            "filters": filters,
            "statuses": Invoice.Status.choices,
            "truncated": len(page) == 500,
            "csv_query": request.GET.urlencode(),
        },
    )


def _invoice_or_404(invoice_id: int) -> Invoice:
    invoice = Invoice.objects.select_related("merchant").filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


@finance_view
@require_GET
def finance_invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    with reporting_reads():
        invoice = _invoice_or_404(invoice_id)
        lines = list(invoice.lines.all())
        entries = list(selectors.invoice_entries(invoice=invoice)[:200])
    # The invoice reads as its merchant received it: amounts in the business's locale, times
    # in its zone (each shown with the zone's name).
    with merchant_regional(invoice.merchant):
        return render(
            request,
            "billing/finance_invoice.html",
            {"invoice": invoice, "lines": lines, "entries": entries, **company_context()},
        )


@finance_view
@require_GET
def finance_invoice_payments_csv(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return exports.invoice_payments_csv(invoice=_invoice_or_404(invoice_id))


@finance_view
@require_POST
def finance_invoice_action(request: HttpRequest, invoice_id: int, action: str) -> HttpResponse:
    invoice = _invoice_or_404(invoice_id)
    text = request.POST.get("reason", "")
    services = {
        "void": lambda: invoice_void(
            invoice=invoice, actor=request.user, reason=text, request=request
        ),
        "uncollectible": lambda: invoice_mark_uncollectible(
            invoice=invoice, actor=request.user, reason=text, request=request
        ),
        "paid": lambda: invoice_mark_paid(
            invoice=invoice, actor=request.user, reference=text, request=request
        ),
    }
    if action not in services:
        raise Http404("No such action")
    try:
        services[action]()
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invoice {invoice.number}: {ACTION_DONE[action]}.")
    return redirect("finance_invoice", invoice_id=invoice.pk)


@finance_view
@require_http_methods(["GET", "POST"])
def finance_run(request: HttpRequest) -> HttpResponse:
    default = period_previous(timezone.now().date()).strftime("%Y-%m")
    if request.method == "POST":
        period = _period(request.POST.get("period", ""))
        if period is None:
            messages.error(request, "Give a period as YYYY-MM.")
        else:
            try:
                result = invoice_run(period_start=period, actor=request.user)
            except BillingError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    f"{period:%Y-%m}: {result.drafts_created} new invoices, "
                    f"{result.entries_attached} entries billed, {result.finalized} finalized.",
                )
                return redirect(f"/finance/invoices/?period={period:%Y-%m}")
    return render(request, "billing/finance_run.html", {"default_period": default})


@finance_view
@require_http_methods(["GET", "POST"])
def finance_liability(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        merchant = Merchant.objects.merchants().filter(slug=request.POST.get("merchant")).first()
        if merchant is None:
            messages.error(request, "No such merchant.")
        else:
            liability_snapshot_merchant(merchant=merchant)
            messages.success(request, f"Voucher liability of {merchant.slug} computed now.")
        return redirect("finance_liability")
    with reporting_reads():
        snapshots = selectors.liability_latest()
    merchant = request.GET.get("merchant", "").strip()
    if merchant:
        snapshots = [s for s in snapshots if s.merchant.slug == merchant]
    if request.GET.get("format") == "csv":
        return exports.liability_csv(snapshots=snapshots)
    totals: dict[str, dict] = {}
    for s in snapshots:
        row = totals.setdefault(
            s.currency, {"currency": s.currency, "outstanding": 0, "d30": 0, "d90": 0}
        )
        row["outstanding"] += s.outstanding
        row["d30"] += s.expiring_30d
        row["d90"] += s.expiring_90d
    return render(
        request,
        "billing/finance_liability.html",
        {"snapshots": snapshots, "totals": sorted(totals.values(), key=lambda r: r["currency"])},
    )
