"""Bring merchant schemas up to the code's migrations: only those behind, in parallel, resumably.

A release must not cost time per merchant that exists, only per merchant with work to do. Each
merchant row records a fingerprint of the tenant apps' leaf migrations its schema was last
brought up to (`Merchant.migrations_digest`), so one query over the merchant table lists the
schemas that are behind; a schema already current is never opened. A schema's fingerprint is
written when its migrations finish, so a run that stops (killed, deadline, one bad schema) can
be run again and carries on with the schemas still behind.

django-tenants' `migrate_schemas` runs Django's whole `migrate` command per schema: it loads the
migration graph from disk, lists every table visible on the connection (`pg_class` read whole,
so the cost of each schema grows with the number of schemas) and re-computes the project state
by replaying every migration. Here each worker process loads the graph once, checks for the
`django_migrations` table of that schema only, and computes the project state once per set of
applied migrations (all schemas one release behind share it), so the work per behind schema is
its own migrations and a few queries.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from tenants.models import Merchant

Target = tuple[str, str]


def tenant_app_labels() -> set[str]:
    return {
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    }


def migration_targets(loader: MigrationLoader) -> list[Target]:
    """The leaf migration of every tenant app: where each merchant schema must be."""
    labels = tenant_app_labels()
    return sorted(node for node in loader.graph.leaf_nodes() if node[0] in labels)


def migrations_digest(targets: Sequence[Target]) -> str:
    text = ",".join(f"{app}.{name}" for app, name in sorted(targets))
    return hashlib.sha256(text.encode()).hexdigest()


def code_migrations_digest() -> str:
    """The fingerprint a schema carries once it has every tenant migration of this code."""
    return migrations_digest(migration_targets(MigrationLoader(None, ignore_no_migrations=True)))


def schemas_behind(digest: str) -> list[str]:
    """Schemas whose recorded migrations differ from `digest`, the template first (new merchants
    are cloned from it), then in creation order. One query, whatever the number of merchants."""
    return list(
        Merchant.objects.exclude(migrations_digest=digest)
        .order_by("-is_template", "pk")
        .values_list("schema_name", flat=True)
    )


def schema_migrations_recorded(*, schema_name: str, digest: str) -> None:
    connection.set_schema_to_public()
    Merchant.objects.filter(schema_name=schema_name).update(migrations_digest=digest)


class SchemaMigrationRecorder(MigrationRecorder):
    """Looks for the `django_migrations` table in the active schema only (by pg_class's
    (relname, relnamespace) index), not through a list of every visible table."""

    def has_table(self) -> bool:
        if self._has_table:
            return True
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS(SELECT 1 FROM pg_class WHERE relname = %s"
                " AND relnamespace = to_regnamespace(%s))",
                [self.Migration._meta.db_table, self.connection.schema_name],
            )
            self._has_table = cursor.fetchone()[0]
        return self._has_table


class SchemaMigrator:
    """Migrates one schema after another on this process's connection, with one migration
    graph and one project state per set of applied migrations."""

    def __init__(self) -> None:
        self.loader = MigrationLoader(None, ignore_no_migrations=True)
        self.targets = migration_targets(self.loader)
        self.digest = migrations_digest(self.targets)
        self._states: dict[frozenset[Target], ProjectState] = {}

    def _executor(self) -> MigrationExecutor:
        executor = MigrationExecutor.__new__(MigrationExecutor)
        executor.connection = connection
        executor.loader = self.loader
        executor.recorder = SchemaMigrationRecorder(connection)
        executor.progress_callback = None
        return executor

    def migrate(self, schema_name: str) -> int:
        """Apply what `schema_name` lacks, then record it current; the number applied."""
        connection.set_schema(schema_name, include_public=True)
        executor = self._executor()
        applied = executor.recorder.applied_migrations()
        self.loader.applied_migrations = applied
        plan = executor.migration_plan(self.targets)
        if plan:
            key = frozenset(applied)
            if key not in self._states:
                state = executor._create_project_state(with_applied_migrations=True)
                state.apps  # noqa: B018 - rendered once here, copied by each clone below
                self._states[key] = state
            state = self._states[key].clone()
            for migration, _backwards in plan:
                state = executor.apply_migration(state, migration)
            # What Django's migrate does after its plan: content types of new tenant models.
            emit_post_migrate_signal(
                verbosity=0, interactive=False, db=connection.alias, apps=state.apps, plan=plan
            )
        schema_migrations_recorded(schema_name=schema_name, digest=self.digest)
        return len(plan)


def constraint_names_align(schema_names: Sequence[str], *, batch: int = 1000) -> int:
    """Give the template's unique-constraint names to the merchant schemas among
    `schema_names` that django-tenants' clone function named otherwise (tenants.cloning), before
    their migrations run (a migration may name a constraint). One statement per `batch` schemas;
    the number renamed."""
    from tenants.cloning import clone_constraint_names_align

    connection.set_schema_to_public()
    merchants = [name for name in schema_names if name != settings.TENANT_BASE_SCHEMA]
    return sum(
        clone_constraint_names_align(template=settings.TENANT_BASE_SCHEMA, schemas=chunk)
        for chunk in _chunks(merchants, batch)
    )


@dataclass
class MigrationRun:
    total: int
    done: int = 0
    applied: int = 0
    failed: dict[str, str] = field(default_factory=dict)


_worker: SchemaMigrator | None = None


def _worker_start() -> None:
    global _worker
    connections.close_all()  # never a connection inherited from the parent
    _worker = SchemaMigrator()


def _worker_migrate(chunk: Sequence[str]) -> list[tuple[str, int, str | None]]:
    outcomes = []
    for schema_name in chunk:
        try:
            outcomes.append((schema_name, _worker.migrate(schema_name), None))
        except Exception as exc:  # one bad schema must not stop the others
            connection.set_schema_to_public()
            outcomes.append((schema_name, 0, f"{type(exc).__name__}: {exc}"))
    return outcomes


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def schemas_migrate(
    schema_names: Sequence[str],
    *,
    processes: int,
    chunk_size: int = 20,
    progress: Callable[[MigrationRun], None] | None = None,
) -> MigrationRun:
    """Migrate `schema_names` (each one to the code's leaf migrations) with `processes` worker
    processes; 1 runs in this process, on its connection. `progress` is called after each
    chunk."""
    run = MigrationRun(total=len(schema_names))

    def collect(outcomes: list[tuple[str, int, str | None]]) -> None:
        for schema_name, applied, error in outcomes:
            run.done += 1
            run.applied += applied
            if error:
                run.failed[schema_name] = error
        if progress:
            progress(run)

    if not schema_names:
        return run
    if processes <= 1 or len(schema_names) <= chunk_size:
        global _worker
        _worker = SchemaMigrator()
        for chunk in _chunks(schema_names, chunk_size):
            collect(_worker_migrate(chunk))
        connection.set_schema_to_public()
        return run
    connections.close_all()  # forked children must not share this connection
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_worker_start) as pool:
        for outcomes in pool.imap_unordered(
            _worker_migrate, list(_chunks(schema_names, chunk_size))
        ):
            collect(outcomes)
    return run


class ProgressPrinter:
    """`merchant schemas: 1,200/2,000 (60 %), 85/s, about 9 s left`, at most every `every` s."""

    def __init__(self, write: Callable[[str], None], every: float = 2.0) -> None:
        self.write = write
        self.every = every
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, run: MigrationRun) -> None:
        now = time.monotonic()
        if run.done < run.total and now - self.last < self.every:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = run.done / elapsed
        left = (run.total - run.done) / rate if rate else float("inf")
        percent = 100 * run.done / run.total if run.total else 100
        self.write(
            f"merchant schemas: {run.done:,}/{run.total:,} ({percent:.0f} %), "
            f"{rate:,.1f}/s, about {left:,.0f} s left"
            + (f", {len(run.failed)} failed" if run.failed else "")
        )
