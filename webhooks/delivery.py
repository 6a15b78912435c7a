"""Attempting deliveries, scheduling retries, and claiming due rows of the public queue.

The dispatcher (webhooks/dispatch.py) claims due rows and hands each to a thread, which leases
it for the attempt; the lease outlives the HTTP deadline, so no two threads send the same
delivery at once unless one died mid-way (then the lease expires and the row is claimed again:
at-least-once, same `webhook-id`).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from email.utils import parsedate_to_datetime

import structlog
from django.db import connection, transaction
from django.utils import timezone

from superpayment import metrics
from webhooks import http
from webhooks.events import EventType
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from webhooks.queue.models import DueDelivery
from webhooks.signing import request_headers

log = structlog.get_logger(__name__)

# Delay before retry n (after the n-th failed attempt), ≈ 3.6 days in all; ±10 % jitter.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
]
JITTER = 0.1
RETRY_AFTER_MAX = timedelta(hours=24)
# An endpoint whose every attempt failed for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
# A worker holds a delivery this long at most (> the 15 s HTTP timeout).
LEASE = timedelta(seconds=60)
# A claimed delivery that no thread leased within this time is claimed again.
REENQUEUE_AFTER = timedelta(seconds=20)


def retry_delay(*, attempt_count: int) -> timedelta | None:
    """The wait after `attempt_count` failed attempts, with jitter; None when none is left."""
    if attempt_count > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempt_count - 1].total_seconds()
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


def retry_after_parse(value: str | None, *, now) -> timedelta | None:
    """`Retry-After` as seconds or an HTTP date, capped at 24 h."""
    if not value:
        return None
    value = value.strip()
    try:
        delay = timedelta(seconds=max(0, int(value)))
    except ValueError:
        try:
            delay = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(delay, RETRY_AFTER_MAX))


def _commit_without_fsync() -> None:
    """This transaction's commit does not wait for the WAL flush. Safe here: a lease or attempt
    record lost in a database crash only means the delivery is sent again (at-least-once, same
    webhook-id). Events themselves are written by the caller's ordinary, durable commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _queue_remove(*, schema_name: str, delivery_ids: list[int]) -> None:
    DueDelivery.objects.filter(schema_name=schema_name, delivery_id__in=delivery_ids).delete()


def endpoint_secrets(endpoint: WebhookEndpoint, *, now) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


# Lease the queue row and read what the attempt needs, in one statement: no row comes back when
# the delivery is not due or another worker holds it. The commit skips the WAL flush (see
# _commit_without_fsync). Unqualified names resolve through the search_path ("merchant, public"),
# as the ORM's would.
_LEASE_LOAD_SQL = f"""
SET LOCAL synchronous_commit TO OFF;
WITH lease AS (
  UPDATE {DueDelivery._meta.db_table} SET leased_until = %s
  WHERE schema_name = %s AND delivery_id = %s AND due_at <= %s
    AND (leased_until IS NULL OR leased_until < %s)
  RETURNING delivery_id
)
SELECT d.id, d.public_id, d.status, d.attempt_count, d.endpoint_id,
       e.public_id, e.type, e.livemode, e.api_version, e.data_object, e.created_at,
       ep.url, ep.enabled, ep.secret, ep.previous_secret, ep.previous_secret_expires_at
FROM lease
LEFT JOIN {Delivery._meta.db_table} d ON d.id = lease.delivery_id
LEFT JOIN {Event._meta.db_table} e ON e.id = d.event_id
LEFT JOIN {WebhookEndpoint._meta.db_table} ep ON ep.id = d.endpoint_id
"""  # noqa: S608 - table names from model meta; values are bound

# A successful attempt: log it, settle the delivery, drop its queue row and clear the endpoint's
# failure streak, in one round trip (client-side binding sends them as one simple query).
_SUCCEEDED_SQL = f"""
SET LOCAL synchronous_commit TO OFF;
INSERT INTO {DeliveryAttempt._meta.db_table}
  (delivery_id, attempted_at, url, request_headers, status_code, succeeded, latency_ms, error,
   response_headers, response_body)
VALUES (%s, %s, %s, %s::jsonb, %s, true, %s, %s, %s::jsonb, %s);
UPDATE {Delivery._meta.db_table}
SET status = %s, next_attempt_at = NULL, attempt_count = attempt_count + 1,
    last_attempt_at = %s, last_status_code = %s, updated_at = %s
WHERE id = %s;
DELETE FROM {DueDelivery._meta.db_table} WHERE schema_name = %s AND delivery_id = %s;
UPDATE {WebhookEndpoint._meta.db_table} SET failing_since = NULL, updated_at = %s
WHERE id = %s AND failing_since IS NOT NULL
"""  # noqa: S608 - table names from model meta; values are bound


