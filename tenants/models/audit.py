"""The audit log: who did what, for which merchant, from where. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    USER_LOGIN = "user.login", "Signed in"
    USER_LOGIN_FAILED = "user.login_failed", "Failed sign-in"
    USER_MFA_ENABLED = "user.mfa_enabled", "Two-factor authentication enabled"
    USER_MFA_DISABLED = "user.mfa_disabled", "Two-factor authentication disabled"
    USER_PASSWORD_CHANGED = "user.password_changed", "Password changed"
    USER_PASSWORD_RESET = "user.password_reset", "Password reset"
    USER_EMAIL_CHANGED = "user.email_changed", "Email address changed"
    USER_SESSION_ENDED = "user.session_ended", "Signed out a session"
    USER_SESSIONS_ENDED = "user.other_sessions_ended", "Signed out everywhere else"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_ROLLED = "api_key.rolled", "API key rolled"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    API_KEY_ORIGINS_UPDATED = "api_key.origins_updated", "API key allowed origins changed"
    MEMBER_INVITED = "member.invited", "Member invited"
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    INVITATION_REVOKED = "invitation.revoked", "Invitation withdrawn"
    MERCHANT_CREATED = "merchant.created", "Merchant created"
    MERCHANT_SUSPENDED = "merchant.suspended", "Merchant suspended"
    MERCHANT_REACTIVATED = "merchant.reactivated", "Merchant reactivated"
    MERCHANT_LIVE_ACTIVATED = "merchant.live_activated", "Live mode activated"
    MERCHANT_PAY_BUTTONS_UPDATED = "merchant.pay_buttons_updated", "Accepted pay buttons changed"
    MERCHANT_SETTINGS_CHANGED = "merchant.settings_changed", "Business settings changed"
    VOUCHER_ENUMERATION_SUSPECTED = (
        "voucher.enumeration_suspected",
        "Voucher code guessing suspected",
    )
    INVOICE_RUN = "billing.invoice_run", "Invoice run"
    INVOICE_FINALIZED = "invoice.finalized", "Invoice finalized"
    INVOICE_SENT = "invoice.sent", "Invoice sent to Stripe"
    INVOICE_PAID = "invoice.paid", "Invoice paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed", "Invoice payment failed"
    INVOICE_VOIDED = "invoice.voided", "Invoice voided"
    INVOICE_UNCOLLECTIBLE = "invoice.marked_uncollectible", "Invoice marked uncollectible"
    BILLING_DETAILS_CHANGED = "billing.details_changed", "Billing details changed"
    FINANCE_VIEWED = "finance.viewed", "Finance console viewed"
    STAFF_ACCESS_CHANGED = "staff.access_changed", "Staff access changed"
    PAYMENT_REFUNDED = "payment.refunded", "Payment refunded"


class ActorType(models.TextChoices):
    USER = "user", "User"
    SYSTEM = "system", "System"
    STRIPE = "stripe", "Stripe"


class AuditActionField(models.CharField):
    """A CharField whose choices (AuditAction: the admin's labels and filters, form validation)
    stay out of migrations: a new audit action is code only, not a migration repeating the
    whole list."""

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        return name, path, args, kwargs


class AuditLog(models.Model):
    """One recorded action. Rows are written by `tenants.audit.audit_record` in the transaction
    of the change they record, and never changed or deleted by the product."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as written: the trail still names the person after their account is gone or renamed.
    actor_email = models.EmailField(blank=True)
    # Null for platform-level actions (a sign-in, a platform setting).
    merchant = models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = AuditActionField(max_length=64, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="audit_merchant_recent"),
            models.Index(fields=["-created_at"], name="audit_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_type__in=["user", "system", "stripe"]),
                name="audit_actor_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("Audit log rows are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit log rows are append-only; they cannot be deleted.")

    @property
    def actor_label(self) -> str:
        return self.actor_email or self.actor_type

    @property
    def target(self) -> str:
        return f"{self.target_type}:{self.target_id}" if self.target_type else ""
