"""The merchant's billing details (legal name, address, VAT ID) that its invoices are addressed
to. Read by the invoice run at finalization; changed by owners and admins on the Billing page."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from billing.models import BillingProfile
from billing.vat import vat_id_normalize
from tenants.audit import AuditAction, audit_record
from tenants.models import Merchant, User


def billing_profile_get(*, merchant: Merchant) -> BillingProfile:
    """The merchant's details, or an unsaved empty profile (the invoice then shows its name)."""
    return BillingProfile.objects.filter(merchant=merchant).first() or BillingProfile(
        merchant=merchant
    )


@transaction.atomic
def billing_profile_update(
    *,
    merchant: Merchant,
    legal_name: str,
    address: str,
    vat_id: str,
    actor: User,
    request: HttpRequest | None = None,
) -> BillingProfile:
    """Save the details, the VAT ID checked for the merchant's country; a bad VAT ID raises
    ValidationError({"vat_id": …})."""
    try:
        compact = vat_id_normalize(value=vat_id, country=merchant.country)
    except ValidationError as exc:
        raise ValidationError({"vat_id": exc.messages}) from exc
    values = {"legal_name": legal_name.strip(), "address": address.strip(), "vat_id": compact}
    profile, _ = BillingProfile.objects.select_for_update().get_or_create(merchant=merchant)
    changed = {name for name, value in values.items() if getattr(profile, name) != value}
    if not changed:
        return profile
    for name, value in values.items():
        setattr(profile, name, value)
    profile.updated_at = timezone.now()
    profile.save()
    audit_record(
        action=AuditAction.BILLING_DETAILS_CHANGED,
        actor=actor,
        request=request,
        merchant=merchant,
        target=profile,
        details={"changed": sorted(changed), "vat_id": profile.vat_id},
    )
    return profile
