"""The merchant's Billing pages (owner and admin): running commission, invoices, HTML and PDF
invoice, the per-payment CSV, and the link to pay on Stripe."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from billing import exports
from billing.pdf import invoice_pdf
from billing.selectors import (
    commission_running,
    invoice_get_for_merchant,
    invoice_list_for_merchant,
)
from tenants.permissions import Perm
from tenants.portal import merchant_view


def company_context() -> dict:
    return {
        "company_name": settings.BILLING_COMPANY_NAME,
        "company_address": settings.BILLING_COMPANY_ADDRESS,
        "company_vat_id": settings.BILLING_COMPANY_VAT_ID,
    }


def _invoice(request: HttpRequest, invoice_id: int):
    invoice = invoice_get_for_merchant(merchant=request.merchant, invoice_id=invoice_id)
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


@merchant_view(Perm.VIEW_BILLING)
@require_GET
def billing(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "billing/portal_billing.html",
        {
            "running": commission_running(merchant=request.merchant, now=timezone.now()),
            "invoices": invoice_list_for_merchant(merchant=request.merchant)[:120],
        },
    )


@merchant_view(Perm.VIEW_BILLING)
@require_GET
def billing_invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    return render(
        request,
        "billing/portal_invoice.html",
        {"invoice": invoice, "lines": invoice.lines.all(), **company_context()},
    )


@merchant_view(Perm.VIEW_BILLING)
@require_GET
def billing_invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(invoice_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.display_number}.pdf"'
    return response


@merchant_view(Perm.VIEW_BILLING)
@require_GET
def billing_invoice_csv(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return exports.invoice_payments_csv(invoice=_invoice(request, invoice_id))
