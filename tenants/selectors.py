from __future__ import annotations

from tenants.models import Merchant


def merchant_schema_names() -> list[str]:
    return list(Merchant.objects.merchants().values_list("schema_name", flat=True))


def merchant_get_by_slug(*, slug: str) -> Merchant | None:
    return Merchant.objects.merchants().filter(slug=slug).first()
