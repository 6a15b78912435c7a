"""Tenancy at scale: provisioning, setup_platform, beat and pg_dump at 100 and at 2,000 merchants.

Merchants are created through the real path (`provision_merchant`: validation, advisory lock,
template clone, domain row) up to BENCH_TENANCY_MERCHANTS (default 2,000). Each figure is
printed at the small N and at the large N with the ratio large / small; a flat design gives
ratios near 1. The figures for 10,000 and 100,000 merchants are extrapolations from the two
measured points, and printed as such.

The "new tenant migration" figures add migrations to the vouchers app for the run from a
temporary package outside the source tree (MIGRATION_MODULES): nothing is written into the
repository, and an interrupted run leaves only a temporary folder and, in the bench database,
rows and columns the next run removes first.
"""

from __future__ import annotations

import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from psycopg import sql

from tenants.models import Merchant
from tenants.services import provision_merchant

SMALL = 100
LARGE = int(os.environ.get("BENCH_TENANCY_MERCHANTS", "2000"))
WINDOW = 50  # provisions timed (and their backend's memory read) at each size, one process
SLUG_PREFIX = "tenancy-"
PROCESSES = 2
MIGRATIONS_PACKAGE = "superpayment_bench_tenancy_migrations"
# A release's new tenant migration, added to the vouchers app for the run (BenchMigrations).
MIGRATION_TEMPLATE = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("vouchers", "{previous}")]
    operations = [
        migrations.RunSQL(
            "ALTER TABLE vouchers_voucher ADD COLUMN {column} text",
            "ALTER TABLE vouchers_voucher DROP COLUMN {column}",
        )
    ]
"""


def _slug(number: int) -> str:
    return f"{SLUG_PREFIX}{number:06d}"


def _backend_memory() -> tuple[int, int | None]:
    """(bytes in every memory context, private resident bytes or None) of the backend behind
    this process's connection; RssAnon read from /proc when the server runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes), pg_backend_pid() FROM pg_backend_memory_contexts")
        contexts, pid = cursor.fetchone()
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(
            int(line.split()[1]) * 1024
            for line in status.splitlines()
            if line.startswith("RssAnon:")
        )
    except (OSError, StopIteration):
        rss = None
    return int(contexts), rss


# Catalogs a clone reads or writes; their per-transaction counters are read by oid, so reading
# them scans nothing (the pg_stat_xact_* views read the whole of pg_class).
_CATALOGS = (
    "pg_class pg_attribute pg_attrdef pg_constraint pg_depend pg_index pg_namespace pg_type"
    " pg_trigger pg_proc pg_description pg_sequence"
).split()
_CATALOG_READS_SQL = """
WITH catalog AS (SELECT unnest(%s::regclass[]) AS oid),
relation AS (
  SELECT oid, true AS is_table FROM catalog
   UNION ALL
  SELECT idx.indexrelid, false FROM pg_index idx JOIN catalog ON idx.indrelid = catalog.oid
)
SELECT sum(pg_stat_get_xact_tuples_returned(oid) + pg_stat_get_xact_tuples_fetched(oid)),
       coalesce(array_agg(DISTINCT oid::regclass::text)
                FILTER (WHERE is_table AND pg_stat_get_xact_numscans(oid) > 0), '{}')
  FROM relation
"""


def _catalog_reads() -> tuple[int, list[str]]:
    """(catalog rows read, catalogs read by a sequential scan) by this transaction so far: the
    counters of each catalog and of its indexes (syscache lookups scan an index)."""
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_READS_SQL, [_CATALOGS])
        rows, scanned = cursor.fetchone()
        return int(rows), scanned


def _provision(number: int, window: dict | None = None) -> float:
    """Seconds for one merchant. With `window`: inside an outer transaction (as signup does),
    the catalog rows the provisioning read are appended to it, and the memory of the backend it
    ran on once it has committed, before provisioning closes that connection (on-commit
    callbacks run in order)."""
    started = time.perf_counter()
    details = {"slug": _slug(number), "name": f"Tenancy {number}", "country": "DE"}
    if window is None:
        provision_merchant(**details, default_currency="EUR")
        return time.perf_counter() - started
    committed: list[float] = []

    def after_commit() -> None:
        committed.append(time.perf_counter())
        window["memory"].append(_backend_memory())

    with transaction.atomic():
        transaction.on_commit(after_commit)
        provision_merchant(**details, default_currency="EUR")
        window["catalog"].append(_catalog_reads())
    return committed[0] - started


