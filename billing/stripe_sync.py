"""Sending finalized invoices to Stripe through the `stripe` SDK.

Per invoice: the merchant's Stripe customer (created once, on its first invoice), a Stripe
invoice (`send_invoice`, due in 14 days, the VAT wording as its footer), one invoice item each
for the commission, the refund credits and the VAT, then finalization; the Stripe invoice id and
hosted URL are stored. Each step is recorded as soon as Stripe accepted it, so a later attempt
resumes where the last one stopped; every request carries an idempotency key made of the
invoice and the attempt number.
"""

from __future__ import annotations

import stripe
from django.conf import settings
from django.db import transaction

from billing.errors import BillingError, BillingErrorCode
from billing.models import Invoice, StripeCustomer
from superpayment.money import amount_format
from tenants.audit import ActorType, AuditAction, audit_record

DAYS_UNTIL_DUE = 14


def stripe_client() -> stripe.StripeClient:
    options: dict = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE.rstrip("/")}
    return stripe.StripeClient(settings.STRIPE_API_KEY, **options)


def _customer_id(client: stripe.StripeClient, invoice: Invoice) -> str:
    existing = StripeCustomer.objects.filter(merchant_id=invoice.merchant_id).first()
    if existing is not None:
        return existing.stripe_customer_id
    merchant = invoice.merchant
    customer = client.v1.customers.create(
        params={
            "name": merchant.name,
            "description": f"SuperPayment merchant {merchant.slug}",
            "address": {"country": merchant.country},
            "metadata": {"merchant_id": str(merchant.pk), "merchant_slug": merchant.slug},
        },
        # One key per merchant: two invoices racing never make two customers.
        options={"idempotency_key": f"sp-customer-{merchant.pk}"},
    )
    StripeCustomer.objects.get_or_create(
        merchant_id=merchant.pk, defaults={"stripe_customer_id": customer.id}
    )
    return StripeCustomer.objects.get(merchant_id=merchant.pk).stripe_customer_id


def _period_label(invoice: Invoice) -> str:
    return invoice.period_start.strftime("%B %Y")


def _save(invoice: Invoice, **fields) -> None:
    for name, value in fields.items():
        setattr(invoice, name, value)
    Invoice.objects.filter(pk=invoice.pk).update(**fields)


def invoice_send(*, invoice_id: int) -> Invoice:
    """Send one finalized invoice to Stripe; a no-op once sent or without a Stripe key.
    Raises BillingError(stripe_failed) after recording the failure, so the task can retry."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("merchant").get(pk=invoice_id)
        if (
            not settings.STRIPE_API_KEY
            or invoice.status == Invoice.Status.DRAFT
            or invoice.stripe_state == Invoice.StripeState.SENT
        ):
            return invoice
        attempt = invoice.stripe_attempts + 1
        _save(invoice, stripe_attempts=attempt)
    key = f"sp-invoice-{invoice.pk}-attempt-{attempt}"
    client = stripe_client()
    currency = invoice.currency.lower()
    try:
        customer = _customer_id(client, invoice)
        if not invoice.stripe_invoice_id:
            created = client.v1.invoices.create(
                params={
                    "customer": customer,
                    "currency": currency,
                    "collection_method": "send_invoice",
                    "days_until_due": DAYS_UNTIL_DUE,
                    "auto_advance": False,
                    "pending_invoice_items_behavior": "exclude",
                    "description": f"SuperPayment commission, {_period_label(invoice)}",
                    **({"footer": invoice.tax_note} if invoice.tax_note else {}),
                    "metadata": {
                        "superpayment_invoice_id": str(invoice.pk),
                        "number": invoice.number,
                        "period_start": invoice.period_start.isoformat(),
                    },
                },
                options={"idempotency_key": f"{key}-create"},
            )
            _save(invoice, stripe_invoice_id=created.id)
        if not invoice.stripe_items_added:
            items = []
            if invoice.subtotal:
                items.append(("commission", invoice.subtotal, "Commission on payments"))
            if invoice.credits:
                items.append(("credits", invoice.credits, "Commission credited on refunds"))
            if invoice.tax_amount:
                items.append(("vat", invoice.tax_amount, f"VAT {invoice.tax_rate_display}"))
            for name, amount, description in items:
                client.v1.invoice_items.create(
                    params={
                        "customer": customer,
                        "invoice": invoice.stripe_invoice_id,
                        "currency": currency,
                        "amount": amount,
                        "description": f"{description}, {_period_label(invoice)} "
                        f"({amount_format(amount, invoice.currency)})",
                        "metadata": {"superpayment_invoice_id": str(invoice.pk), "line": name},
                    },
                    options={"idempotency_key": f"{key}-item-{name}"},
                )
            _save(invoice, stripe_items_added=True)
        finalized = client.v1.invoices.finalize_invoice(
            invoice.stripe_invoice_id,
            params={"auto_advance": False},
            options={"idempotency_key": f"{key}-finalize"},
        )
    except stripe.StripeError as exc:
        _save(invoice, stripe_state=Invoice.StripeState.FAILED, stripe_error=str(exc)[:500])
        raise BillingError(BillingErrorCode.STRIPE_FAILED, f"Stripe refused: {exc}") from exc
    with transaction.atomic():
        _save(
            invoice,
            stripe_state=Invoice.StripeState.SENT,
            stripe_hosted_url=finalized.hosted_invoice_url or "",
            stripe_error="",
        )
        audit_record(
            action=AuditAction.INVOICE_SENT,
            actor=ActorType.SYSTEM,
            merchant=invoice.merchant,
            target=invoice,
            details={"number": invoice.number, "stripe_invoice_id": invoice.stripe_invoice_id},
        )
    return invoice