def _json_value(value):
    return json.loads(value) if isinstance(value, str | bytes) else value


def _lease_load(*, schema_name: str, delivery_id: int, now) -> tuple | None:
    """Lease the delivery and read it, its event and endpoint; None when not leased. The
    statements go as one simple query: one implicit transaction, one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(_LEASE_LOAD_SQL, [now + LEASE, schema_name, delivery_id, now, now])
        while cursor.description is None and cursor.nextset():
            pass  # past the SET's result to the rows
        return cursor.fetchone()


@metrics.count_result(metrics.WEBHOOK_DELIVERIES)
def delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt of a delivery, if it is due and not in flight. Returns what happened."""
    schema_name = connection.schema_name
    now = timezone.now()
    row = _lease_load(schema_name=schema_name, delivery_id=delivery_id, now=now)
    if row is None:
        return "skipped"
    (
        pk,
        delivery_public_id,
        status,
        _attempt_count,
        endpoint_id,
        event_public_id,
        event_type,
        livemode,
        api_version,
        data_object,
        created_at,
        url,
        enabled,
        secret,
        previous_secret,
        previous_secret_expires_at,
    ) = row
    if pk is None or status != Delivery.Status.PENDING:
        _queue_remove(schema_name=schema_name, delivery_ids=[delivery_id])
        return "gone"
    if not enabled and event_type != EventType.TEST:
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery_id).update(
                status=Delivery.Status.FAILED, next_attempt_at=None
            )
            _queue_remove(schema_name=schema_name, delivery_ids=[delivery_id])
        return "endpoint_disabled"

    event = Event(
        public_id=event_public_id,
        type=event_type,
        livemode=livemode,
        api_version=api_version,
        data_object=_json_value(data_object),
        created_at=created_at,
    )
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        secret=secret,
        previous_secret=previous_secret,
        previous_secret_expires_at=previous_secret_expires_at,
    )
    body = json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False)
    headers = request_headers(
        secrets=endpoint_secrets(endpoint, now=now),
        msg_id=event_public_id,
        timestamp=now,
        body=body,
    )
    result = http.post(url=url, body=body.encode(), headers=headers)
    if _succeeded(result):
        _succeeded_record(
            schema_name=schema_name,
            delivery_id=pk,
            endpoint_id=endpoint_id,
            attempted_at=now,
            headers=headers,
            result=result,
            url=url,
        )
        _attempt_log(delivery_public_id, event_public_id, result, "succeeded")
        return "succeeded"
    # Failures are rarer and branch more: the ORM path, on a fresh read of the delivery.
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=pk)
    return attempt_record(
        delivery=delivery, attempted_at=now, headers=headers, result=result, url=url
    )


def _succeeded(result) -> bool:
    return result.status_code is not None and 200 <= result.status_code < 300


def _succeeded_record(
    *, schema_name: str, delivery_id: int, endpoint_id: int, attempted_at, headers, result, url
) -> None:
    now = timezone.now()
    # Several statements in one simple query run as one implicit transaction when autocommit
    # is on (and inside the caller's transaction otherwise): all of them or none.
    with connection.cursor() as cursor:
        cursor.execute(
            _SUCCEEDED_SQL,
            [
                delivery_id,
                attempted_at,
                url,
                json.dumps(headers),
                result.status_code,
                result.latency_ms,
                result.error,
                json.dumps(result.response_headers),
                result.response_body,
                Delivery.Status.SUCCEEDED.value,
                attempted_at,
                result.status_code,
                now,
                delivery_id,
                schema_name,
                delivery_id,
                now,
                endpoint_id,
            ],
        )


def _attempt_log(delivery_public_id: str, event_public_id: str, result, outcome: str) -> None:
    log.info(
        "webhook_attempt",
        delivery=delivery_public_id,
        event_id=event_public_id,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        outcome=outcome,
        failure=result.failure or None,
        error=result.error or None,
    )


def _fail_and_disable(
    *, delivery: Delivery, endpoint: WebhookEndpoint, schema_name: str, reason: str
) -> None:
    """Give up on the delivery at once and disable its endpoint, saying why."""
    from webhooks.endpoints import endpoint_disable  # endpoints imports services → no cycle here

    delivery.status = Delivery.Status.FAILED
    delivery.next_attempt_at = None
    delivery.save()
    _queue_remove(schema_name=schema_name, delivery_ids=[delivery.pk])
    endpoint_disable(endpoint=endpoint, reason=reason)