def _grow_to(count: int, existing: int) -> dict:
    """Provision merchants up to `count`; the last WINDOW are timed and the memory of the
    backend each ran on is read after its commit."""
    for number in range(existing + 1, count - WINDOW + 1):
        _provision(number)
        if number % 250 == 0:
            print(f"   … {number:,} merchants", flush=True)
    window: dict[str, list] = {"memory": [], "catalog": []}
    times = [_provision(number, window) for number in range(count - WINDOW + 1, count + 1)]
    (first_contexts, first_rss), (last_contexts, last_rss) = (
        window["memory"][0],
        window["memory"][-1],
    )
    return {
        "provision_catalog_rows": statistics.median(rows for rows, _ in window["catalog"]),
        "provision_catalogs_seq_scanned": sorted(
            {name for _, names in window["catalog"] for name in names}
        ),
        "provision_median_ms": round(statistics.median(times) * 1000, 1),
        "provision_mean_ms": round(statistics.fmean(times) * 1000, 1),
        "provision_first10_ms": round(statistics.median(times[:10]) * 1000, 1),
        "provision_last10_ms": round(statistics.median(times[-10:]) * 1000, 1),
        "backend_kb_first": round(first_contexts / 1024),
        "backend_kb_last": round(last_contexts / 1024),
        "backend_rss_kb_first": first_rss and round(first_rss / 1024),
        "backend_rss_kb_last": last_rss and round(last_rss / 1024),
    }


def _setup_platform_idle() -> float:
    """Median seconds of a setup_platform run with nothing to migrate."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        call_command("setup_platform", processes=PROCESSES, verbosity=0)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


class BenchMigrations:
    """Tenant migrations added one at a time, as releases bring them (each depends on the one
    before), from outside the source tree: the vouchers app's migrations module becomes, for
    the run, a temporary package whose path is its own folder, then vouchers/migrations, so the
    app's migrations and the bench's are found side by side."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="superpayment-bench-tenancy-"))
        self.folder = self.root / MIGRATIONS_PACKAGE
        self.folder.mkdir()
        app_folder = Path(importlib.import_module("vouchers.migrations").__file__).parent
        (self.folder / "__init__.py").write_text(f"__path__.append({str(app_folder)!r})\n")
        sys.path.insert(0, str(self.root))
        self.override = override_settings(
            MIGRATION_MODULES={**settings.MIGRATION_MODULES, "vouchers": MIGRATIONS_PACKAGE}
        )
        self.override.enable()

    def add(self, tag: str) -> None:
        from tenants.migrating import SchemaMigrator

        leaf = next(name for app, name in SchemaMigrator().targets if app == "vouchers")
        path = self.folder / f"9{tag}_bench_tenancy_{tag}.py"
        path.write_text(MIGRATION_TEMPLATE.format(previous=leaf, column=f"bench_tenancy_{tag}"))
        importlib.invalidate_caches()

    def remove_all(self) -> None:
        self.override.disable()
        sys.path.remove(str(self.root))
        for name in [name for name in sys.modules if name.startswith(MIGRATIONS_PACKAGE)]:
            del sys.modules[name]
        shutil.rmtree(self.root, ignore_errors=True)
        importlib.invalidate_caches()


def _setup_platform_migrating(migrations: BenchMigrations, tag: str, processes: int) -> float:
    migrations.add(tag)
    started = time.perf_counter()
    call_command("setup_platform", processes=processes, verbosity=0)
    return time.perf_counter() - started


def _beat_cycle() -> dict:
    """One beat cycle, all merchants idle: every recurring entry of the schedule run once as its
    worker would (the monthly invoice run aside), counting the task messages they publish to
    the broker and the broker's memory before and after."""
    import redis
    from celery import signals

    from superpayment.celery import app

    app.loader.import_default_modules()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    published: list[str] = []

    def record(sender=None, **kwargs) -> None:
        published.append(sender)

    memory_before, keys_before = broker.info("memory")["used_memory"], broker.dbsize()
    signals.before_task_publish.connect(record, weak=False)
    try:
        entries = [
            entry["task"]
            for entry in settings.CELERY_BEAT_SCHEDULE.values()
            if isinstance(entry["schedule"], int | float)
        ]
        for task in entries:
            app.tasks[task].apply()
    finally:
        signals.before_task_publish.disconnect(record)
    broker_memory = broker.info("memory")["used_memory"] - memory_before
    return {
        "beat_entries": entries,
        "beat_tasks_published": len(published),
        "beat_redis_bytes": broker_memory,
        "beat_redis_keys": broker.dbsize() - keys_before,
    }


