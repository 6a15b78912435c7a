"""Commission invoices (public schema), their numbering, and what Stripe knows of them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.vat import TaxTreatment


class Invoice(models.Model):
    """One merchant's commission for one currency and one billing period.

    Lifecycle as Stripe's: draft → open (finalized: numbered, immutable) → paid / void /
    uncollectible; uncollectible may still become paid or void. Amounts are signed minor units:
    `subtotal` the commission charged, `credits` the refund credits (≤ 0), `total` their sum
    (net of VAT); `tax_amount` the VAT on `total` (billing/vat.py), fixed at finalization with
    the customer's details; `amount_due` what the merchant pays."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"

    class StripeState(models.TextChoices):
        NOT_SENT = "not_sent", "Not sent to Stripe"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent to Stripe"
        FAILED = "failed", "Sending failed"

    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    period_start = models.DateField()
    period_end = models.DateField(help_text="exclusive")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    number_year = models.PositiveIntegerField(null=True, blank=True)
    number_seq = models.PositiveIntegerField(null=True, blank=True)
    subtotal = models.BigIntegerField(default=0)
    credits = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    entry_count = models.PositiveIntegerField(default=0)
    # Who is billed, copied at finalization.
    billed_name = models.CharField(max_length=120, blank=True)
    billed_country = models.CharField(max_length=2, blank=True)
    # Database defaults, so writers that predate these columns (a release still rolling out,
    # the invoice run's own INSERT) keep working.
    billed_address = models.TextField(blank=True, default="", db_default="")
    billed_vat_id = models.CharField(max_length=24, blank=True, default="", db_default="")
    tax_treatment = models.CharField(
        max_length=16, choices=TaxTreatment.choices, blank=True, default="", db_default=""
    )
    tax_rate_bps = models.PositiveIntegerField(default=0, db_default=0)
    tax_amount = models.BigIntegerField(default=0, db_default=0)
    amount_due = models.BigIntegerField(default=0, db_default=0)
    tax_note = models.CharField(max_length=300, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    uncollectible_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    stripe_state = models.CharField(
        max_length=16, choices=StripeState.choices, default=StripeState.NOT_SENT
    )
    stripe_invoice_id = models.CharField(max_length=64, blank=True)
    stripe_hosted_url = models.URLField(max_length=500, blank=True)
    stripe_items_added = models.BooleanField(default=False)
    stripe_attempts = models.PositiveIntegerField(default=0)
    stripe_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-period_start", "merchant_id", "currency"]
        indexes = [
            models.Index(fields=["status", "period_start"], name="invoice_status_period"),
            models.Index(fields=["merchant", "-period_start"], name="invoice_merchant_period"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency", "period_start"], name="invoice_one_per_period"
            ),
            models.UniqueConstraint(
                fields=["number_year", "number_seq"], name="invoice_number_unique_in_year"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "paid", "void", "uncollectible"]),
                name="invoice_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="draft", number__isnull=True)
                | (~Q(status="draft") & Q(number__isnull=False)),
                name="invoice_numbered_iff_finalized",
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("subtotal") + models.F("credits")),
                name="invoice_total_is_sum",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="invoice_period_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount_due=models.F("total") + models.F("tax_amount")),
                name="invoice_amount_due_is_sum",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"draft #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def display_number(self) -> str:
        return self.number or f"Draft {self.pk}"

    @property
    def tax_rate_display(self) -> str:
        from billing.vat import vat_rate_display
        from tenants.regional import active_locale

        return vat_rate_display(self.tax_rate_bps, active_locale())


class InvoiceLine(models.Model):
    """The invoice's entries summed per day and kind: commission lines and credit lines."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    day = models.DateField()
    kind = models.CharField(max_length=8)  # CommissionEntry.Kind
    quantity = models.PositiveIntegerField()
    base_amount = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        ordering = ["day", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "day", "kind"], name="line_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.amount}"

    @property
    def is_credit(self) -> bool:
        return self.kind == "reversal"


class InvoiceNumberSequence(models.Model):
    """The last invoice number given in a year; numbers are gap-free because the row is
    advanced in the transaction that finalizes the invoices."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class StripeCustomer(models.Model):
    merchant = models.OneToOneField(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.stripe_customer_id


class StripeEvent(models.Model):
    """A Stripe webhook event already processed: a replay of the same id changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class BillingProfile(models.Model):
    """Who a merchant's invoices are addressed to: legal name, address and VAT ID, copied onto
    each invoice when it is finalized (a later change never rewrites an issued invoice)."""

    merchant = models.OneToOneField(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="billing_profile"
    )
    legal_name = models.CharField(max_length=120, blank=True)
    address = models.TextField(max_length=500, blank=True)
    vat_id = models.CharField(max_length=24, blank=True, help_text="compact, validated")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.legal_name or '-'} {self.vat_id}"
