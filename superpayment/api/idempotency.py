"""`Idempotency-Key` on the merchant API's POSTs, with Stripe's semantics.

A client that may retry a POST (a timeout, a dropped connection) sends a key of its choosing,
unique per operation (a UUID is ideal), and sends the same key on every retry:

- same key, same request (method, path, body)  -> the first answer, replayed: the same status
  and body, with the header `Idempotent-Replayed: true`; the work is not done again;
- same key, another request                     -> 422 `idempotency_key_reused`;
- same key while the first is still running     -> 409 `idempotency_key_in_use` (retry later);
- no key                                        -> the request runs as usual.

Keys are scoped to the merchant and the mode (a test key and a live key never share one) and kept
for `IDEMPOTENCY_KEY_RETENTION` (72 hours); after that a key may be used afresh. Only finished
answers are kept: 2xx and 4xx (an error of the request itself). A 5xx, a 409 and a 429 release the
key, so the client can retry the same request with the same key.

How it works: the key's row is claimed (`INSERT … ON CONFLICT DO NOTHING`) in a short transaction
of its own, committed before the view runs, so a concurrent duplicate finds it in progress. The
view then runs in one transaction that also stores its answer on the row: the work and the stored
answer commit together or not at all. A process that dies mid-way leaves an uncommitted view and
a claimed row; the claim is taken over after `IDEMPOTENCY_LOCK_TIMEOUT` (longer than any request
may run), and the answer is stored only by the holder of the current claim.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from superpayment.errors import DomainError
from tenants.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_RETENTION = timedelta(hours=72)
# A claim older than this belongs to a request that died: gunicorn kills a request after 30 s.
IDEMPOTENCY_LOCK_TIMEOUT = timedelta(minutes=2)
# Answers the client is expected to retry: the key is released instead of stored.
_RELEASED_STATUSES = {409, 429}


class IdempotencyErrorCode(StrEnum):
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"


class IdempotencyError(DomainError):
    pass


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value (a UUID, at most 255 characters) that makes a retried POST safe: the "
        "same key with the same request replays the first answer (header "
        "`Idempotent-Replayed: true`); with another request it answers 422 "
        "`idempotency_key_reused`; while the first is still running, 409 "
        "`idempotency_key_in_use`. Keys are kept 72 hours, per merchant and mode."
    ),
)


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (key order and
    whitespace do not matter)."""
    body = json.dumps(
        request.data, sort_keys=True, separators=(",", ":"), cls=JSONEncoder, ensure_ascii=False
    )
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, body):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _storable_body(data: Any) -> Any:
    """The response's data as plain JSON values (dates, decimals, UUIDs rendered by DRF)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _key_from_header(request: Request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise IdempotencyError(
            IdempotencyErrorCode.IDEMPOTENCY_KEY_INVALID,
            f"The {HEADER} header must be 1 to {KEY_MAX_LENGTH} printable characters.",
        )
    return key


def idempotency_key_claim(
    *, merchant_id: int, livemode: bool, key: str, request_hash: str, method: str, path: str
) -> tuple[IdempotencyKey, bool]:
    """Claim the key for this request, committed at once (when not inside an outer
    transaction). Returns (row, claimed): claimed is False when the row belongs to an earlier
    request, whose answer or progress the caller then reports."""
    table = IdempotencyKey._meta.db_table
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {table} (merchant_id, livemode, key, request_hash, request_method,
                                     request_path, status, created_at, locked_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (merchant_id, livemode, key) DO NOTHING
                RETURNING id
                """,  # noqa: S608 - the table name is the model's, every value a parameter
                [
                    merchant_id,
                    livemode,
                    key,
                    request_hash,
                    method,
                    path[:500],
                    IdempotencyKey.Status.IN_PROGRESS,
                    now,
                    now,
                ],
            )
            inserted = cursor.fetchone()
        if inserted:
            return IdempotencyKey.objects.get(pk=inserted[0]), True
        existing = IdempotencyKey.objects.select_for_update().get(
            merchant_id=merchant_id, livemode=livemode, key=key
        )
        if existing.created_at < now - IDEMPOTENCY_KEY_RETENTION:
            # Expired but not purged yet: the key starts afresh for this request.
            _reclaim(existing, request_hash=request_hash, method=method, path=path, now=now)
            existing.created_at = now
            return existing, True
        if (
            existing.status == IdempotencyKey.Status.IN_PROGRESS
            and existing.request_hash == request_hash
            and existing.locked_at is not None
            and existing.locked_at < now - IDEMPOTENCY_LOCK_TIMEOUT
        ):
            # The request that claimed it died before finishing: nothing of it was committed.
            _reclaim(existing, request_hash=request_hash, method=method, path=path, now=now)
            return existing, True
        return existing, False


