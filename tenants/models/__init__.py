from tenants.models.merchants import Domain, Merchant, MerchantQuerySet

__all__ = ["Domain", "Merchant", "MerchantQuerySet"]
