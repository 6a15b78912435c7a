"""Recording events (the outbox) and managing webhook endpoints.

`event_record` is called by other apps inside the transaction of the change it reports, with the
merchant's schema active: the event, its deliveries and their public queue rows commit — or roll
back — with that change, and so does the `NOTIFY` that wakes the dispatcher (webhooks/dispatch.py).
Nothing runs after the commit: the payment path needs PostgreSQL only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from superpayment.pipeline import Statement
from superpayment.prepared import model_inserted, prepared_fetch, prepared_fetch_one
from webhooks.dispatch import CHANNEL as DISPATCH_CHANNEL
from webhooks.dispatch import dispatcher_wake
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


def deliveries_create(*, event: Event, endpoints: list[WebhookEndpoint], due_at=None) -> list[int]:
    """A pending delivery per endpoint and its due row in the public queue; the dispatcher is
    woken when the caller's transaction commits. Runs inside that transaction."""
    schema_name = _schema_name_of_merchant()
    now = timezone.now()
    due_at = due_at or now
    deliveries = Delivery.objects.bulk_create(
        [Delivery(event=event, endpoint=endpoint, next_attempt_at=due_at) for endpoint in endpoints]
    )
    ids = [delivery.pk for delivery in deliveries]
    DueDelivery.objects.bulk_create(
        [DueDelivery(schema_name=schema_name, delivery_id=pk, due_at=due_at) for pk in ids]
    )
    if ids:
        dispatcher_wake()
    return ids


def _event_new(*, event_type: str, data_object: dict, livemode: bool) -> Event:
    """The event as it will be written (checked: its type, object and payload size)."""
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
    return event


def event_record(*, event_type: str, data_object: dict, livemode: bool) -> Event:
    """Write an event and one delivery per enabled endpoint of the same mode subscribed to its
    type. Call it inside the transaction of the change, in the merchant's schema.

    `data_object` is the object as the API shows it, with at least "id", "object" and
    "version" (the object's change counter, so receivers can drop stale events).
    """
    event = _event_new(event_type=event_type, data_object=data_object, livemode=livemode)
    subscriptions = subscriptions_from_rows(
        prepared_fetch(_SUBSCRIPTIONS_SQL, subscriptions_statement().params)
    )
    statement = _event_statement(event, subscriptions)
    # One statement writes every row (and the NOTIFY): no savepoint needed.
    model_inserted(event, prepared_fetch_one(statement.sql, statement.params)[0])
    return event


@dataclass(frozen=True)
class Subscriptions:
    """The merchant's enabled endpoints and the event types each takes, read once for the
    events of one transaction."""

    endpoints: list[tuple[int, bool, list[str]]]

    def endpoint_ids(self, *, event_type: str, livemode: bool) -> list[int]:
        return [
            pk
            for pk, mode, types in self.endpoints
            if mode == livemode and ("*" in types or event_type in types)
        ]


def subscriptions_statement() -> Statement:
    """The enabled endpoints (`subscriptions_from_rows` reads the rows): a payer sends it in its
    first round trip, with what it locks."""
    return Statement(_SUBSCRIPTIONS_SQL, [])


def subscriptions_from_rows(rows: list[tuple]) -> Subscriptions:
    # Django has psycopg hand jsonb over as text (its JSONField decodes it).
    return Subscriptions(
        endpoints=[(pk, livemode, json.loads(types)) for pk, livemode, types in rows]
    )


def event_statement(
    *, event_type: str, data_object: dict, livemode: bool, subscriptions: Subscriptions
) -> tuple[Event, Statement]:
    """`event_record` for a payer that sends its statements together: the event (its id is set
    by `event_inserted` from the statement's row) and the one statement that writes it, its
    deliveries, their queue rows and the NOTIFY."""
    event = _event_new(event_type=event_type, data_object=data_object, livemode=livemode)
    return event, _event_statement(event, subscriptions)


def event_inserted(event: Event, rows: list[tuple]) -> Event:
    return model_inserted(event, rows[0][0])


# The event, its deliveries, their queue rows and the dispatcher's wake-up (a NOTIFY, sent by
# PostgreSQL at commit) in one statement (atomic by itself), after one read of the enabled
# endpoints; both prepared, since payments record events (superpayment.prepared). Same rows as
# Event/Delivery/DueDelivery .save()/.bulk_create() would write.
_SUBSCRIPTIONS_SQL = f"""
SELECT id, livemode, enabled_events FROM {WebhookEndpoint._meta.db_table}
WHERE enabled
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
    (schema_name, delivery_id, due_at)
  SELECT %s, d.id, %s FROM d
)
SELECT (SELECT id FROM ev), pg_notify('{DISPATCH_CHANNEL}', '')
"""  # noqa: S608 - table names from model meta; values are bound


def _event_statement(event: Event, subscriptions: Subscriptions) -> Statement:
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
    endpoint_ids = subscriptions.endpoint_ids(event_type=event.type, livemode=event.livemode)
    if not endpoint_ids:
        return Statement(_EVENT_SQL, event_values)
    public_ids = [delivery_public_id_new() for _ in endpoint_ids]
    return Statement(
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
        ],
    )