def _reclaim(
    row: IdempotencyKey, *, request_hash: str, method: str, path: str, now: datetime
) -> None:
    row.request_hash = request_hash
    row.request_method = method
    row.request_path = path[:500]
    row.status = IdempotencyKey.Status.IN_PROGRESS
    row.response_status = None
    row.response_body = None
    row.locked_at = now
    row.completed_at = None
    IdempotencyKey.objects.filter(pk=row.pk).update(
        request_hash=request_hash,
        request_method=method,
        request_path=path[:500],
        status=IdempotencyKey.Status.IN_PROGRESS,
        response_status=None,
        response_body=None,
        created_at=now if row.created_at < now - IDEMPOTENCY_KEY_RETENTION else row.created_at,
        locked_at=now,
        completed_at=None,
    )


class _Release(Exception):
    """Leave the view's transaction without storing its answer, and release the key."""

    def __init__(self, response: Response):
        self.response = response


class _ClaimLost(Exception):
    pass


def _in_use_error() -> IdempotencyError:
    return IdempotencyError(
        IdempotencyErrorCode.IDEMPOTENCY_KEY_IN_USE,
        "A request with this idempotency key is still being processed; retry it shortly.",
    )


def _replay(row: IdempotencyKey, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise IdempotencyError(
            IdempotencyErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was already used with a different request "
            f"({row.request_method} {row.request_path}, other parameters); use a new key "
            "for a new request.",
        )
    if row.status != IdempotencyKey.Status.COMPLETE:
        raise _in_use_error()
    response = Response(row.response_body, status=row.response_status)
    response[REPLAYED_HEADER] = "true"
    response[HEADER] = row.key
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an APIView's `post` (or `patch`) to honour the `Idempotency-Key` header.
    Authentication has run by then: the key is scoped to `request.auth`'s merchant and mode."""

    @functools.wraps(view_method)
    def wrapper(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key_from_header(request)
        authenticated = request.auth
        if key is None or authenticated is None:
            return view_method(self, request, *args, **kwargs)
        request_hash = request_fingerprint(request)
        row, claimed = idempotency_key_claim(
            merchant_id=authenticated.merchant.pk,
            livemode=authenticated.livemode,
            key=key,
            request_hash=request_hash,
            method=request.method or "",
            path=request.path,
        )
        if not claimed:
            return _replay(row, request_hash)
        locked_at = row.locked_at
        try:
            with transaction.atomic():
                try:
                    response = view_method(self, request, *args, **kwargs)
                except Exception as exc:  # answered by the API's error handler
                    response = self.handle_exception(exc)
                status_code = response.status_code
                if status_code >= 500 or status_code in _RELEASED_STATUSES:
                    raise _Release(response)
                stored = IdempotencyKey.objects.filter(pk=row.pk, locked_at=locked_at).update(
                    status=IdempotencyKey.Status.COMPLETE,
                    response_status=status_code,
                    response_body=_storable_body(response.data),
                    completed_at=timezone.now(),
                )
                if not stored:
                    raise _ClaimLost
        except _Release as release:
            IdempotencyKey.objects.filter(pk=row.pk, locked_at=locked_at).delete()
            return release.response
        except _ClaimLost:
            raise _in_use_error() from None
        except BaseException:
            IdempotencyKey.objects.filter(pk=row.pk, locked_at=locked_at).delete()
            raise
        response[HEADER] = key
        return response

    wrapper.honours_idempotency_key = True  # tests check that every POST has it
    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the keys older than the retention period; returns how many went."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_RETENTION
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