def _table_list_ms() -> tuple[float, float]:
    """Median ms of one table listing of a merchant schema: django-tenants' (Django's query over
    every visible pg_class row, the schema alone on the search path), then ours (by index)."""
    from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection
    from django_tenants.utils import schema_context

    from superpayment.postgresql_backend.base import SchemaScopedIntrospection

    def median_ms(introspection) -> float:
        runs = []
        with schema_context(_schema_of(1)), connection.cursor() as cursor:
            for _ in range(7):
                started = time.perf_counter()
                introspection.get_table_list(cursor)
                runs.append(time.perf_counter() - started)
        return statistics.median(runs) * 1000

    return (
        median_ms(DatabaseSchemaIntrospection(connection)),
        median_ms(SchemaScopedIntrospection(connection)),
    )


def _schema_of(number: int) -> str:
    return Merchant.objects.get(slug=_slug(number)).schema_name


def _measure_at(count: int, existing: int) -> dict:
    figures = _grow_to(count, existing)
    figures["setup_idle_s"] = _setup_platform_idle()
    figures.update(_beat_cycle())
    figures["table_list_stock_ms"], figures["table_list_scoped_ms"] = _table_list_ms()
    return figures


def _pg_dump() -> tuple[float, int]:
    """Seconds and bytes of a whole-database pg_dump (custom format)."""
    db = settings.DATABASES["default"]
    pg_dump = str(Path(os.environ["PGBIN"]) / "pg_dump") if os.environ.get("PGBIN") else "pg_dump"
    out = Path(settings.VAR_DIR) / "bench" / "tenancy.dump"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [pg_dump, "-Fc", "-Z0", "-f", str(out), "-h", db["HOST"], "-p", str(db["PORT"])]
        + ["-U", db["USER"], db["NAME"]],
        check=True,
        capture_output=True,
        env={**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""},
    )
    elapsed = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    return elapsed, size


def _tables_per_merchant() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p')"
            " AND relnamespace = %s::regnamespace",
            [settings.TENANT_BASE_SCHEMA],
        )
        return cursor.fetchone()[0]


def _drop_bench_merchants() -> None:
    """Every tenancy bench merchant gone: schemas dropped a batch per transaction."""
    connection.set_schema_to_public()
    merchants = Merchant.objects.filter(slug__startswith=SLUG_PREFIX)
    schemas = list(merchants.values_list("schema_name", flat=True))
    for start in range(0, len(schemas), 50):
        batch = schemas[start : start + 50]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in batch)
                )
            )
            Merchant.objects.filter(schema_name__in=batch).delete()


