"""Voucher redemptions per second against pgbench on the same PostgreSQL, and bulk issuing.

Spread: 1,000 vouchers, each redemption picks one at random; anchor: pgbench's built-in
simple-update transaction (`-N`). Hot: every redemption debits one voucher; anchor: pgbench
running a one-row conditional UPDATE. Both sides use the same clients and duration. Our
clients are processes (one connection each), not threads, so that the figure measures the
redemption path rather than Python's global interpreter lock.
Ceiling: pgbench itself running our redemption statement (prepared, no Python), which splits the
gap to the anchor into what PostgreSQL does for a redemption and what our client adds.
Bulk: codes per second issuing 100,000 vouchers in one call.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from django_tenants.utils import schema_context

from bench.merchants import bench_merchant_drop
from bench.processes import processes_run
from tenants.services import provision_merchant
from vouchers.locks import DEBIT_BY_CODE_SQL
from vouchers.services import voucher_issue_bulk, voucher_redeem

CLIENTS = 8
DURATION_S = 10
SPREAD_VOUCHERS = 1_000
BULK_CODES = 100_000
BENCH_SLUG = "bench-vouchers"
SCRATCH_DATABASE = "bench_pgbench"
HOT_SCRIPT = "UPDATE hot SET balance = balance - 1 WHERE id = 1 AND balance >= 1;\n"
BIG_BALANCE = 10**12


def _client(schema: str, codes: list[str], start_at: float, results) -> None:
    """One shopper process: pays 1 cent at a time with a random code until the time is up."""
    rng = random.Random(os.getpid())
    done = failed = 0
    with schema_context(schema):
        voucher_redeem(  # connect and warm up before the clock starts
            tenders=[codes[0]], amount=1, currency="EUR", livemode=False, reference="warm-up"
        )
        time.sleep(max(0.0, start_at - time.time()))
        deadline = start_at + DURATION_S
        while time.time() < deadline:
            try:
                voucher_redeem(
                    tenders=[rng.choice(codes)],
                    amount=1,
                    currency="EUR",
                    livemode=False,
                    reference=f"bench-{os.getpid()}-{done}",
                )
                done += 1
            except Exception:
                failed += 1
    connections.close_all()
    results.put((done, failed))


def _redemptions_per_second(schema: str, codes: list[str]) -> tuple[float, int]:
    _, outcomes = processes_run(_client, [(schema, codes)] * CLIENTS, start_in=2.0)
    return sum(done for done, _ in outcomes) / DURATION_S, sum(f for _, f in outcomes)


def _pgbench_binary() -> str:
    folder = os.environ.get("PGBIN")
    found = str(Path(folder) / "pgbench") if folder else shutil.which("pgbench")
    if not found or not Path(found).exists():
        raise SystemExit("pgbench not found: set PGBIN or put pgbench on PATH")
    return found


def _pgbench_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "PGHOST": str(db["HOST"] or "127.0.0.1"),
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": str(db["USER"]),
        "PGDATABASE": SCRATCH_DATABASE,
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _scratch_database(env: dict[str, str], *, create: bool) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}"')
        if create:
            admin.execute(f'CREATE DATABASE "{SCRATCH_DATABASE}"')


def _pgbench_tps(pgbench: str, env: dict[str, str], args: list[str]) -> float:
    threads = str(min(CLIENTS, os.cpu_count() or 1))
    argv = [pgbench, "-c", str(CLIENTS), "-j", threads, "-T", str(DURATION_S)] + args
    output = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^tps = ([\d.]+)", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no tps in pgbench output:\n{output}")
    return float(match.group(1))


class _Pgbench:
    """A scratch database beside ours: pgbench's tables and a one-row `hot` table."""

    def __enter__(self) -> _Pgbench:
        self.binary, self.env = _pgbench_binary(), _pgbench_env()
        _scratch_database(self.env, create=True)
        subprocess.run(
            [self.binary, "-i", "-q", "-s", "1"], env=self.env, check=True, capture_output=True
        )
        with psycopg.connect(
            host=self.env["PGHOST"],
            port=self.env["PGPORT"],
            user=self.env["PGUSER"],
            password=self.env.get("PGPASSWORD"),
            dbname=SCRATCH_DATABASE,
            autocommit=True,
        ) as scratch:
            scratch.execute("CREATE TABLE hot (id int PRIMARY KEY, balance bigint NOT NULL)")
            scratch.execute("INSERT INTO hot VALUES (1, %s)", [BIG_BALANCE])
        return self

    def __exit__(self, *exc_info: object) -> None:
        _scratch_database(self.env, create=False)

    def simple_update_tps(self) -> float:
        return _pgbench_tps(self.binary, self.env, ["-N"])

    def hot_update_tps(self) -> float:
        return self.script_tps(HOT_SCRIPT)

    def script_tps(
        self, text: str, *, database: str = SCRATCH_DATABASE, schema: str = "public"
    ) -> float:
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(text)
            script.flush()
            # Our statements name a merchant's tables unqualified, as the app runs them.
            options = f"-c search_path={schema},public"
            env = {**self.env, "PGDATABASE": database, "PGOPTIONS": options}
            return _pgbench_tps(self.binary, env, ["-n", "-M", "prepared", "-f", script.name])


