from tenants.models.members import Invitation, Membership, Role
from tenants.models.merchants import Domain, Merchant, MerchantQuerySet
from tenants.models.users import User

__all__ = ["Domain", "Invitation", "Membership", "Merchant", "MerchantQuerySet", "Role", "User"]
