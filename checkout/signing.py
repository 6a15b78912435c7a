"""Signed widget tags: the merchant's server signs the amount, so the page cannot change it.

    message   = f"{amount}|{currency}|{order_id}|{expires_at}"
                amount in minor units ("9900"), currency upper case ("EUR"), the order id as
                written in data-order-id, expires_at in Unix seconds (data-expires-at)
    key       = SHA-256 hex digest of the secret key (sk_…), as 64 ASCII characters
    signature = HMAC-SHA256(key, message), lower-case hex  -> data-signature

The platform stores only the SHA-256 digest of each secret key (tenants.keys), which is exactly
the HMAC key, so it can verify a tag without ever holding the secret key itself. Any of the
merchant's active secret keys of the tag's mode may have signed it (a rolled key keeps working
until it expires).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac

from django.db.models import Q

from checkout.errors import CheckoutError, CheckoutErrorCode
from tenants.models import ApiKey, Merchant

# How far ahead a signed tag may expire: long enough for a cached product page.
TAG_MAX_LIFETIME = datetime.timedelta(days=31)


def tag_message(*, amount: int, currency: str, order_id: str, expires_at: int) -> bytes:
    return f"{amount}|{currency}|{order_id}|{expires_at}".encode()


def tag_sign(*, secret_key: str, amount: int, currency: str, order_id: str, expires_at: int) -> str:
    """What the merchant's server computes (shown here for tests and the docs)."""
    key = hashlib.sha256(secret_key.encode()).hexdigest().encode()
    message = tag_message(
        amount=amount, currency=currency, order_id=order_id, expires_at=expires_at
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def tag_verify(
    *,
    merchant: Merchant,
    livemode: bool,
    signature: str,
    amount: int,
    currency: str,
    order_id: str,
    expires_at: int,
    now: datetime.datetime,
) -> None:
    """Raise `signature_expired` or `signature_invalid` unless one of the merchant's active
    secret keys of this mode signed exactly these values."""
    expiry = datetime.datetime.fromtimestamp(expires_at, tz=datetime.UTC)
    if expiry <= now:
        raise CheckoutError(
            CheckoutErrorCode.SIGNATURE_EXPIRED,
            "This signed checkout has expired (data-expires-at); reload the page.",
            param="expires_at",
        )
    if expiry > now + TAG_MAX_LIFETIME:
        raise CheckoutError(
            CheckoutErrorCode.SIGNATURE_INVALID,
            f"data-expires-at is at most {TAG_MAX_LIFETIME.days} days ahead.",
            param="expires_at",
        )
    message = tag_message(
        amount=amount, currency=currency, order_id=order_id, expires_at=expires_at
    )
    digests = ApiKey.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        merchant=merchant,
        kind=ApiKey.Kind.SECRET,
        mode=ApiKey.Mode.LIVE if livemode else ApiKey.Mode.TEST,
        revoked_at__isnull=True,
    ).values_list("key_hash", flat=True)
    for digest in digests:
        expected = hmac.new(digest.encode(), message, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, (signature or "").strip().lower()):
            return
    raise CheckoutError(
        CheckoutErrorCode.SIGNATURE_INVALID,
        "The signature does not match the amount, currency, order id and expiry of this tag.",
        param="signature",
    )
