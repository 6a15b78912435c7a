"""Live-mode activation: the record of who accepted which version of the terms, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TermsAcceptance(models.Model):
    """One acceptance of the platform's terms for a merchant, written when an owner activates
    live mode. Kept as written: the person's email stays after their account is gone."""

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="terms_acceptances"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    user_email = models.EmailField()
    version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(default=timezone.now, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-accepted_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-accepted_at"], name="terms_merchant_recent")]

    def __str__(self) -> str:
        return f"{self.user_email} accepted terms {self.version} for {self.merchant_id}"
