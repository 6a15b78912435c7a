"""The commission ledger (public schema): plans, and one append-only entry per successful
payment (a charge) or refund (a reversal, a credit)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from superpayment.money import amount_format, bps_display


def terms_display(*, bps: int, fixed_fee: int, currency: str, locale: str = "en") -> str:
    """A plan's price as people read it: 150 bps + 20 EUR cents → "1.5 % + €0.20" ("1,5 % +
    0,20 €" in a de_DE business's pages)."""
    percent = bps_display(bps, locale)
    if not fixed_fee:
        return percent
    return f"{percent} + {amount_format(fixed_fee, currency, locale)}"


def _active_locale() -> str:
    # The locale of the business whose page is being rendered (English elsewhere).
    from tenants.regional import active_locale

    return active_locale()


class CommissionPlan(models.Model):
    """A commission rate: basis points of the payment amount plus a fixed fee in minor units,
    per successful payment, for one currency (or every currency when `currency` is empty, which
    carries no fixed fee since a fee needs a currency).

    `merchant` empty: the default plan; set: that merchant's override. A plan is in force from
    `effective_from` (inclusive) to `effective_to` (exclusive, open when empty)."""

    name = models.CharField(max_length=100)
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="commission_plans",
    )
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217; empty: any")
    bps = models.PositiveIntegerField(help_text="basis points: 150 = 1.50 %")
    fixed_fee = models.PositiveIntegerField(default=0, help_text="minor units per payment")
    effective_from = models.DateTimeField()
    effective_to = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["merchant_id", "currency", "-effective_from"]
        indexes = [
            models.Index(fields=["merchant", "currency", "effective_from"], name="plan_lookup"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(bps__lte=10_000), name="plan_bps_at_most_100pct"),
            models.CheckConstraint(
                condition=~Q(currency="") | Q(fixed_fee=0), name="plan_any_currency_no_fee"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gt=models.F("effective_from")),
                name="plan_effective_range_valid",
            ),
        ]

    def __str__(self) -> str:
        terms = terms_display(bps=self.bps, fixed_fee=self.fixed_fee, currency=self.currency)
        return f"{self.name} ({self.currency or 'any currency'}: {terms})"


class CommissionEntry(models.Model):
    """One line of the commission ledger. `amount` is signed, in minor units of `currency`:
    positive for a charge (a payment's commission), negative for a reversal (a refund's credit).
    The plan in force is copied onto the entry so later plan changes never rewrite history."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Commission"
        REVERSAL = "reversal", "Refund credit"

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="commission_entries"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    payment_id = models.CharField(max_length=64)
    refund_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL on charges
    currency = models.CharField(max_length=3)
    livemode = models.BooleanField()
    occurred_at = models.DateTimeField()
    # The payment amount (charge) or the refunded amount (reversal) the commission is based on.
    base_amount = models.BigIntegerField()
    amount = models.BigIntegerField()
    # Snapshot of the plan used.
    plan = models.ForeignKey(
        CommissionPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan_name = models.CharField(max_length=100)
    bps = models.PositiveIntegerField()
    fixed_fee = models.PositiveIntegerField()
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            # The invoice run's scan: live entries not yet on an invoice.
            models.Index(
                fields=["occurred_at"],
                name="commission_uninvoiced",
                condition=Q(livemode=True, invoice__isnull=True),
            ),
            models.Index(fields=["invoice", "occurred_at"], name="commission_by_invoice"),
            models.Index(fields=["merchant", "currency", "occurred_at"], name="commission_merch"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "payment_id"],
                condition=Q(kind="charge"),
                name="commission_one_charge_per_payment",
            ),
            models.UniqueConstraint(
                fields=["merchant", "refund_id"],
                condition=Q(kind="reversal"),
                name="commission_one_reversal_per_refund",
            ),
            models.CheckConstraint(
                condition=Q(kind="charge", amount__gte=0, refund_id__isnull=True)
                | Q(kind="reversal", amount__lte=0, refund_id__isnull=False),
                name="commission_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(base_amount__gt=0), name="commission_base_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.payment_id} {self.amount} {self.currency}"

    @property
    def terms_display(self) -> str:
        return terms_display(
            bps=self.bps, fixed_fee=self.fixed_fee, currency=self.currency, locale=_active_locale()
        )
