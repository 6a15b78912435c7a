"""API keys: creating, rolling, revoking, and authenticating a request's key.

A key reads `<pk|sk>_<test|live>_<32 base62 characters>`: 32 characters drawn with `secrets` from
62 carry 190 bits of randomness. Every key is found by the SHA-256 digest of the whole key, through
a unique index: one query, and nothing cached, so a revocation takes effect on the next request.

Why a fast, unsalted hash is right here: a password needs a slow, salted hash because people
choose guessable ones; a 190-bit random key cannot be guessed or looked up in a table, so a
stolen digest is as useless as any 256-bit value, and a slow hash would only cost every API
request its time. (It also keeps the look-up a plain equality on an index; a per-key salt would
not.) Not an HMAC with SECRET_KEY either: rotating SECRET_KEY would then invalidate every key.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from tenants.audit import audit_record
from tenants.errors import ApiKeyError, ApiKeyErrorCode
from tenants.models import ApiKey, AuditAction, Merchant, User
from tenants.origins import allowed_origins_validate

if TYPE_CHECKING:
    from django.http import HttpRequest

log = structlog.get_logger(__name__)

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_LENGTH = 32
KEY_PREFIXES = {ApiKey.Kind.PUBLISHABLE: "pk", ApiKey.Kind.SECRET: "sk"}
KEY_PATTERN = re.compile(r"(?P<kind>pk|sk)_(?P<mode>test|live)_[0-9A-Za-z]{32}")
KEY_DISPLAY_RANDOM_CHARS = 4  # `sk_test_AbCd…`: 4 of the 32 random characters are shown
NAME_MAX_LENGTH = 100

# How long a rolled key keeps working, as offered in the portal.
ROLL_EXPIRY_CHOICES: dict[timedelta, str] = {
    timedelta(0): "Now",
    timedelta(hours=1): "In 1 hour",
    timedelta(hours=24): "In 24 hours",
    timedelta(days=7): "In 7 days",
}

# `last_used_at` is written at most once a minute per key; Redis gates the writes.
LAST_USED_RESOLUTION_SECONDS = 60
LAST_USED_CACHE_ALIAS = "global"


@dataclass(frozen=True)
class AuthenticatedKey:
    """What a request authenticated with: `request.auth` in the API."""

    merchant: Merchant
    mode: ApiKey.Mode
    key: ApiKey

    @property
    def livemode(self) -> bool:
        return self.mode == ApiKey.Mode.LIVE


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def _raw_key_generate(*, kind: ApiKey.Kind, mode: ApiKey.Mode) -> str:
    random_part = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_LENGTH))
    return f"{KEY_PREFIXES[kind]}_{mode}_{random_part}"


def _name_validate(name: str) -> str:
    clean = " ".join((name or "").split())
    if not 1 <= len(clean) <= NAME_MAX_LENGTH:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_NAME_INVALID,
            f"Give the key a name of 1 to {NAME_MAX_LENGTH} characters.",
            param="name",
        )
    return clean


def _merchant_assert_active(merchant: Merchant) -> None:
    if merchant.is_template or not merchant.is_active:
        raise ApiKeyError(
            ApiKeyErrorCode.MERCHANT_SUSPENDED,
            "This merchant account is suspended: API keys cannot be created or changed.",
        )


LIVE_NOT_ACTIVATED_MESSAGE = (
    "Live mode is not activated for this account: live keys cannot be created or used, and "
    "live payments are refused. An owner can activate it in the dashboard (Activate live mode); "
    "test keys work meanwhile."
)


def _live_assert_activated(merchant: Merchant, mode: ApiKey.Mode) -> None:
    if mode == ApiKey.Mode.LIVE and not merchant.live_activated:
        raise ApiKeyError(ApiKeyErrorCode.LIVE_MODE_NOT_ACTIVATED, LIVE_NOT_ACTIVATED_MESSAGE)


def _key_new(
    *,
    merchant: Merchant,
    kind: ApiKey.Kind,
    mode: ApiKey.Mode,
    name: str,
    actor: User | None,
    allowed_origins: list[str],
    rolled_from: ApiKey | None,
    now: datetime,
) -> tuple[ApiKey, str]:
    raw = _raw_key_generate(kind=kind, mode=mode)
    key = ApiKey.objects.create(
        merchant=merchant,
        kind=kind,
        mode=mode,
        name=name,
        key_hash=api_key_hash(raw),
        prefix=raw[: len("sk_test_") + KEY_DISPLAY_RANDOM_CHARS],
        last4=raw[-4:],
        publishable_key=raw if kind == ApiKey.Kind.PUBLISHABLE else "",
        allowed_origins=allowed_origins,
        created_by=actor,
        created_at=now,
        rolled_from=rolled_from,
    )
    return key, raw


def _key_audit(
    action: AuditAction,
    key: ApiKey,
    *,
    actor: User | None,
    request: HttpRequest | None,
    **details,
) -> None:
    """One audit row about `key`, naming it by its masked value (never the secret)."""
    audit_record(
        action=action,
        actor=actor,
        merchant=key.merchant,
        request=request,
        target=key,
        details={
            "name": key.name,
            "kind": key.kind,
            "mode": key.mode,
            "key": key.masked,
            **details,
        },
    )


@transaction.atomic
def api_key_create(
    *,
    merchant: Merchant,
    kind: ApiKey.Kind | str,
    mode: ApiKey.Mode | str,
    name: str,
    actor: User | None,
    allowed_origins: Iterable[str] = (),
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str | None]:
    """Create a key. Returns it with the full secret for a secret key, shown to the person this
    once and never again (only its digest is stored), or None for a publishable key (whose value
    is `key.publishable_key`, visible any time)."""
    now = now or timezone.now()
    if kind not in ApiKey.Kind.values:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_KIND_INVALID,
            "The kind must be publishable or secret.",
            param="kind",
        )
    if mode not in ApiKey.Mode.values:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_MODE_INVALID, "The mode must be test or live.", param="mode"
        )
    kind, mode = ApiKey.Kind(kind), ApiKey.Mode(mode)
    name = _name_validate(name)
    origins = allowed_origins_validate(allowed_origins)
    if origins and kind == ApiKey.Kind.SECRET:
        raise ApiKeyError(
            ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID,
            "Only publishable keys have allowed origins: secret keys never go to a browser.",
            param="allowed_origins",
        )
    _merchant_assert_active(merchant)
    _live_assert_activated(merchant, mode)
    key, raw = _key_new(
        merchant=merchant,
        kind=kind,
        mode=mode,
        name=name,
        actor=actor,
        allowed_origins=origins,
        rolled_from=None,
        now=now,
    )
    _key_audit(AuditAction.API_KEY_CREATED, key, actor=actor, request=request)
    log.info("api_key_created", merchant=merchant.slug, key=key.prefix, kind=kind, mode=mode)
    return key, raw if kind == ApiKey.Kind.SECRET else None


@transaction.atomic
def api_key_roll(
    *,
    key: ApiKey,
    actor: User | None,
    expires_in: timedelta,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str | None]:
    """Replace a key by a new one with the same name, kind, mode and origins. The old key keeps
    working until `now + expires_in` (one of ROLL_EXPIRY_CHOICES), so a deployment can switch
    over. Returns the new key and, for a secret key, its full secret (shown once)."""
    now = now or timezone.now()
    if expires_in not in ROLL_EXPIRY_CHOICES:
        raise ApiKeyError(
            ApiKeyErrorCode.ROLL_EXPIRY_INVALID,
            "The old key can expire now, in 1 hour, in 24 hours or in 7 days.",
            param="expires_in",
        )
    old = ApiKey.objects.select_for_update().select_related("merchant").get(pk=key.pk)
    _merchant_assert_active(old.merchant)
    _live_assert_activated(old.merchant, ApiKey.Mode(old.mode))
    if old.revoked_at is not None:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_REVOKED, "This key is revoked; create a new key instead."
        )
    if old.expires_at is not None:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_ALREADY_ROLLED,
            "This key was already rolled; roll its replacement instead.",
        )
    old.expires_at = now + expires_in
    old.save(update_fields=["expires_at"])
    new, raw = _key_new(
        merchant=old.merchant,
        kind=ApiKey.Kind(old.kind),
        mode=ApiKey.Mode(old.mode),
        name=old.name,
        actor=actor,
        allowed_origins=list(old.allowed_origins),
        rolled_from=old,
        now=now,
    )
    _key_audit(
        AuditAction.API_KEY_ROLLED,
        old,
        actor=actor,
        request=request,
        expires_at=old.expires_at.isoformat(),
        replaced_by=new.pk,
        replaced_by_key=new.masked,
    )
    key.expires_at = old.expires_at
    log.info("api_key_rolled", merchant=old.merchant.slug, key=old.prefix, new_key=new.prefix)
    return new, raw if new.kind == ApiKey.Kind.SECRET else None


@transaction.atomic
def api_key_revoke(
    *,
    key: ApiKey,
    actor: User | None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> ApiKey:
    """Stop a key at once (next request). Revoking a revoked key changes nothing. Allowed for a
    suspended merchant too: cutting off a leaked key must always be possible."""
    now = now or timezone.now()
    locked = ApiKey.objects.select_for_update().select_related("merchant").get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = now
        locked.save(update_fields=["revoked_at"])
        _key_audit(AuditAction.API_KEY_REVOKED, locked, actor=actor, request=request)
        log.info("api_key_revoked", merchant=locked.merchant.slug, key=locked.prefix)
    key.revoked_at = locked.revoked_at
    return locked


@transaction.atomic
def api_key_update_origins(
    *,
    key: ApiKey,
    actor: User | None,
    allowed_origins: Iterable[str],
    request: HttpRequest | None = None,
) -> ApiKey:
    """Replace a publishable key's allowed origins (normalised, duplicates dropped)."""
    locked = ApiKey.objects.select_for_update().select_related("merchant").get(pk=key.pk)
    _merchant_assert_active(locked.merchant)
    if locked.kind != ApiKey.Kind.PUBLISHABLE:
        raise ApiKeyError(
            ApiKeyErrorCode.ALLOWED_ORIGIN_INVALID,
            "Only publishable keys have allowed origins: secret keys never go to a browser.",
            param="allowed_origins",
        )
    origins = allowed_origins_validate(allowed_origins)
    before = list(locked.allowed_origins)
    if origins != before:
        locked.allowed_origins = origins
        locked.save(update_fields=["allowed_origins"])
        _key_audit(
            AuditAction.API_KEY_ORIGINS_UPDATED,
            locked,
            actor=actor,
            request=request,
            before=before,
            after=origins,
        )
    key.allowed_origins = locked.allowed_origins
    return locked


