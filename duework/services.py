"""Keeping the due-work index, and the beat tick that reads it.

Writers (`due_work_schedule`) run inside the transaction that makes the work, with the merchant's
schema active. The tick claims due rows (`FOR NO KEY UPDATE SKIP LOCKED`, a lease) and sends one
task per merchant and kind; that task does the work, then settles the row from what remains.

Why no wake-up is lost: a writer either moves the row earlier (an upsert) or, when the row is
already due no later than its work, only takes a `FOR KEY SHARE` lock on it, held to its commit.
Settling takes `FOR UPDATE` on the row, so it waits for every writer in flight, and only then
reads what remains (a new statement, so a new snapshot under READ COMMITTED): it sees their
rows. A writer that comes after the settle's lock waits for it and sees the row as settled
(later or gone), so it moves it earlier or inserts it. Writers do not block one another (key
share and no-key update locks do not conflict), and the tick's claim does not wait for them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from duework.kinds import KINDS
from duework.models import DueWork

log = structlog.get_logger(__name__)

# A task holds a claimed row this long at most; then the tick claims it again (a lost message,
# a dead worker). The work is idempotent, so an overlap only repeats nothing.
LEASE = datetime.timedelta(minutes=5)
TICK_BATCH = 500

_TABLE = f'"{settings.PUBLIC_SCHEMA_NAME}"."{DueWork._meta.db_table}"'

# One round trip: lock the rows already due no later than wanted (key share: writers do not
# wait for each other), insert or move earlier the others.
_SCHEDULE_SQL = f"""
WITH wanted(kind, due_at) AS (
  SELECT * FROM unnest(%(kinds)s::text[], %(due)s::timestamptz[])
), current AS (
  SELECT d.kind, d.due_at FROM {_TABLE} d
   WHERE d.schema_name = %(schema)s AND d.kind = ANY(%(kinds)s::text[])
     FOR KEY SHARE
)
INSERT INTO {_TABLE} AS d (schema_name, kind, due_at)
SELECT %(schema)s, w.kind, w.due_at FROM wanted w
 WHERE NOT EXISTS (SELECT 1 FROM current c WHERE c.kind = w.kind AND c.due_at <= w.due_at)
ON CONFLICT (schema_name, kind) DO UPDATE SET due_at = LEAST(d.due_at, EXCLUDED.due_at)
"""  # noqa: S608 - table name from model meta; values are bound

# Picked and locked once in a materialized CTE: as `WHERE id IN (SELECT … LIMIT …)` the planner
# may rescan the subquery per outer row and lease more than `limit` rows (see webhooks' claim).
_CLAIM_SQL = f"""
WITH due AS MATERIALIZED (
  SELECT id FROM {_TABLE}
   WHERE due_at <= %(now)s AND (leased_until IS NULL OR leased_until < %(now)s)
   ORDER BY due_at LIMIT %(limit)s
     FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE {_TABLE} AS d SET leased_until = %(lease)s
  FROM due WHERE d.id = due.id
RETURNING d.schema_name, d.kind
"""  # noqa: S608 - table name from model meta; values are bound


def _merchant_schema() -> str:
    schema_name = connection.schema_name
    if not schema_name or schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("Due work belongs to a merchant: activate its schema first.")
    return schema_name


def due_work_schedule(entries: Iterable[tuple[str, datetime.datetime | None]]) -> None:
    """The active merchant has work of each `(kind, due_at)` from `due_at` on (None: the kind's
    next daily slot). Call it inside the transaction that makes the work: the index row commits
    or rolls back with it, and only ever moves earlier."""
    now = timezone.now()
    wanted: dict[str, datetime.datetime] = {}
    for kind, due_at in entries:
        at = due_at or KINDS[kind].next_slot(now=now)
        wanted[kind] = min(at, wanted.get(kind, at))
    if not wanted:
        return
    kinds = sorted(wanted)  # rows locked in one order by every writer: no deadlock between them
    with connection.cursor() as cursor:
        cursor.execute(
            _SCHEDULE_SQL,
            {
                "schema": _merchant_schema(),
                "kinds": kinds,
                "due": [wanted[kind] for kind in kinds],
            },
        )


def due_work_claim(*, now: datetime.datetime, limit: int = TICK_BATCH) -> list[tuple[str, str]]:
    """Lease up to `limit` due rows no task holds: (schema_name, kind) each."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"lease": now + LEASE, "now": now, "limit": limit})
        return list(cursor.fetchall())


def due_work_tick() -> int:
    """Beat: one task per merchant and kind with work due; nothing for idle merchants (no
    task, and no query beyond the index's)."""
    from duework.tasks import run

    connection.set_schema_to_public()
    sent = 0
    while True:
        rows = due_work_claim(now=timezone.now())
        for schema_name, kind in rows:
            run.delay(schema_name, kind)
        sent += len(rows)
        if len(rows) < TICK_BATCH:
            return sent


@transaction.atomic
def due_work_settle(*, kind: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """Set the active merchant's row of `kind` from the work that remains (or delete it), after
    waiting for every writer in flight. Returns the next due time."""
    schema_name = _merchant_schema()
    # The one lock: held to the commit, so the row is then written by its key, unlocked again.
    row = DueWork.objects.select_for_update().filter(schema_name=schema_name, kind=kind).first()
    next_due = KINDS[kind].call_next_due(now=now or timezone.now())
    if row is None:
        if next_due is not None:
            # A writer may insert the row meanwhile (nothing to lock yet): insert or move earlier,
            # as writers do, so its work is kept.
            due_work_schedule([(kind, next_due)])
    elif next_due is None:
        DueWork.objects.filter(pk=row.pk).delete()
    else:
        DueWork.objects.filter(pk=row.pk).update(due_at=next_due, leased_until=None)
    return next_due


def due_work_run(*, kind: str) -> datetime.datetime | None:
    """Do the active merchant's due work of `kind`, then settle its row. Idempotent."""
    schema_name = _merchant_schema()
    KINDS[kind].call_run()
    connection.set_schema(schema_name)  # the work may have left the schema (billing reads public)
    next_due = due_work_settle(kind=kind)
    log.info("due_work_done", schema=schema_name, kind=kind, next_due=next_due)
    return next_due


def due_work_rebuild(*, kinds: Iterable[str] | None = None) -> dict[str, datetime.datetime | None]:
    """Recompute the active merchant's rows from its data (a restored merchant, or an upgrade
    from the per-merchant fan-out). Costs one query per kind for this merchant only."""
    return {kind: due_work_settle(kind=kind) for kind in (kinds or KINDS)}
