"""Recording events (the outbox) and managing webhook endpoints.

`event_record` is called by other apps inside the transaction of the change it reports, with the
merchant's schema active: the event, its deliveries and their public queue rows commit — or roll
back — with that change. Delivery starts on commit (a Celery message), and the sweeper re-sends
whatever is due and not in flight, so a lost message or a dead worker loses nothing.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from superpayment.prepared import model_inserted, prepared_fetch, prepared_fetch_one
from webhooks.errors import WebhookError, WebhookErrorCode
from webhooks.events import API_VERSION, EventType
from webhooks.models import Delivery, Event, WebhookEndpoint, delivery_public_id_new
from webhooks.queue.models import DueDelivery

# The whole payload, as sent, stays under this many bytes (UTF-8 JSON).
PAYLOAD_MAX_BYTES = 20_000
_EVENT_TYPES = frozenset(t.value for t in EventType)


def _schema_name_of_merchant() -> str:
    schema_name = connection.schema_name
    if not schema_name or schema_name == "public":
        raise RuntimeError("event_record must run in a merchant's schema, not in public.")
    return schema_name


def _data_object_check(data_object: dict) -> None:
    missing = [key for key in ("id", "object", "version") if key not in data_object]
    if missing:
        raise WebhookError(
            WebhookErrorCode.EVENT_DATA_INVALID,
            f"The event's object lacks {', '.join(missing)}.",
        )


def deliveries_enqueue(*, schema_name: str, delivery_ids: list[int]) -> None:
    """Send one Celery message per delivery (after commit). Losing one is harmless: the
    sweeper finds the queue row."""
    from webhooks.tasks import deliver

    for delivery_id in delivery_ids:
        deliver.apply_async((schema_name, delivery_id), queue=settings.WEBHOOKS_TASK_QUEUE)


def deliveries_create(*, event: Event, endpoints: list[WebhookEndpoint], due_at=None) -> list[int]:
    """A pending delivery per endpoint and its due row in the public queue, enqueued on commit.
    Runs inside the caller's transaction."""
    schema_name = _schema_name_of_merchant()
    now = timezone.now()
    due_at = due_at or now
    deliveries = Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=due_at) for endpoint in endpoints]
    )
    ids = [delivery.pk for delivery in deliveries]
    DueDelivery.objects.bulk_create(
        [
            DueDelivery(schema_name=schema_name, delivery_id=pk, due_at=due_at, enqueued_at=now)
            for pk in ids
        ]
    )
    if ids:
        transaction.on_commit(lambda: deliveries_enqueue(schema_name=schema_name, delivery_ids=ids))
    return ids


def event_record(*, event_type: str, data_object: dict, livemode: bool) -> Event:
    """Write an event and one delivery per enabled endpoint of the same mode subscribed to its
    type. Call it inside the transaction of the change, in the merchant's schema.

    `data_object` is the object as the API shows it, with at least "id", "object" and
    "version" (the object's change counter, so receivers can drop stale events).
    """
    _schema_name_of_merchant()
    if event_type not in _EVENT_TYPES:
        raise WebhookError(
            WebhookErrorCode.EVENT_TYPE_INVALID, f"Unknown event type {event_type!r}."
        )
    _data_object_check(data_object)
    event = Event(
        type=str(event_type),
        livemode=livemode,
        api_version=API_VERSION,
        data_object=data_object,
    )
    event.created_at = timezone.now()
    if len(json.dumps(event.payload(), separators=(",", ":")).encode()) >= PAYLOAD_MAX_BYTES:
        raise WebhookError(
            WebhookErrorCode.PAYLOAD_TOO_LARGE,
            f"A {event_type} event would exceed {PAYLOAD_MAX_BYTES} bytes.",
        )
    _event_insert(event)  # one statement writes every row: atomic without a savepoint
    return event


# The event, its deliveries and their queue rows in one statement (atomic by itself), after one
# read of the subscribed endpoints; both prepared, since payments record events
# (superpayment.prepared). Same rows as Event/Delivery/DueDelivery .save()/.bulk_create() would
# write.
_SUBSCRIBED_SQL = f"""
SELECT id FROM {WebhookEndpoint._meta.db_table}
WHERE enabled AND livemode = %s
  AND (enabled_events @> '["*"]'::jsonb OR enabled_events @> %s::jsonb)
ORDER BY id
"""  # noqa: S608 - table names from model meta; values are bound
_EVENT_COLUMNS = "(public_id, type, livemode, api_version, data_object, created_at)"
_EVENT_SQL = f"""
INSERT INTO {Event._meta.db_table} {_EVENT_COLUMNS}
VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id
"""  # noqa: S608 - table names from model meta; values are bound
_EVENT_DELIVERIES_SQL = f"""
WITH ev AS (
  INSERT INTO {Event._meta.db_table} {_EVENT_COLUMNS}
  VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id
), d AS (
  INSERT INTO {Delivery._meta.db_table}
    (public_id, event_id, endpoint_id, status, attempt_count, next_attempt_at,
     created_at, updated_at)
  SELECT x.public_id, ev.id, x.endpoint_id, %s, 0, %s, %s, %s
  FROM ev, unnest(%s::bigint[], %s::varchar[]) AS x(endpoint_id, public_id)
  RETURNING id
), q AS (
  INSERT INTO {{public}}.{DueDelivery._meta.db_table}
    (schema_name, delivery_id, due_at, enqueued_at)
  SELECT %s, d.id, %s, %s FROM d
  RETURNING delivery_id
)
SELECT (SELECT id FROM ev), ARRAY(SELECT delivery_id FROM q ORDER BY delivery_id)
"""  # noqa: S608 - table names from model meta; values are bound


def _event_insert(event: Event) -> None:
    schema_name = _schema_name_of_merchant()
    now = event.created_at
    event_values = [
        event.public_id,
        event.type,
        event.livemode,
        event.api_version,
        json.dumps(event.data_object),
        now,
    ]
    endpoint_ids = [
        row[0]
        for row in prepared_fetch(_SUBSCRIBED_SQL, [event.livemode, json.dumps([event.type])])
    ]
    if not endpoint_ids:
        event_id = prepared_fetch_one(_EVENT_SQL, event_values)[0]
        delivery_ids: list[int] = []
    else:
        public_ids = [delivery_public_id_new() for _ in endpoint_ids]
        event_id, delivery_ids = prepared_fetch_one(
            _EVENT_DELIVERIES_SQL,
            [
                *event_values,
                Delivery.Status.PENDING.value,
                now,
                now,
                now,
                endpoint_ids,
                public_ids,
                schema_name,
                now,
                now,
            ],
        )
    model_inserted(event, event_id)
    if delivery_ids:
        transaction.on_commit(
            lambda: deliveries_enqueue(schema_name=schema_name, delivery_ids=delivery_ids)
        )