def _reset_template_column_migrations() -> None:
    """Forget bench migrations an interrupted run left recorded (their files are gone)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM tenants_merchant")
        for (schema,) in cursor.fetchall():
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {}.django_migrations WHERE app = 'vouchers' AND name LIKE %s"
                ).format(sql.Identifier(schema)),
                ["%bench_tenancy%"],
            )
            cursor.execute(
                sql.SQL(
                    "ALTER TABLE {}.vouchers_voucher DROP COLUMN IF EXISTS bench_tenancy_a,"
                    " DROP COLUMN IF EXISTS bench_tenancy_b, DROP COLUMN IF EXISTS bench_tenancy_c"
                ).format(sql.Identifier(schema))
            )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} cores"


def run() -> dict:
    if LARGE < SMALL + WINDOW:
        raise SystemExit(f"BENCH_TENANCY_MERCHANTS must be at least {SMALL + WINDOW}")
    _drop_bench_merchants()
    _reset_template_column_migrations()
    Merchant.objects.update(migrations_digest="")
    call_command("setup_platform", processes=1, verbosity=0)
    base = Merchant.objects.count()  # the template and other benchmarks' merchants
    loads = [_load()]
    migrations = BenchMigrations()
    try:
        started = time.perf_counter()
        small = _measure_at(SMALL, 0)
        small["migrate_1p_s"] = _setup_platform_migrating(migrations, "a", processes=1)
        small["migrate_2p_s"] = _setup_platform_migrating(migrations, "b", processes=PROCESSES)
        loads.append(_load())
        large = _measure_at(LARGE, SMALL)
        creation_s = time.perf_counter() - started
        large["migrate_2p_s"] = _setup_platform_migrating(migrations, "c", processes=PROCESSES)
        dump_s, dump_bytes = _pg_dump()
        loads.append(_load())
        tables = _tables_per_merchant()
        return _report(
            small,
            large,
            (SMALL + base, LARGE + base),
            creation_s,
            (dump_s, dump_bytes, tables),
            loads,
        )
    finally:
        migrations.remove_all()
        _drop_bench_merchants()
        _reset_template_column_migrations()
        Merchant.objects.update(migrations_digest="")
        call_command("setup_platform", processes=1, verbosity=0)


def _linear(at_small: float, at_large: float, sizes: tuple[int, int], n: int) -> float:
    """The straight line through both measurements at `n`; never below what was measured (a
    slope within the noise below zero would extrapolate to less than nothing)."""
    n_small, n_large = sizes
    slope = (at_large - at_small) / (n_large - n_small)
    return max(at_large + slope * (n - n_large), at_small, at_large)


def _report(small, large, sizes, creation_s, dump, loads) -> dict:
    n_small, n_large = sizes
    dump_s, dump_bytes, tables = dump
    lines = []

    def ratio(key: str) -> float:
        return large[key] / small[key] if small[key] else float("nan")

    provision_ratio = ratio("provision_median_ms")
    lines.append(
        f"provisioning per merchant  N={n_small:,}: {small['provision_median_ms']:.0f} ms   "
        f"N={n_large:,}: {large['provision_median_ms']:.0f} ms   ratio {provision_ratio:.2f} "
        f"(goal ≤ 1.2) — {LARGE:,} merchants created in {creation_s:.0f} s"
    )
    lines.append(
        f"catalog rows one provisioning reads (its transaction's counters, median)  "
        f"N={n_small:,}: {small['provision_catalog_rows']:,.0f}   N={n_large:,}: "
        f"{large['provision_catalog_rows']:,.0f}   ratio {ratio('provision_catalog_rows'):.2f}; "
        f"catalogs read whole: N={n_small:,}: "
        f"{', '.join(small['provision_catalogs_seq_scanned']) or 'none'}, N={n_large:,}: "
        f"{', '.join(large['provision_catalogs_seq_scanned']) or 'none'} (in any of the "
        f"{WINDOW}: the planner reading a small catalog whole, or a new backend rebuilding the "
        f"relation cache file after a catalog was vacuumed, which stops at the first rows)"
    )
    for n, at in ((n_small, small), (n_large, large)):
        rss = (
            f", private RSS {at['backend_rss_kb_first']:,} → {at['backend_rss_kb_last']:,} KB"
            if at["backend_rss_kb_first"]
            else ""
        )
        lines.append(
            f"{WINDOW} provisions in one process  N={n:,}: median of the first 10 "
            f"{at['provision_first10_ms']:.0f} ms, of the last 10 {at['provision_last10_ms']:.0f} "
            f"ms (ratio {at['provision_last10_ms'] / at['provision_first10_ms']:.2f}); the "
            f"provisioning backend after its commit, 1st → {WINDOW}th: memory contexts "
            f"{at['backend_kb_first']:,} → {at['backend_kb_last']:,} KB{rss}"
        )
    idle_small = small["setup_idle_s"] / n_small * 1000
    idle_large = large["setup_idle_s"] / n_large * 1000
    lines.append(
        f"setup_platform, nothing to do  N={n_small:,}: {small['setup_idle_s']:.2f} s "
        f"({idle_small:.2f} ms/schema)   N={n_large:,}: {large['setup_idle_s']:.2f} s "
        f"({idle_large:.2f} ms/schema)   ratio per schema {idle_large / idle_small:.2f}, "
        f"whole run {ratio('setup_idle_s'):.2f} (goal ≤ 10 ms, ≤ 1.2)"
    )
    per_small_1p = small["migrate_1p_s"] / n_small * 1000
    per_small_2p = small["migrate_2p_s"] / n_small * 1000
    per_large_2p = large["migrate_2p_s"] / n_large * 1000
    speedup = small["migrate_1p_s"] / small["migrate_2p_s"]
    lines.append(
        f"setup_platform, one new tenant migration  N={n_small:,}: {per_small_2p:.1f} ms/schema "
        f"({PROCESSES} processes; 1 process {per_small_1p:.1f})   N={n_large:,}: "
        f"{per_large_2p:.1f} ms/schema   ratio {per_large_2p / per_small_2p:.2f} (goal ≤ 1.2); "
        f"{PROCESSES} processes {speedup:.2f}x one"
    )
    lines.append(
        f"one beat cycle, every merchant idle ({', '.join(small['beat_entries'])} run once)  "
        f"N={n_small:,}: {small['beat_tasks_published']} tasks published, Redis "
        f"{small['beat_redis_bytes']:+,} bytes, {small['beat_redis_keys']:+} keys   "
        f"N={n_large:,}: {large['beat_tasks_published']} tasks, {large['beat_redis_bytes']:+,} "
        f"bytes, {large['beat_redis_keys']:+} keys (goal: the same at both)"
    )
    lines.append(
        f"table list of one merchant schema  django-tenants' N={n_small:,}: "
        f"{small['table_list_stock_ms']:.2f} ms, N={n_large:,}: "
        f"{large['table_list_stock_ms']:.2f} ms (ratio {ratio('table_list_stock_ms'):.2f})   "
        f"schema-scoped N={n_small:,}: {small['table_list_scoped_ms']:.2f} ms, "
        f"N={n_large:,}: {large['table_list_scoped_ms']:.2f} ms "
        f"(ratio {ratio('table_list_scoped_ms'):.2f})"
    )
    lines.append(
        f"pg_dump of the whole database  N={n_large:,}: {dump_s:.1f} s, "
        f"{dump_bytes / 1e6:.0f} MB ({tables} tables per merchant)"
    )
    extrapolated = {}
    for n in (10_000, 100_000):

        def line(key: str, n: int = n) -> float:
            return _linear(small[key], large[key], sizes, n)

        figures = {
            "provision_ms": line("provision_median_ms"),
            "provision_catalog_rows": line("provision_catalog_rows"),
            "setup_idle_s": line("setup_idle_s"),
            "migrate_2p_s": per_large_2p * n / 1000,
            "beat_tasks": line("beat_tasks_published"),
            "table_list_stock_ms": line("table_list_stock_ms"),
            "table_list_scoped_ms": line("table_list_scoped_ms"),
            "pg_dump_s": dump_s * n / n_large,
        }
        extrapolated[n] = figures
        lines.append(
            f"extrapolated to {n:,} merchants (not measured): provisioning "
            f"{figures['provision_ms']:.0f} ms reading {figures['provision_catalog_rows']:,.0f} "
            f"catalog rows; setup_platform idle {figures['setup_idle_s']:.1f} "
            f"s; one new tenant migration {figures['migrate_2p_s'] / 60:.1f} min with "
            f"{PROCESSES} processes; beat cycle {figures['beat_tasks']:.0f} tasks; table list "
            f"{figures['table_list_stock_ms']:.0f} ms (django-tenants') vs "
            f"{figures['table_list_scoped_ms']:.2f} ms; pg_dump "
            f"{figures['pg_dump_s'] / 60:.1f} min, {n * tables:,} table locks"
        )
    lines.append(f"load average (1/5/15 min) at start, N={n_small:,}, end: {' | '.join(loads)}")
    return {
        "small_n": n_small,
        "large_n": n_large,
        "small": small,
        "large": large,
        "creation_s": round(creation_s, 1),
        "provision_ratio": round(provision_ratio, 2),
        "setup_idle_ms_per_schema": [round(idle_small, 2), round(idle_large, 2)],
        "migrate_ms_per_schema": [round(per_small_2p, 1), round(per_large_2p, 1)],
        "parallel_speedup": round(speedup, 2),
        "pg_dump_s": round(dump_s, 1),
        "pg_dump_bytes": dump_bytes,
        "tables_per_merchant": tables,
        "extrapolated": extrapolated,
        "load": loads,
        "lines": lines,
    }
