"""One-click: a voucher remembered on the shopper's device, per merchant.

The device keeps a random token in an HttpOnly cookie of the platform's own origin (the payment
frame's), never readable by the shop's page; the merchant's schema keeps the token's SHA-256
digest and which voucher it stands for. Forgetting deletes the row and the cookie.
"""

from __future__ import annotations

import hashlib
import secrets

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from checkout.models import Payment, RememberedVoucher
from vouchers.models import Voucher

COOKIE_PREFIX = "sp_remember_"
COOKIE_PATH = "/checkout/"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name(merchant_slug: str) -> str:
    return COOKIE_PREFIX + merchant_slug.replace("-", "_")


def remembered_voucher_get(*, token: str, livemode: bool) -> RememberedVoucher | None:
    if not token:
        return None
    return (
        RememberedVoucher.objects.select_related("voucher")
        .filter(token_hash=_digest(token), livemode=livemode)
        .first()
    )


def remembered_voucher_create(*, payment: Payment) -> str | None:
    """Remember the voucher of `payment` that has the most left (none if all are spent);
    returns the token for the device."""
    voucher = (
        Voucher.objects.filter(
            public_id__in=[tender["voucher"] for tender in payment.tenders],
            livemode=payment.livemode,
            status=Voucher.Status.ACTIVE,
            balance__gt=0,
        )
        .order_by("-balance", "pk")
        .first()
    )
    if voucher is None:
        return None
    token = secrets.token_urlsafe(32)
    RememberedVoucher.objects.create(
        token_hash=_digest(token),
        voucher=voucher,
        livemode=payment.livemode,
        last_used_at=timezone.now(),
    )
    return token


def remembered_voucher_forget(*, token: str) -> int:
    deleted, _ = RememberedVoucher.objects.filter(token_hash=_digest(token)).delete()
    return deleted


def _cookie_attributes(request: HttpRequest) -> str:
    # Over HTTPS the frame is usually a third party on the shop's page: SameSite=None needs
    # Secure, and Partitioned (CHIPS) keeps the cookie per top-level site, as browsers require
    # of third-party cookies. Plain HTTP (local development) can only set a first-party cookie.
    if request.is_secure():
        return "; Secure; SameSite=None; Partitioned"
    return "; SameSite=Lax"


def remember_cookie_set(
    response: HttpResponse, *, request: HttpRequest, merchant_slug: str, token: str
) -> None:
    # Written by hand: Django's set_cookie knows no `Partitioned` attribute.
    header = (
        f"{cookie_name(merchant_slug)}={token}; Path={COOKIE_PATH}; Max-Age={COOKIE_MAX_AGE}; "
        f"HttpOnly{_cookie_attributes(request)}"
    )
    response["Set-Cookie"] = header


def remember_cookie_clear(
    response: HttpResponse, *, request: HttpRequest, merchant_slug: str
) -> None:
    response["Set-Cookie"] = (
        f"{cookie_name(merchant_slug)}=; Path={COOKIE_PATH}; Max-Age=0; "
        f"HttpOnly{_cookie_attributes(request)}"
    )
