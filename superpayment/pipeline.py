"""Statements sent together: psycopg 3's pipeline mode on Django's own connection.

On the payment path a round trip costs more than most statements it carries: each one wakes the
app server and PostgreSQL (kernel CPU on both sides), and row locks stay held across it. So the
services of a use case do not run their statements one by one: each returns the `Statement`s it
would run (SQL written next to the service that owns it, with its parameters), and the use case
sends those that do not need each other's answers in one `statements_send` — one round trip
however many statements it holds, each still a server-side prepared statement
(superpayment.prepared), in order, each with its own snapshot.

Transactions. psycopg, asked for a statement in a transaction not yet begun, sends BEGIN and
waits for it: a round trip of its own. So the first send of the outermost `transaction.atomic`
block carries the BEGIN itself (and the `SET search_path` django-tenants owes after a tenant
switch), and `commit=True` puts the COMMIT into the last send. Django's atomic block then finds
the transaction committed and has nothing to do; on an error it rolls back as always. Nested in
a caller's transaction (a savepoint: the tests, or a caller that owns the transaction),
`commit=True` leaves the commit to that caller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from django.db import connection
from django_tenants.utils import get_public_schema_name
from psycopg import pq, sql

from superpayment.prepared import Params, _statement_rendered

TUPLES_OK = pq.ExecStatus.TUPLES_OK
IDLE = pq.TransactionStatus.IDLE


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement a service will run: its SQL (`{public}` names the public schema; values are
    `%(name)s` or `%s` parameters) and its parameters."""

    sql: str
    params: Params


def statements_send(statements: Sequence[Statement], *, commit: bool = False) -> list[list[tuple]]:
    """Run `statements` in order, prepared, in one round trip; the rows of each (none for one that
    returns none). An error in one aborts the transaction: the later ones do not run, and the
    error is raised as Django raises database errors. `commit=True` commits the outermost
    transaction in the same round trip (it must be the last thing the atomic block does)."""
    if not connection.in_atomic_block:
        raise RuntimeError("statements_send runs inside transaction.atomic()")
    connection.ensure_connection()
    pg = connection.connection
    begin = pg.pgconn.transaction_status == IDLE
    if begin:
        # Django's atomic block has turned autocommit off but sent nothing yet. Left so, psycopg
        # would send BEGIN in a round trip of its own; the BEGIN goes into this one instead.
        pg.autocommit = True
    public = get_public_schema_name()
    queries: list[tuple[bytes, Params | None, bool]] = []
    if begin:
        queries.append((b"BEGIN", None, False))
    search_path = _search_path_owed()
    if search_path is not None:
        queries.append((search_path, None, False))
    queries += [(_statement_rendered(s.sql, public), s.params, True) for s in statements]
    commit_here = commit and len(connection.atomic_blocks) == 1
    if commit_here:
        queries.append((b"COMMIT", None, False))
    started = time.monotonic()
    with connection.wrap_database_errors:
        cursors = [psycopg.Cursor(pg) for _ in queries]
        try:
            # Leaving the pipeline sends one Sync and reads every answer: the one round trip.
            with pg.pipeline():
                for cursor, (query, params, prepare) in zip(cursors, queries, strict=True):
                    cursor.execute(query, params, prepare=prepare)
            if search_path is not None:
                connection.search_path_set_schemas = connection._get_cursor_search_paths()
            results = [
                _rows(cursor)
                for cursor, (_q, _p, prepare) in zip(cursors, queries, strict=True)
                if prepare
            ]
        finally:
            for cursor in cursors:
                cursor.close()
            if pg.autocommit and pg.pgconn.transaction_status == IDLE:
                # Committed (or never begun): as Django left it when the block began, so a
                # statement after this one would begin a transaction of its own. (Aborted, it
                # stays so until Django's atomic block rolls back.)
                pg.autocommit = False
    if connection.queries_logged:
        elapsed = f"{time.monotonic() - started:.3f}"
        for query, _params, prepare in queries:
            if prepare:
                connection.queries_log.append({"sql": query.decode(), "time": elapsed})
    return results


def _rows(cursor: psycopg.Cursor) -> list[tuple]:
    # The result's status, not `description` (which builds a Column per column each call).
    returned = cursor.pgresult is not None and cursor.pgresult.status == TUPLES_OK
    return cursor.fetchall() if returned else []


def _search_path_owed() -> bytes | None:
    """The `SET search_path` django-tenants would send before the next statement, if it owes
    one (after a tenant switch or a rollback)."""
    if connection.search_path_set_schemas:
        return None
    names = [sql.Identifier(name) for name in connection._get_cursor_search_paths()]
    return sql.SQL("SET search_path = {}").format(sql.SQL(", ").join(names)).as_bytes(None)
