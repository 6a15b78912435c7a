"""Webhook endpoints, events and deliveries live in each merchant's schema; the due-delivery
queue that the sweeper reads across merchants is `webhooks.queue.models.DueDelivery` (public)."""

from __future__ import annotations

import base64
import secrets

from django.db import models

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes


def endpoint_public_id_new() -> str:
    return "we_" + secrets.token_hex(12)


def event_public_id_new() -> str:
    return "evt_" + secrets.token_hex(12)


def delivery_public_id_new() -> str:
    return "whd_" + secrets.token_hex(12)


def endpoint_secret_new() -> str:
    """`whsec_` + base64 of 32 random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


class WebhookEndpoint(models.Model):
    public_id = models.CharField(
        max_length=32, unique=True, default=endpoint_public_id_new, editable=False
    )
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    # Event type values, or ["*"] for every type (including types added later).
    enabled_events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    livemode = models.BooleanField(default=False)
    secret = models.CharField(max_length=128, default=endpoint_secret_new)
    # The secret before the last rotation; deliveries are signed with it too until it expires.
    previous_secret = models.CharField(max_length=128, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set at the first failure after a success; cleared by the next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.BigIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["livemode", "-created_at"], name="webhook_endpoint_list")]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events


class Event(models.Model):
    public_id = models.CharField(
        max_length=32, unique=True, default=event_public_id_new, editable=False
    )
    type = models.CharField(max_length=64)
    livemode = models.BooleanField(default=False)
    api_version = models.CharField(max_length=16)
    # `data.object` of the payload: carries "id", "object" and "version".
    data_object = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["livemode", "-created_at", "-id"], name="event_list_idx"),
            models.Index(fields=["livemode", "type", "-created_at"], name="event_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    @property
    def created(self) -> int:
        return int(self.created_at.timestamp())

    def payload(self) -> dict:
        return {
            "id": self.public_id,
            "object": "event",
            "type": self.type,
            "created": self.created,
            "livemode": self.livemode,
            "api_version": self.api_version,
            "data": {"object": self.data_object},
        }


class Delivery(models.Model):
    """One event to one endpoint. Every attempt reuses the event id as `webhook-id`."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # an attempt is due (first one or a retry)
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # no attempt left, or the endpoint was disabled

    public_id = models.CharField(
        max_length=32, unique=True, default=delivery_public_id_new, editable=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_idx"),
            models.Index(fields=["endpoint", "status", "-created_at"], name="delivery_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_event_endpoint")
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request to the endpoint, as sent and as answered (first 2 KB)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    url = models.CharField(max_length=2048)
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(default=0)
    # Why no status: timeout, connection refused, address refused by the SSRF guard, ...
    error = models.CharField(max_length=500, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["delivery", "-attempted_at"], name="attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S} → {self.status_code}"
