"""Live-mode activation: what a merchant must give before it may take live payments.

Until an owner activates live mode, live keys cannot be created or used and live payments are
refused (tenants.keys, checkout.payments). Activation asks what a payments product needs:

- business details (legal name and address, a VAT ID where the business has one), kept in
  billing's profile (`billing.profiles`) so invoices and activation share one record;
- a live webhook endpoint that exists and is enabled, so the shop hears of every live payment;
- the platform's terms accepted, recorded with who, which version and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.audit import AuditAction, audit_record, client_ip
from tenants.errors import TenantError, TenantErrorCode
from tenants.models import Membership, Merchant, Role, TermsAcceptance, User

if TYPE_CHECKING:
    from django.http import HttpRequest

log = structlog.get_logger(__name__)

# The version of the platform terms an owner accepts on activation; a new version of the
# terms changes this string (acceptances keep the version they were given for).
TERMS_VERSION = "2026-12-01"


@dataclass(frozen=True)
class ActivationStatus:
    activated: bool
    activated_at: datetime | None
    business_details: bool
    live_webhook_endpoint: bool
    terms_accepted: bool

    @property
    def ready(self) -> bool:
        return self.business_details and self.live_webhook_endpoint


def _live_endpoint_enabled_exists() -> bool:
    """An enabled live webhook endpoint in the active (merchant) schema."""
    from webhooks.selectors import endpoint_list

    return endpoint_list(livemode=True).filter(enabled=True).exists()


def live_activation_status(*, merchant: Merchant) -> ActivationStatus:
    """Where the merchant stands; the merchant's schema must be active."""
    from billing.profiles import billing_profile_get

    profile = billing_profile_get(merchant=merchant)
    return ActivationStatus(
        activated=merchant.live_activated,
        activated_at=merchant.live_activated_at,
        business_details=bool(profile.legal_name and profile.address),
        live_webhook_endpoint=_live_endpoint_enabled_exists(),
        terms_accepted=TermsAcceptance.objects.filter(
            merchant=merchant, version=TERMS_VERSION
        ).exists(),
    )


def _owner_assert(*, merchant: Merchant, actor: User) -> None:
    if not Membership.objects.filter(merchant=merchant, user=actor, role=Role.OWNER).exists():
        raise TenantError(
            TenantErrorCode.OWNER_REQUIRED, "Only an owner of the business can activate live mode."
        )


def _business_details_save(
    *,
    merchant: Merchant,
    legal_name: str,
    address: str,
    vat_id: str,
    actor: User,
    request: HttpRequest | None,
) -> None:
    from billing.profiles import billing_profile_update

    if not legal_name.strip():
        raise TenantError(
            TenantErrorCode.BUSINESS_DETAILS_REQUIRED,
            "Enter the business's legal name.",
            param="legal_name",
        )
    if not address.strip():
        raise TenantError(
            TenantErrorCode.BUSINESS_DETAILS_REQUIRED,
            "Enter the business's registered address.",
            param="address",
        )
    try:
        billing_profile_update(
            merchant=merchant,
            legal_name=legal_name,
            address=address,
            vat_id=vat_id,
            actor=actor,
            request=request,
        )
    except ValidationError as exc:
        messages = exc.message_dict.get("vat_id") or exc.messages
        raise TenantError(
            TenantErrorCode.VAT_ID_INVALID, " ".join(messages), param="vat_id"
        ) from exc


@transaction.atomic
def live_activate(
    *,
    merchant: Merchant,
    actor: User,
    legal_name: str,
    address: str,
    vat_id: str,
    terms_accepted: bool,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Merchant:
    """Save the business details, check the live webhook endpoint, record the terms acceptance
    and switch live mode on, in one transaction; audited. Runs in the merchant's schema.
    Activating an activated merchant changes nothing. Raises TenantError with the reason."""
    now = now or timezone.now()
    locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
    _owner_assert(merchant=locked, actor=actor)
    if not locked.is_active:
        raise TenantError(
            TenantErrorCode.MERCHANT_SUSPENDED,
            "This account is suspended: live mode cannot be activated.",
        )
    if locked.live_activated:
        merchant.live_activated_at = locked.live_activated_at
        return locked
    if not terms_accepted:
        raise TenantError(
            TenantErrorCode.TERMS_NOT_ACCEPTED,
            "Accept the terms of service to activate live mode.",
            param="terms_accepted",
        )
    if not _live_endpoint_enabled_exists():
        raise TenantError(
            TenantErrorCode.LIVE_WEBHOOK_ENDPOINT_REQUIRED,
            "Add a live webhook endpoint (and keep it enabled) first: your shop learns of live "
            "payments only through it.",
        )
    _business_details_save(
        merchant=locked,
        legal_name=legal_name,
        address=address,
        vat_id=vat_id,
        actor=actor,
        request=request,
    )
    acceptance = TermsAcceptance.objects.create(
        merchant=locked,
        user=actor,
        user_email=actor.email,
        version=TERMS_VERSION,
        accepted_at=now,
        ip_address=client_ip(request),
    )
    locked.live_activated_at = now
    locked.save(update_fields=["live_activated_at"])
    merchant.live_activated_at = now
    audit_record(
        action=AuditAction.MERCHANT_LIVE_ACTIVATED,
        actor=actor,
        merchant=locked,
        request=request,
        target=locked,
        details={"terms_version": acceptance.version, "terms_acceptance": acceptance.pk},
    )
    log.info("live_mode_activated", merchant=locked.slug, terms_version=TERMS_VERSION)
    return locked


@transaction.atomic
def merchant_live_activate_for_development(*, merchant: Merchant) -> None:
    """Development and test data only (the demo merchant, test fixtures): live mode on without
    the activation form, audited as a system action."""
    updated = Merchant.objects.filter(pk=merchant.pk, live_activated_at__isnull=True).update(
        live_activated_at=timezone.now()
    )
    merchant.refresh_from_db(fields=["live_activated_at"])
    if updated:
        audit_record(
            action=AuditAction.MERCHANT_LIVE_ACTIVATED,
            actor="system",
            merchant=merchant,
            target=merchant,
            details={"reason": "development data"},
        )