def _debit_statement_script(codes: list[str]) -> str:
    """Our one-voucher debit as a pgbench script: a random code of `codes` per transaction."""
    array = "ARRAY[" + ", ".join(f"'{code}'" for code in codes) + "]"
    statement = (
        DEBIT_BY_CODE_SQL.replace("%(code)s", f"({array})[:pick]")
        .replace("%(livemode)s", "false")
        .replace("%(currency)s", "'EUR'")
        .replace("%(amount)s", "1")
        .replace("%(reference)s", "'ceiling'")
        .replace("%(order_id)s", "''")
        .replace("%(now)s", "now()")
    )
    return f"\\set pick random(1, {len(codes)})\n{' '.join(statement.split())};\n"


def run() -> dict:
    bench_merchant_drop(BENCH_SLUG)
    details = {"name": "Bench Vouchers", "country": "DE", "default_currency": "EUR"}
    schema = provision_merchant(slug=BENCH_SLUG, **details).merchant.schema_name
    try:
        with schema_context(schema):
            spread_codes = [
                voucher.code
                for voucher in voucher_issue_bulk(
                    count=SPREAD_VOUCHERS, currency="EUR", amount=BIG_BALANCE
                )
            ]
            hot_codes = [
                voucher.code
                for voucher in voucher_issue_bulk(count=1, currency="EUR", amount=BIG_BALANCE)
            ]
        # Each pair runs back to back, so both sides see the same machine load.
        with _Pgbench() as pgbench:
            pg_spread = pgbench.simple_update_tps()
            spread, spread_failed = _redemptions_per_second(schema, spread_codes)
            pg_hot = pgbench.hot_update_tps()
            hot, hot_failed = _redemptions_per_second(schema, hot_codes)
            ours = str(settings.DATABASES["default"]["NAME"])
            ceiling_spread = pgbench.script_tps(
                _debit_statement_script(spread_codes), database=ours, schema=schema
            )
            ceiling_hot = pgbench.script_tps(
                _debit_statement_script(hot_codes), database=ours, schema=schema
            )
        with schema_context(schema):
            started = time.perf_counter()
            voucher_issue_bulk(count=BULK_CODES, currency="EUR", amount=2500)
            bulk_s = time.perf_counter() - started
    finally:
        bench_merchant_drop(BENCH_SLUG)
    spread_ratio, hot_ratio = spread / pg_spread, hot / pg_hot
    codes_per_s = BULK_CODES / bulk_s
    setup = f"{CLIENTS} client processes, {DURATION_S} s each"
    return {
        "clients": CLIENTS,
        "duration_s": DURATION_S,
        "spread_redemptions_per_s": round(spread, 1),
        "pgbench_simple_update_tps": round(pg_spread, 1),
        "spread_over_pgbench": round(spread_ratio, 3),
        "hot_redemptions_per_s": round(hot, 1),
        "pgbench_hot_update_tps": round(pg_hot, 1),
        "hot_over_pgbench": round(hot_ratio, 3),
        "pgbench_our_statement_spread_tps": round(ceiling_spread, 1),
        "pgbench_our_statement_hot_tps": round(ceiling_hot, 1),
        "failed_redemptions": spread_failed + hot_failed,
        "bulk_issue_codes_per_s": round(codes_per_s, 1),
        "bulk_issue_s": round(bulk_s, 2),
        "lines": [
            f"spread ({SPREAD_VOUCHERS} vouchers)  {spread:9.1f} redemptions/s   "
            f"pgbench -N {pg_spread:9.1f} tps   ratio {spread_ratio:.2f}  ({setup})",
            f"hot (1 voucher)          {hot:9.1f} redemptions/s   "
            f"pgbench 1-row {pg_hot:6.1f} tps   ratio {hot_ratio:.2f}",
            f"ceiling: pgbench running our redemption statement: spread {ceiling_spread:.1f} tps "
            f"({ceiling_spread / pg_spread:.2f}), hot {ceiling_hot:.1f} tps "
            f"({ceiling_hot / pg_hot:.2f})",
            f"failed redemptions       {spread_failed + hot_failed}",
            f"bulk issue {BULK_CODES:,} codes  {bulk_s:6.2f} s  ({codes_per_s:,.0f} codes/s)",
        ],
    }
