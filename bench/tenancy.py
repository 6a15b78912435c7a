"""Tenancy at scale: provisioning, setup_platform and pg_dump at 100 and at 2,000 merchants.

Merchants are created through the real path (`provision_merchant`: validation, advisory lock,
template clone, constraint names, domain row) up to BENCH_TENANCY_MERCHANTS (default 2,000).
Each figure is printed at the small N and at the large N with the ratio large / small; a flat
design gives ratios near 1. The figures for 10,000 and 100,000 merchants are extrapolations
from the two measured points, and printed as such.

The "new tenant migration" figures write small migrations into vouchers/migrations/ for the run
(`9a_bench_tenancy_a.py` …) and delete them at the end: run no tests from the same checkout
meanwhile. A run that is killed leaves them behind; delete them by hand.
"""

from __future__ import annotations

import importlib
import os
import statistics
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from psycopg import sql

from tenants.models import Merchant
from tenants.services import provision_merchant

SMALL = 100
LARGE = int(os.environ.get("BENCH_TENANCY_MERCHANTS", "2000"))
WINDOW = 50  # provisions timed (and memory watched) at each size, on one connection
SLUG_PREFIX = "tenancy-"
PROCESSES = 2
# A release's new tenant migration: written into vouchers/migrations for the run, then removed.
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


def _backend_memory() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0])


def _provision(number: int) -> float:
    started = time.perf_counter()
    provision_merchant(
        slug=_slug(number), name=f"Tenancy {number}", country="DE", default_currency="EUR"
    )
    return time.perf_counter() - started


def _grow_to(count: int, existing: int) -> dict:
    """Provision merchants up to `count`; the last WINDOW are timed and their backend memory
    watched on this process's one connection."""
    for number in range(existing + 1, count - WINDOW + 1):
        _provision(number)
        if number % 250 == 0:
            print(f"   … {number:,} merchants", flush=True)
    memory_before = _backend_memory()
    times = [_provision(number) for number in range(count - WINDOW + 1, count + 1)]
    memory_after = _backend_memory()
    return {
        "provision_median_ms": round(statistics.median(times) * 1000, 1),
        "provision_mean_ms": round(statistics.fmean(times) * 1000, 1),
        "memory_growth_kb_per_50": round((memory_after - memory_before) / 1024),
    }


def _setup_platform_idle() -> float:
    """Median seconds of a setup_platform run with nothing to migrate."""
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        call_command("setup_platform", processes=PROCESSES, verbosity=0)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


class NewMigrations:
    """Tenant migrations added to the code one at a time, as releases bring them (each depends
    on the one before); all removed at the end."""

    folder = Path(importlib.import_module("vouchers.migrations").__file__).parent

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, tag: str) -> None:
        from tenants.migrating import SchemaMigrator

        leaf = next(name for app, name in SchemaMigrator().targets if app == "vouchers")
        path = self.folder / f"9{tag}_bench_tenancy_{tag}.py"
        path.write_text(MIGRATION_TEMPLATE.format(previous=leaf, column=f"bench_tenancy_{tag}"))
        self.paths.append(path)
        importlib.invalidate_caches()

    def remove_all(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)
            for cached in (self.folder / "__pycache__").glob(f"{path.stem}.*"):
                cached.unlink(missing_ok=True)
        importlib.invalidate_caches()


def _setup_platform_migrating(migrations: NewMigrations, tag: str, processes: int) -> float:
    migrations.add(tag)
    started = time.perf_counter()
    call_command("setup_platform", processes=processes, verbosity=0)
    return time.perf_counter() - started


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


