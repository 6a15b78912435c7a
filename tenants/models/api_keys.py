"""API keys: the public index that routes an API or widget request to its merchant's schema."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """A publishable (`pk_…`, for the widget, not secret) or secret (`sk_…`, for the merchant's
    backend) key, in test or live mode.

    Secret keys are stored only as a SHA-256 digest of the full key (see `tenants.keys`), with a
    short display prefix and the last four characters; publishable keys are also kept in clear.
    """

    class Kind(models.TextChoices):
        PUBLISHABLE = "publishable", "Publishable"
        SECRET = "secret", "Secret"

    class Mode(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRING = "expiring", "Expiring (rolled)"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="api_keys"
    )
    mode = models.CharField(max_length=8, choices=Mode.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    # SHA-256 hex digest of the full key; requests are matched by this unique index.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # `sk_test_AbCd`: the kind, mode and first random characters, shown to tell keys apart.
    prefix = models.CharField(max_length=16, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    # The full key for publishable keys (they are public by design); empty for secret keys.
    publishable_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    allowed_origins = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rolled_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rolled_to",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "mode", "kind"], name="api_key_merchant_mode_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mode__in=["test", "live"]), name="api_key_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="secret", publishable_key="", allowed_origins=[])
                | models.Q(kind="publishable", publishable_key__startswith="pk_"),
                name="api_key_kind_fields_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """What a person may see: the whole publishable key, or `sk_test_AbCd…wxyz`."""
        if self.kind == self.Kind.PUBLISHABLE:
            return self.publishable_key
        return f"{self.prefix}…{self.last4}"

    @property
    def livemode(self) -> bool:
        return self.mode == self.Mode.LIVE

    def status_at(self, now: datetime) -> ApiKey.Status:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None:
            return self.Status.EXPIRED if self.expires_at <= now else self.Status.EXPIRING
        return self.Status.ACTIVE

    @property
    def status(self) -> ApiKey.Status:
        return self.status_at(timezone.now())
