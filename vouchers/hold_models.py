"""A hold reserves part of a voucher's balance for one checkout until it expires, so two
shoppers cannot both plan to spend the same balance. Holds move no money: the balance changes
only when a payment redeems the voucher (vouchers.services); an expired hold is simply ignored."""

from __future__ import annotations

from django.db import models


class VoucherHold(models.Model):
    voucher = models.ForeignKey("vouchers.Voucher", on_delete=models.CASCADE, related_name="holds")
    # Who holds it: a checkout session's public id (`cs_…`).
    holder = models.CharField(max_length=64)
    # The share of the balance reserved; 0 when the voucher is listed but not needed.
    amount = models.BigIntegerField()
    # The order the holder pays: once it is paid, every other holder of it is released.
    order_id = models.CharField(max_length=64, blank=True, db_default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["voucher", "holder"], name="voucher_hold_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="voucher_hold_gte_0"),
        ]
        indexes = [
            models.Index(fields=["holder"], name="voucher_hold_holder_idx"),
            models.Index(fields=["voucher", "expires_at"], name="voucher_hold_active_idx"),
            models.Index(fields=["order_id"], name="voucher_hold_order_idx"),
        ]

    def __str__(self) -> str:
        return f"hold {self.amount} on {self.voucher_id} for {self.holder}"
