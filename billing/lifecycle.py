"""Invoice status changes after finalization, as Stripe's: open → paid / void / uncollectible,
uncollectible → paid / void. Each change is audited with its actor and reason. Paid comes from
Stripe's event or from finance recording a bank transfer."""

from __future__ import annotations

import stripe
import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from billing.errors import BillingError, BillingErrorCode
from billing.models import Invoice, StripeEvent
from tenants.audit import ActorType, AuditAction, audit_record
from tenants.models import User

log = structlog.get_logger(__name__)

S = Invoice.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.PAID, S.VOID, S.UNCOLLECTIBLE}),
    S.UNCOLLECTIBLE: frozenset({S.PAID, S.VOID}),
}
STAMP = {S.PAID: "paid_at", S.VOID: "voided_at", S.UNCOLLECTIBLE: "uncollectible_at"}
ACTION = {
    S.PAID: AuditAction.INVOICE_PAID,
    S.VOID: AuditAction.INVOICE_VOIDED,
    S.UNCOLLECTIBLE: AuditAction.INVOICE_UNCOLLECTIBLE,
}


def _transition(
    *,
    invoice: Invoice,
    to: str,
    actor: User | str,
    reason: str,
    request: HttpRequest | None = None,
) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("merchant").get(pk=invoice.pk)
    if to not in TRANSITIONS.get(invoice.status, frozenset()):
        raise BillingError(
            BillingErrorCode.INVOICE_TRANSITION_INVALID,
            f"A {invoice.get_status_display().lower()} invoice cannot become {to}.",
        )
    previous = invoice.status
    invoice.status = to
    invoice.status_reason = reason[:500]
    setattr(invoice, STAMP[to], timezone.now())
    invoice.save(update_fields=["status", "status_reason", STAMP[to]])
    audit_record(
        action=ACTION[to],
        actor=actor,
        request=request,
        merchant=invoice.merchant,
        target=invoice,
        details={"number": invoice.number, "from": previous, "to": to, "reason": reason},
    )
    return invoice


def _tell_stripe(invoice: Invoice, to: str) -> None:
    """Void, mark uncollectible or paid out of band on Stripe too, when the invoice was sent
    there."""
    if not (settings.STRIPE_API_KEY and invoice.stripe_invoice_id):
        return
    from billing.stripe_sync import stripe_client

    client = stripe_client()
    key = f"sp-invoice-{invoice.pk}-{to}"
    try:
        if to == S.VOID:
            client.v1.invoices.void_invoice(
                invoice.stripe_invoice_id, options={"idempotency_key": key}
            )
        elif to == S.PAID:
            # Collected outside Stripe: Stripe stops reminding the merchant.
            client.v1.invoices.pay(
                invoice.stripe_invoice_id,
                params={"paid_out_of_band": True},
                options={"idempotency_key": key},
            )
        else:
            client.v1.invoices.mark_uncollectible(
                invoice.stripe_invoice_id, options={"idempotency_key": key}
            )
    except stripe.StripeError as exc:
        raise BillingError(BillingErrorCode.STRIPE_FAILED, f"Stripe refused: {exc}") from exc


@transaction.atomic
def invoice_void(
    *, invoice: Invoice, actor: User, reason: str, request: HttpRequest | None = None
) -> Invoice:
    """Finance voids an invoice (it will not be collected; it stays, numbered, for the books)."""
    if not reason.strip():
        raise BillingError(BillingErrorCode.REASON_REQUIRED, "Give a reason.", param="reason")
    invoice = _transition(invoice=invoice, to=S.VOID, actor=actor, reason=reason, request=request)
    _tell_stripe(invoice, S.VOID)
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(
    *, invoice: Invoice, actor: User, reason: str, request: HttpRequest | None = None
) -> Invoice:
    if not reason.strip():
        raise BillingError(BillingErrorCode.REASON_REQUIRED, "Give a reason.", param="reason")
    invoice = _transition(
        invoice=invoice, to=S.UNCOLLECTIBLE, actor=actor, reason=reason, request=request
    )
    _tell_stripe(invoice, S.UNCOLLECTIBLE)
    return invoice


@transaction.atomic
def invoice_mark_paid(
    *, invoice: Invoice, actor: User, reference: str, request: HttpRequest | None = None
) -> Invoice:
    """Finance records a payment received outside Stripe (a bank transfer), with its reference
    (the bank's transaction id or the statement line), so "collected" counts it."""
    reference = reference.strip()
    if not reference:
        raise BillingError(
            BillingErrorCode.REASON_REQUIRED,
            "Give the bank transfer's reference or statement line.",
            param="reason",
        )
    invoice = _transition(
        invoice=invoice,
        to=S.PAID,
        actor=actor,
        reason=f"Paid by bank transfer: {reference}",
        request=request,
    )
    _tell_stripe(invoice, S.PAID)
    return invoice


STRIPE_EVENT_STATUS = {
    "invoice.paid": S.PAID,
    "invoice.voided": S.VOID,
    "invoice.marked_uncollectible": S.UNCOLLECTIBLE,
}
HANDLED_EVENTS = frozenset({*STRIPE_EVENT_STATUS, "invoice.payment_failed"})


def _invoice_for(obj: dict) -> Invoice | None:
    stripe_id = obj.get("id") or ""
    invoice = Invoice.objects.filter(stripe_invoice_id=stripe_id).first() if stripe_id else None
    if invoice is None:
        ours = (obj.get("metadata") or {}).get("superpayment_invoice_id", "")
        if str(ours).isdigit():
            invoice = Invoice.objects.filter(pk=int(ours)).first()
    return invoice


@transaction.atomic
def stripe_event_process(*, event_id: str, event_type: str, obj: dict) -> str:
    """Apply one verified Stripe event; returns what happened. An event id seen before changes
    nothing ("duplicate")."""
    invoice = _invoice_for(obj) if event_type in HANDLED_EVENTS else None
    _, created = StripeEvent.objects.get_or_create(
        event_id=event_id, defaults={"type": event_type, "invoice": invoice}
    )
    if not created:
        return "duplicate"
    if invoice is None:
        return "ignored"
    reason = f"Stripe event {event_type} ({event_id})"
    if event_type == "invoice.payment_failed":
        audit_record(
            action=AuditAction.INVOICE_PAYMENT_FAILED,
            actor=ActorType.STRIPE,
            merchant=invoice.merchant,
            target=invoice,
            details={"number": invoice.number, "reason": reason},
        )
        return "recorded"
    to = STRIPE_EVENT_STATUS[event_type]
    if invoice.status == to:
        return "unchanged"
    try:
        with transaction.atomic():
            _transition(invoice=invoice, to=to, actor=ActorType.STRIPE, reason=reason)
    except BillingError:
        log.warning("stripe_event_out_of_order", event_id=event_id, invoice=invoice.pk)
        return "refused"
    return "applied"
