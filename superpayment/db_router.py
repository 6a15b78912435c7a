"""Reporting reads may go to the read replica; every other query goes to the primary.

Reporting code opts in explicitly, one block at a time:

    with reporting_reads():
        rows = list(Payment.objects.filter(created__gte=start))  # the replica, when configured

Inside the block, reads go to the `replica` alias when REPLICA_DATABASE_URL is set and to the
primary otherwise. Writes (`save`, `create`, `update`, `delete`, `select_for_update`) always go
to the primary, inside the block too, and migrations run on the primary only. The replica lags
the primary by a little: never read from it what a write in the same request depends on.

django-tenants keeps the active schema on the primary's connection object; entering the block
copies it (and its search_path) to the replica's connection, so a tenant's report reads that
tenant's tables on the replica as well.

`ReplicaRouter` comes after django-tenants' `TenantSyncRouter` in DATABASE_ROUTERS. Django asks
the routers in order and takes the first answer that is not None: TenantSyncRouter answers only
`allow_migrate`, so its decisions about shared and tenant apps stand, and this router answers the
read/write questions it leaves open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

REPLICA_ALIAS = "replica"
PRIMARY_ALIASES = frozenset({DEFAULT_DB_ALIAS, REPLICA_ALIAS})

# The alias reads go to in the current thread or task; None outside any reporting block.
_read_alias: ContextVar[str | None] = ContextVar("superpayment_read_alias", default=None)


def replica_configured() -> bool:
    return REPLICA_ALIAS in connections.settings


@contextmanager
def reporting_reads() -> Iterator[str]:
    """Send the reads in this block to the replica (or to the primary without one).

    Yields the alias the reads use. Nested blocks are fine; the replica's previous schema is
    restored on the way out.
    """
    if not replica_configured():
        token = _read_alias.set(DEFAULT_DB_ALIAS)
        try:
            yield DEFAULT_DB_ALIAS
        finally:
            _read_alias.reset(token)
        return

    replica = connections[REPLICA_ALIAS]
    previous_tenant, previous_public = replica.tenant, replica.include_public_schema
    replica.set_tenant(connection.tenant, include_public=connection.include_public_schema)
    token = _read_alias.set(REPLICA_ALIAS)
    try:
        yield REPLICA_ALIAS
    finally:
        _read_alias.reset(token)
        replica.set_tenant(previous_tenant, include_public=previous_public)


class ReplicaRouter:
    """Reads inside `reporting_reads()` go to its alias; writes and migrations to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return _read_alias.get()

    def db_for_write(self, model: type, **hints: Any) -> str:
        # A row read from the replica is saved to the primary, never to the replica.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica holds the primary's data: rows from either may refer to each other.
        if {obj1._state.db, obj2._state.db} <= PRIMARY_ALIASES:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary by replication; it is never migrated directly.
        return False if db == REPLICA_ALIAS else None
