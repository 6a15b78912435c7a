"""Anti-enumeration throttles for voucher codes typed by shoppers.

Wrong codes are counted in Redis (the `global` cache: never tenant-prefixed) per scope — the
checkout session, the client IP, the publishable key — each in a fixed window. Once the session
or the address reaches its limit, every further attempt from it is refused (right or wrong)
until the window ends, so guessing 60+-bit codes stays hopeless. Only failures count: a shopper
paying with a right code is never slowed down.

A publishable key is public, so the checkout passes its scope as `alert_only`: at its limit it
raises the alarm (an audit entry and a `voucher.enumeration_suspected` event) but refuses no
one, since refusing by key would let anyone switch off a shop's checkout with a burst of wrong
codes from many addresses. (The merchant API's balance check counts its secret key, which is
private, and refuses at the limit.)

When Redis cannot be reached the check fails closed: ThrottleUnavailable (HTTP 503), never an
unthrottled lookup.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

import structlog
from django.core.cache import caches
from redis.exceptions import RedisError

from superpayment import metrics
from superpayment.errors import DomainError

log = structlog.get_logger(__name__)

CACHE_ALIAS = "global"


class ThrottleErrorCode(StrEnum):
    CODE_ATTEMPTS_EXCEEDED = "code_attempts_exceeded"
    SERVICE_UNAVAILABLE = "service_unavailable"


class ThrottleError(DomainError):
    error_type = "rate_limit_error"

    def __init__(self, code: StrEnum, message: str, *, retry_after: int, param: str | None = None):
        super().__init__(code, message, param=param)
        self.retry_after = retry_after


class ThrottleUnavailable(DomainError):
    """The counters cannot be read or written: codes are not checked at all (fail closed)."""

    error_type = "api_error"
    retry_after = 30

    def __init__(self) -> None:
        super().__init__(
            ThrottleErrorCode.SERVICE_UNAVAILABLE,
            "Voucher codes cannot be checked right now. Try again in a minute.",
        )


@dataclass(frozen=True)
class Limit:
    attempts: int
    window_seconds: int


# Wrong codes allowed per scope and window.
LIMITS: dict[str, Limit] = {
    "session": Limit(attempts=10, window_seconds=30 * 60),
    "ip": Limit(attempts=30, window_seconds=10 * 60),
    "key": Limit(attempts=300, window_seconds=60 * 60),
}


def _cache_key(scope: str, value: str) -> str:
    return f"voucher_code_failures:{scope}:{value}"


def code_attempts_check(
    *, scopes: dict[str, str], alert_only: Collection[str] = frozenset()
) -> None:
    """Refuse (ThrottleError, HTTP 429) when a scope not in `alert_only` has used up its wrong
    attempts; ThrottleUnavailable (HTTP 503) when the counters cannot be read."""
    refusing = {scope: value for scope, value in scopes.items() if scope not in alert_only}
    cache = caches[CACHE_ALIAS]
    try:
        counts = cache.get_many([_cache_key(scope, value) for scope, value in refusing.items()])
    except RedisError as exc:
        log.error("voucher_code_throttle_unavailable", error=str(exc))
        raise ThrottleUnavailable() from exc
    for scope, value in refusing.items():
        limit = LIMITS[scope]
        if counts.get(_cache_key(scope, value), 0) >= limit.attempts:
            log.warning("voucher_code_throttled", scope=scope)
            metrics.THROTTLE_LOCKOUTS.labels(scope=scope).inc()
            raise ThrottleError(
                ThrottleErrorCode.CODE_ATTEMPTS_EXCEEDED,
                "Too many wrong voucher codes. Wait a few minutes before trying again.",
                retry_after=limit.window_seconds,
                param="code",
            )


def code_attempt_failed(*, scopes: dict[str, str], livemode: bool | None = None) -> list[str]:
    """Count one wrong code in every scope (the window starts at the scope's first failure).

    The failure that uses up a scope's allowance is a burst: the merchant whose schema is active
    gets an audit entry and a `voucher.enumeration_suspected` webhook event (once per scope and
    window). Call it outside any transaction that is about to roll back. `livemode` is the mode
    of the event; left out, it is the mode of the key in the "key" scope (an ApiKey id).
    Returns the scopes that burst now."""
    try:
        burst = _failures_count(scopes)
    except RedisError as exc:
        log.error("voucher_code_throttle_unavailable", error=str(exc))
        raise ThrottleUnavailable() from exc
    if burst:
        _enumeration_suspected(scopes=scopes, burst=burst, livemode=livemode)
    return burst


def _failures_count(scopes: dict[str, str]) -> list[str]:
    cache = caches[CACHE_ALIAS]
    burst: list[str] = []
    for scope, value in scopes.items():
        key = _cache_key(scope, value)
        limit = LIMITS[scope]
        count = 1
        if not cache.add(key, 1, timeout=limit.window_seconds):
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=limit.window_seconds)
        if count == limit.attempts:
            burst.append(scope)
    return burst


def _livemode_of_key(key_scope: str | None) -> bool:
    from tenants.models import ApiKey

    if key_scope and key_scope.isdigit():
        mode = ApiKey.objects.filter(pk=int(key_scope)).values_list("mode", flat=True).first()
        return mode == ApiKey.Mode.LIVE
    return False


def _enumeration_suspected(
    *, scopes: dict[str, str], burst: list[str], livemode: bool | None
) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from tenants.audit import audit_record
    from tenants.models import AuditAction
    from tenants.selectors import merchant_active

    merchant = merchant_active(missing_ok=True)
    if merchant is None or connection.schema_name == "public":
        log.warning("voucher_enumeration_suspected_without_merchant", scopes=burst)
        return
    if livemode is None:
        livemode = _livemode_of_key(scopes.get("key"))
    now = timezone.now()
    details = {
        "scopes": {scope: scopes[scope] for scope in burst},
        "failures": {scope: LIMITS[scope].attempts for scope in burst},
        "window_seconds": {scope: LIMITS[scope].window_seconds for scope in burst},
        "livemode": livemode,
    }
    log.warning("voucher_enumeration_suspected", scopes=burst, merchant=merchant.slug)
    with transaction.atomic():
        audit_record(
            action=AuditAction.VOUCHER_ENUMERATION_SUSPECTED,
            actor="system",
            merchant=merchant,
            details=details,
        )
        from webhooks.services import event_record

        event_record(
            event_type="voucher.enumeration_suspected",
            livemode=livemode,
            data_object={
                "id": f"vguard_{int(now.timestamp())}_{'_'.join(burst)}",
                "object": "voucher_guard",
                "version": 1,
                "scopes": sorted(burst),
                "failures": details["failures"],
                "window_seconds": details["window_seconds"],
                "detected_at": now.isoformat().replace("+00:00", "Z"),
            },
        )
