"""The demo shop: `make run` sets up a publishable test key and vouchers for the demo merchant
(`setup_platform --demo`) and serves /demo/shop/, a product page with the widget on it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.utils import schema_context

from tenants.keys import api_key_create
from tenants.models import ApiKey, Merchant
from tenants.origins import origin_normalise
from vouchers.models import Voucher
from vouchers.services import voucher_issue

DEMO_SLUG = "demo-shop"
DEMO_KEY_NAME = "Demo shop"
# Vouchers kept ready for the demo: (amount in minor units, label).
DEMO_VOUCHERS = [(10_000, "100.00"), (5_000, "50.00"), (2_500, "25.00")]
DEMO_PRODUCT = {"name": "SuperPayment mug", "amount": "24.90", "currency": "EUR"}


@dataclass(frozen=True)
class DemoCheckout:
    publishable_key: str
    codes: list[tuple[str, int]]


def demo_key_get(*, merchant: Merchant) -> ApiKey | None:
    return (
        ApiKey.objects.filter(
            merchant=merchant,
            name=DEMO_KEY_NAME,
            kind=ApiKey.Kind.PUBLISHABLE,
            mode=ApiKey.Mode.TEST,
            revoked_at__isnull=True,
            expires_at__isnull=True,
        )
        .order_by("pk")
        .first()
    )


def demo_checkout_ensure(*, merchant: Merchant, base_url: str | None = None) -> DemoCheckout:
    """Development data: a publishable test key for the demo shop's origin (PUBLIC_BASE_URL)
    and a few test vouchers with money left on them. Safe to run on every start."""
    origin = origin_normalise(base_url or settings.PUBLIC_BASE_URL)
    key = demo_key_get(merchant=merchant)
    if key is None:
        key, _ = api_key_create(
            merchant=merchant,
            kind=ApiKey.Kind.PUBLISHABLE,
            mode=ApiKey.Mode.TEST,
            name=DEMO_KEY_NAME,
            actor=None,
            allowed_origins=[origin],
        )
    elif origin not in key.allowed_origins:
        key.allowed_origins = [*key.allowed_origins, origin][-20:]
        key.save(update_fields=["allowed_origins"])
    with schema_context(merchant.schema_name):
        usable = Voucher.objects.filter(
            livemode=False, status=Voucher.Status.ACTIVE, metadata__demo="true"
        )
        for amount, _label in DEMO_VOUCHERS[usable.count() :]:
            voucher_issue(currency="EUR", amount=amount, metadata={"demo": "true"})
        codes = list(
            Voucher.objects.filter(
                livemode=False, status=Voucher.Status.ACTIVE, metadata__demo="true"
            )
            .order_by("-balance", "pk")
            .values_list("code", "balance")[: len(DEMO_VOUCHERS)]
        )
    return DemoCheckout(publishable_key=key.publishable_key, codes=codes)


# A shop's page: the widget adds its styles to its shadow roots as <style> elements.
@csp_update({"style-src": [UNSAFE_INLINE]})
def demo_shop(request: HttpRequest) -> HttpResponse:
    connection.set_schema_to_public()
    merchant = Merchant.objects.filter(slug=DEMO_SLUG).first()
    key = demo_key_get(merchant=merchant) if merchant else None
    if key is None or settings.PRODUCTION:
        raise Http404("The demo shop runs under `make run` only.")
    return render(
        request,
        "checkout/demo_shop.html",
        {
            "merchant": merchant,
            "publishable_key": key.publishable_key,
            "product": DEMO_PRODUCT,
            "order_id": "DEMO-" + secrets.token_hex(4).upper(),
        },
    )