def run() -> dict:
    _drop_bench_merchants()
    _reset_template_column_migrations()
    call_command("setup_platform", processes=1, verbosity=0)
    base = Merchant.objects.count()  # the template and other benchmarks' merchants
    migrations = NewMigrations()
    try:
        started = time.perf_counter()
        small = _grow_to(SMALL, 0)
        small["setup_idle_s"] = _setup_platform_idle()
        small["migrate_1p_s"] = _setup_platform_migrating(migrations, "a", processes=1)
        small["migrate_2p_s"] = _setup_platform_migrating(migrations, "b", processes=PROCESSES)
        large = _grow_to(LARGE, SMALL)
        creation_s = time.perf_counter() - started
        large["setup_idle_s"] = _setup_platform_idle()
        large["migrate_2p_s"] = _setup_platform_migrating(migrations, "c", processes=PROCESSES)
        dump_s, dump_bytes = _pg_dump()
        tables = _tables_per_merchant()
        return _report(
            small, large, SMALL + base, LARGE + base, creation_s, dump_s, dump_bytes, tables
        )
    finally:
        migrations.remove_all()
        _drop_bench_merchants()
        _reset_template_column_migrations()
        Merchant.objects.update(migrations_digest="")
        call_command("setup_platform", processes=1, verbosity=0)


def _linear(at_small: float, at_large: float, n_small: int, n_large: int, n: int) -> float:
    slope = (at_large - at_small) / (n_large - n_small)
    return at_large + slope * (n - n_large)


def _report(small, large, n_small, n_large, creation_s, dump_s, dump_bytes, tables) -> dict:
    lines = []

    def ratio(key: str, per: tuple[int, int] = (1, 1)) -> float:
        return (large[key] / per[1]) / (small[key] / per[0])

    provision_ratio = ratio("provision_median_ms")
    lines.append(
        f"provisioning per merchant  N={n_small:,}: {small['provision_median_ms']:.0f} ms   "
        f"N={n_large:,}: {large['provision_median_ms']:.0f} ms   ratio {provision_ratio:.2f} "
        f"(goal ≤ 1.2) — {LARGE:,} merchants created in {creation_s:.0f} s"
    )
    lines.append(
        f"backend memory over {WINDOW} provisions on one connection  "
        f"N={n_small:,}: {small['memory_growth_kb_per_50']:+,} KB   "
        f"N={n_large:,}: {large['memory_growth_kb_per_50']:+,} KB"
    )
    idle_small = small["setup_idle_s"] / n_small * 1000
    idle_large = large["setup_idle_s"] / n_large * 1000
    lines.append(
        f"setup_platform, nothing to do  N={n_small:,}: {small['setup_idle_s']:.2f} s "
        f"({idle_small:.2f} ms/schema)   N={n_large:,}: {large['setup_idle_s']:.2f} s "
        f"({idle_large:.2f} ms/schema)   ratio per schema {idle_large / idle_small:.2f}, "
        f"whole run {large['setup_idle_s'] / small['setup_idle_s']:.2f} (goal ≤ 10 ms, ≤ 1.2)"
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
        f"pg_dump of the whole database  N={n_large:,}: {dump_s:.1f} s, "
        f"{dump_bytes / 1e6:.0f} MB ({tables} tables per merchant)"
    )
    extrapolated = {}
    for n in (10_000, 100_000):
        # Flat within the noise gives a slope <= 0: then the larger measured run stands.
        idle = max(
            _linear(small["setup_idle_s"], large["setup_idle_s"], n_small, n_large, n),
            small["setup_idle_s"],
            large["setup_idle_s"],
        )
        migrate = per_large_2p * n / 1000
        dump = dump_s * n / n_large
        extrapolated[n] = {"setup_idle_s": idle, "migrate_2p_s": migrate, "pg_dump_s": dump}
        lines.append(
            f"extrapolated to {n:,} merchants (not measured): provisioning "
            f"{large['provision_median_ms']:.0f} ms; setup_platform idle {idle:.1f} s; "
            f"one new tenant migration {migrate / 60:.1f} min with {PROCESSES} processes "
            f"({migrate / 60 / 4:.1f} min with 8 on 8 cores); pg_dump {dump / 60:.1f} min, "
            f"{n * tables:,} table locks"
        )
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
        "lines": lines,
    }
