from tenants.models.activation import TermsAcceptance
from tenants.models.api_keys import ApiKey
from tenants.models.audit import ActorType, AuditAction, AuditLog
from tenants.models.idempotency import IdempotencyKey
from tenants.models.members import Invitation, Membership, Role
from tenants.models.merchants import Domain, Merchant, MerchantQuerySet, PayButton
from tenants.models.users import StaffUser, User

__all__ = [
    "ActorType",
    "ApiKey",
    "AuditAction",
    "AuditLog",
    "Domain",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Merchant",
    "MerchantQuerySet",
    "PayButton",
    "Role",
    "StaffUser",
    "TermsAcceptance",
    "User",
]
