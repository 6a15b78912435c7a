"""The payment path's statements, run server-side prepared on Django's own connection.

On the hot path, compiling an ORM query costs more CPU than PostgreSQL spends running it, and
Django binds values client-side, which cannot be prepared. The few statements a payment makes
are therefore SQL written next to the service that owns them, run here: on a plain psycopg
cursor on Django's connection (so inside the caller's transaction, if any), parsed and planned
once per connection (see the database OPTIONS in settings). A statement names a merchant's
tables unqualified, resolved by the search_path django-tenants sets (so one prepared statement
serves every merchant; PostgreSQL re-parses it when the search_path changes), and public tables
as `{public}.table`; every value is a parameter. The query log sees them like any other query
(CaptureQueriesContext, DEBUG).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import connection
from django.db.models import Model
from django_tenants.utils import get_public_schema_name
from psycopg import pq, sql

M = TypeVar("M", bound=Model)
TUPLES_OK = pq.ExecStatus.TUPLES_OK


Params = Mapping[str, Any] | Sequence[Any]


def prepared_fetch(statement: str, params: Params, *, public_only: bool = False) -> list[tuple]:
    """Run `statement` prepared in the active schema, with `%(name)s` or `%s` placeholders; its
    rows (none for a statement that returns none). A statement that names only `{public}.`
    tables runs whatever the search_path (`public_only`): no `SET search_path` is owed for it,
    which saves a round trip at the start of a request."""
    if not public_only and not getattr(connection, "search_path_set_schemas", None):
        # django-tenants has not sent the active schema's search_path since the last switch
        # (or a rollback): its next cursor does.
        connection.cursor().close()
    else:
        connection.ensure_connection()
    query = _statement_rendered(statement, get_public_schema_name())
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, params, prepare=True)
        # The result's status, not `description` (which builds a Column per column each call).
        returned = cursor.pgresult is not None and cursor.pgresult.status == TUPLES_OK
        rows = cursor.fetchall() if returned else []
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": query.decode(), "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows


def prepared_fetch_one(
    statement: str, params: Params, *, public_only: bool = False
) -> tuple | None:
    rows = prepared_fetch(statement, params, public_only=public_only)
    return rows[0] if rows else None


@functools.lru_cache(maxsize=256)
def _statement_rendered(statement: str, public: str) -> bytes:
    # Rendered once: as bytes, psycopg also caches its parse of the placeholders.
    return sql.SQL(statement).format(public=sql.Identifier(public)).as_bytes(None)


def model_columns(model: type[Model], alias: str) -> str:
    """Every concrete column of `model`, qualified by `alias`, in field order (for
    `model_from_row`)."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def model_insert_clause(model: type[Model]) -> str:
    """`(column, …) VALUES (%(attname)s, …)` for every concrete field but the primary key (for
    `model_insert_values`)."""
    fields = _insert_fields(model)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(f"%({field.attname})s" for field in fields)
    return f"({columns}) VALUES ({values})"


def model_insert_values(instance: Model) -> dict[str, Any]:
    """What Model.save() would insert for `instance` (defaults and auto_now applied, values
    prepared for the database); sets the auto_now fields on `instance` as save() would."""
    return {
        field.attname: field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        for field in _insert_fields(type(instance))
    }


def model_inserted(instance: M, pk: object) -> M:
    """Mark `instance` as the row just inserted with primary key `pk`."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _insert_fields(model: type[Model]) -> list:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def model_from_row(model: type[M], row: tuple) -> M:
    """An instance of `model` from a row selected with `model_columns`, converted as a queryset
    would have loaded it (JSON decoded, ...); extra trailing values are ignored."""
    fields, converters = _row_converters(model)
    values = list(row[: len(fields)])
    for index, column, field_converters in converters:
        for converter in field_converters:
            values[index] = converter(values[index], column, connection)
    return model.from_db(connection.alias, fields, values)


@functools.cache
def _row_converters(model: type[Model]) -> tuple[list[str], list[tuple]]:
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((index, column, found))
    return [field.attname for field in fields], converters
