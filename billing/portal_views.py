"""The merchant's Billing pages (owner and admin): running commission, billing details (legal
name, address, VAT ID), invoices, HTML and PDF invoice, the per-payment CSV, and how to pay."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from billing import exports
from billing.forms import BillingDetailsForm
from billing.pdf import invoice_pdf
from billing.profiles import billing_profile_get, billing_profile_update
from billing.selectors import (
    commission_running,
    invoice_get_for_merchant,
    invoice_list_for_merchant,
)
from billing.vat import iban_format
from tenants.permissions import Perm
from tenants.portal import merchant_view


def company_context() -> dict:
    return {
        "company_name": settings.BILLING_COMPANY_NAME,
        "company_address": settings.BILLING_COMPANY_ADDRESS,
        "company_vat_id": settings.BILLING_COMPANY_VAT_ID,
        "company_country": settings.BILLING_COMPANY_COUNTRY,
        "company_bank_iban": iban_format(settings.BILLING_BANK_IBAN),
        "company_bank_bic": settings.BILLING_BANK_BIC,
    }


def _invoice(request: HttpRequest, invoice_id: int):
    invoice = invoice_get_for_merchant(merchant=request.merchant, invoice_id=invoice_id)
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


@merchant_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def billing(request: HttpRequest) -> HttpResponse:
    profile = billing_profile_get(merchant=request.merchant)
    form = BillingDetailsForm(
        request.POST or None,
        initial={
            "legal_name": profile.legal_name,
            "address": profile.address,
            "vat_id": profile.vat_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            billing_profile_update(
                merchant=request.merchant, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field, error)
        else:
            messages.success(request, "Billing details saved; your next invoice uses them.")
            return redirect("portal:billing", slug=request.merchant.slug)
    return render(
        request,
        "billing/portal_billing.html",
        {
            "running": commission_running(merchant=request.merchant, now=timezone.now()),
            "invoices": invoice_list_for_merchant(merchant=request.merchant)[:120],
            "form": form,
            "profile": profile,
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