def api_key_authenticate(
    raw_key: str,
    *,
    kind: ApiKey.Kind | None = None,
    now: datetime | None = None,
) -> AuthenticatedKey:
    """The merchant and mode a raw key stands for; one indexed query.

    `kind` demands a secret key (the REST API) or a publishable one (the widget). Raises
    ApiKeyError: `api_key_invalid` for a malformed or unknown key (the same message, so a caller
    cannot learn whether a key exists), `api_key_revoked`, `api_key_expired`,
    `merchant_suspended`, `secret_key_required` / `publishable_key_required`,
    `live_mode_not_activated` (a live key before the merchant activated live mode).
    """
    now = now or timezone.now()
    raw_key = raw_key or ""
    match = KEY_PATTERN.fullmatch(raw_key)
    if kind == ApiKey.Kind.SECRET and raw_key.startswith("pk_"):
        raise ApiKeyError(
            ApiKeyErrorCode.SECRET_KEY_REQUIRED,
            "This endpoint needs a secret key (sk_test_… or sk_live_…); a publishable key "
            "(pk_…) only works from the checkout widget.",
        )
    if kind == ApiKey.Kind.PUBLISHABLE and raw_key.startswith("sk_"):
        raise ApiKeyError(
            ApiKeyErrorCode.PUBLISHABLE_KEY_REQUIRED,
            "Use your publishable key (pk_…) here. Never put a secret key in a web page: "
            "roll this one now.",
        )
    key = None
    if match is not None:
        with contextlib.suppress(ApiKey.DoesNotExist):
            key = ApiKey.objects.select_related("merchant").get(key_hash=api_key_hash(raw_key))
    if key is None:
        raise ApiKeyError(ApiKeyErrorCode.API_KEY_INVALID, "Invalid API key provided.")
    if key.revoked_at is not None:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_REVOKED,
            f"This API key ({key.masked}) was revoked; use another key from your dashboard.",
        )
    if key.expires_at is not None and key.expires_at <= now:
        raise ApiKeyError(
            ApiKeyErrorCode.API_KEY_EXPIRED,
            f"This API key ({key.masked}) expired after it was rolled; use its replacement.",
        )
    if not key.merchant.is_active or key.merchant.is_template:
        raise ApiKeyError(
            ApiKeyErrorCode.MERCHANT_SUSPENDED,
            "This merchant account is suspended, so its API keys are refused. "
            "The account owner can contact support to reactivate it.",
        )
    _live_assert_activated(key.merchant, ApiKey.Mode(key.mode))
    api_key_touch(key=key, now=now)
    return AuthenticatedKey(merchant=key.merchant, mode=ApiKey.Mode(key.mode), key=key)


def api_key_touch(*, key: ApiKey, now: datetime) -> bool:
    """Record `last_used_at`, at most once a minute per key: the Redis `add` lets one request
    a minute through to the UPDATE. Best effort: without Redis the request still goes on."""
    gate = f"api_key_used:{key.pk}:{key.key_hash[:16]}"
    try:
        first_this_minute = caches[LAST_USED_CACHE_ALIAS].add(
            gate, 1, timeout=LAST_USED_RESOLUTION_SECONDS
        )
    except Exception:  # the cache is down: skip the bookkeeping, not the request
        log.warning("api_key_last_used_skipped", key=key.prefix, exc_info=True)
        return False
    if first_this_minute:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return first_this_minute