@transaction.atomic
def attempt_record(*, delivery: Delivery, attempted_at, headers: dict, result, url: str) -> str:
    """Log the attempt and decide what comes next: done, a retry, or giving up."""
    schema_name = connection.schema_name
    if _succeeded(result):
        _succeeded_record(
            schema_name=schema_name,
            delivery_id=delivery.pk,
            endpoint_id=delivery.endpoint_id,
            attempted_at=attempted_at,
            headers=headers,
            result=result,
            url=url,
        )
        delivery.attempt_count += 1
        delivery.last_attempt_at = attempted_at
        delivery.last_status_code = result.status_code
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        _attempt_log(delivery.public_id, delivery.event.public_id, result, "succeeded")
        return "succeeded"
    _commit_without_fsync()
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=attempted_at,
        url=url,
        request_headers=headers,
        status_code=result.status_code,
        succeeded=False,
        latency_ms=result.latency_ms,
        error=result.error,
        response_headers=result.response_headers,
        response_body=result.response_body,
    )
    delivery.attempt_count += 1
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = result.status_code
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    outcome: str
    if result.status_code == 410:
        _fail_and_disable(
            delivery=delivery,
            endpoint=endpoint,
            schema_name=schema_name,
            reason="The URL answered 410 Gone.",
        )
        return "gone_disabled"
    else:
        if endpoint.failing_since is None:
            endpoint.failing_since = attempted_at
            endpoint.save(update_fields=["failing_since", "updated_at"])
        if now - endpoint.failing_since >= DISABLE_AFTER:
            _fail_and_disable(
                delivery=delivery,
                endpoint=endpoint,
                schema_name=schema_name,
                reason="Every delivery failed for 5 days.",
            )
            return "failing_disabled"
        delay = retry_delay(attempt_count=delivery.attempt_count)
        if result.status_code == 429 and delay is not None:
            delay = retry_after_parse(result.retry_after, now=now) or delay
        if delay is None:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
            _queue_remove(schema_name=schema_name, delivery_ids=[delivery.pk])
            outcome = "failed"
        else:
            delivery.next_attempt_at = now + delay
            DueDelivery.objects.filter(schema_name=schema_name, delivery_id=delivery.pk).update(
                due_at=delivery.next_attempt_at, leased_until=None, enqueued_at=None
            )
            outcome = "retry_scheduled"
    delivery.save()
    _attempt_log(delivery.public_id, delivery.event.public_id, result, outcome)
    return outcome


# Claim up to `limit` due deliveries that no thread holds: mark them handed out (`enqueued_at`)
# so concurrent dispatchers skip them (SKIP LOCKED) and this one does not claim them again while
# they are being attempted. A claim that is never attempted (its dispatcher died between claim and
# lease) is claimed again REENQUEUE_AFTER later; a lease that is never settled (its dispatcher
# died mid-attempt) once the lease expires.
# The rows are picked and locked in a materialized CTE, evaluated exactly once: written as
# `WHERE id IN (SELECT … LIMIT … FOR UPDATE SKIP LOCKED)` the planner may run the subquery
# again for the outer scan and claim more than `limit` rows (seen: 5 claimed for 4 threads).
_CLAIM_SQL = f"""
WITH due AS MATERIALIZED (
  SELECT id FROM {DueDelivery._meta.db_table}
  WHERE due_at <= %(now)s
    AND (leased_until IS NULL OR leased_until < %(now)s)
    AND (enqueued_at IS NULL OR enqueued_at < %(reclaim)s)
  ORDER BY due_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
)
UPDATE {DueDelivery._meta.db_table} AS queued SET enqueued_at = %(now)s
FROM due WHERE queued.id = due.id
RETURNING queued.schema_name, queued.delivery_id
"""  # noqa: S608 - table names from model meta; values are bound

_NEXT_DUE_SQL = f"""
SELECT due_at FROM {DueDelivery._meta.db_table} WHERE due_at > %s ORDER BY due_at LIMIT 1
"""  # noqa: S608 - table names from model meta; values are bound


def due_deliveries_claim(*, limit: int) -> list[tuple[str, int]]:
    """(schema name, delivery id) of up to `limit` deliveries due now and not in flight, claimed
    for this caller in one statement (autocommit). O(claimed rows), never O(merchants)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": now, "reclaim": now - REENQUEUE_AFTER, "limit": limit})
        return [(schema_name, delivery_id) for schema_name, delivery_id in cursor.fetchall()]


def next_due_at():
    """When the earliest delivery not yet due becomes due (None: none is waiting)."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_DUE_SQL, [timezone.now()])
        row = cursor.fetchone()
    return row[0] if row else None
