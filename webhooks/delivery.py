"""Attempting deliveries, scheduling retries, and the sweeper over the public queue.

A delivery is attempted by whichever worker first leases its queue row; the lease outlives the
HTTP timeout, so no two workers send the same delivery at once unless one died mid-way (then the
lease expires and the sweeper re-enqueues it: at-least-once, same `webhook-id`).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from email.utils import parsedate_to_datetime

import structlog
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks import http
from webhooks.events import EventType
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
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
# The sweeper sends no second message for a delivery within this time of the last one.
REENQUEUE_AFTER = timedelta(seconds=20)
SWEEP_BATCH = 500


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


@transaction.atomic
def _lease(*, schema_name: str, delivery_id: int, now) -> bool:
    _commit_without_fsync()
    leased = (
        DueDelivery.objects.filter(
            schema_name=schema_name, delivery_id=delivery_id, due_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + LEASE)
    )
    return leased == 1


def _queue_remove(*, schema_name: str, delivery_ids: list[int]) -> None:
    DueDelivery.objects.filter(schema_name=schema_name, delivery_id__in=delivery_ids).delete()


def endpoint_secrets(endpoint: WebhookEndpoint, *, now) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


def delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt of a delivery, if it is due and not in flight. Returns what happened."""
    schema_name = connection.schema_name
    now = timezone.now()
    if not _lease(schema_name=schema_name, delivery_id=delivery_id, now=now):
        return "skipped"
    delivery = Delivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        _queue_remove(schema_name=schema_name, delivery_ids=[delivery_id])
        return "gone"
    endpoint = delivery.endpoint
    if not endpoint.enabled and delivery.event.type != EventType.TEST:
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery_id).update(
                status=Delivery.Status.FAILED, next_attempt_at=None
            )
            _queue_remove(schema_name=schema_name, delivery_ids=[delivery_id])
        return "endpoint_disabled"

    body = json.dumps(delivery.event.payload(), separators=(",", ":"), ensure_ascii=False)
    headers = request_headers(
        secrets=endpoint_secrets(endpoint, now=now),
        msg_id=delivery.event.public_id,
        timestamp=now,
        body=body,
    )
    result = http.post(url=endpoint.url, body=body.encode(), headers=headers)
    return attempt_record(
        delivery=delivery, attempted_at=now, headers=headers, result=result, url=endpoint.url
    )


@transaction.atomic
def attempt_record(*, delivery: Delivery, attempted_at, headers: dict, result, url: str) -> str:
    """Log the attempt and decide what comes next: done, a retry, or giving up."""
    from webhooks.endpoints import endpoint_disable  # endpoints imports services → no cycle here

    _commit_without_fsync()
    schema_name = connection.schema_name
    now = timezone.now()
    succeeded = result.status_code is not None and 200 <= result.status_code < 300
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=attempted_at,
        url=url,
        request_headers=headers,
        status_code=result.status_code,
        succeeded=succeeded,
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
    if succeeded:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        _queue_remove(schema_name=schema_name, delivery_ids=[delivery.pk])
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since", "updated_at"])
        outcome = "succeeded"
    elif result.status_code == 410:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
        delivery.save()
        _queue_remove(schema_name=schema_name, delivery_ids=[delivery.pk])
        endpoint_disable(endpoint=endpoint, reason="The URL answered 410 Gone.")
        return "gone_disabled"
    else:
        if endpoint.failing_since is None:
            endpoint.failing_since = attempted_at
            endpoint.save(update_fields=["failing_since", "updated_at"])
        if now - endpoint.failing_since >= DISABLE_AFTER:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.save()
            _queue_remove(schema_name=schema_name, delivery_ids=[delivery.pk])
            endpoint_disable(endpoint=endpoint, reason="Every delivery failed for 5 days.")
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
    log.info(
        "webhook_attempt",
        delivery=delivery.public_id,
        event_id=delivery.event.public_id,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        outcome=outcome,
        error=result.error or None,
    )
    return outcome


def due_deliveries_sweep(*, limit: int | None = None) -> int:
    """Re-enqueue every delivery that is due, not in flight, and not just enqueued. Claims its
    rows with FOR UPDATE SKIP LOCKED, so concurrent sweepers never send the same row twice."""
    from webhooks.services import deliveries_enqueue

    connection.set_schema_to_public()
    sent = 0
    while limit is None or sent < limit:
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                DueDelivery.objects.select_for_update(skip_locked=True)
                .filter(due_at__lte=now)
                .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
                .order_by("due_at")
                .values_list("id", "schema_name", "delivery_id")[:SWEEP_BATCH]
            )
            DueDelivery.objects.filter(id__in=[row[0] for row in rows]).update(enqueued_at=now)
        by_schema: dict[str, list[int]] = {}
        for _, schema_name, delivery_id in rows:
            by_schema.setdefault(schema_name, []).append(delivery_id)
        for schema_name, delivery_ids in by_schema.items():
            deliveries_enqueue(schema_name=schema_name, delivery_ids=delivery_ids)
        sent += len(rows)
        if len(rows) < SWEEP_BATCH:
            break
    return sent
