"""The dev launcher behind `make run`, `make test` and `make bench`.

    python -m superpayment.launcher run                      # the whole product, foreground
    python -m superpayment.launcher with-services test -- CMD  # CMD with test servers up

Embedded PostgreSQL and Redis are started only for what DATABASE_URL / REDIS_URL do not name.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from superpayment.embedded import (
    MAX_CONNECTIONS,
    UNSUPPORTED_HELP,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedUnavailable,
)
from superpayment.supervisor import EmbeddedServer, Program, Supervisor

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("SUPERPAYMENT_VAR_DIR", ROOT / ".var"))
PYTHON = sys.executable

# Throwaway servers for tests: durability off (the data is rebuilt every run), room for the
# concurrency tests' connections.
TEST_PG_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_locks_per_transaction": "128",  # a few merchants: no lock table sized for 100,000
    "max_connections": "300",
}
# Benchmarks keep PostgreSQL's durable defaults so figures mean what they would in production.
BENCH_PG_SETTINGS = {"max_connections": str(MAX_CONNECTIONS)}
RUN_PG_SETTINGS = {"max_connections": str(MAX_CONNECTIONS)}


def say(message: str) -> None:
    print(f"[superpayment] {message}", flush=True)


@contextmanager
def single_instance(lock_path: Path) -> Iterator[None]:
    """Refuse a second `make run` from the same folder instead of sharing its data."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        say(f"SuperPayment is already running from {ROOT} (launcher pid {owner}).")
        say("Use that one, or stop it with Ctrl-C in its terminal before starting another.")
        raise SystemExit(1) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()


def healthy(url: str) -> bool:
    with suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
        return response.status == 200
    return False


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def command_run() -> int:
    port = int(os.environ.get("PORT", "8000"))
    with single_instance(VAR / "run.lock"):
        if not port_is_free(port):
            say(f"Port {port} is taken by another program. Free it, or: PORT=8001 make run")
            return 1
        return run_product(VAR, port)


class StopRequest:
    """Set by SIGINT (Ctrl-C) or SIGTERM: the launcher then stops every child and returns."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, _signum: int, _frame: object) -> None:
        self.requested = True


def run_product(folder: Path, port: int, prepare: bool = True) -> int:
    """Start the servers, prepare the database (`prepare`), start the product and supervise it
    all until Ctrl-C; every child that dies is restarted (superpayment.supervisor)."""
    stop = StopRequest()
    supervisor = Supervisor(say=say, status_file=folder / "run.children.json")
    run_env = folder / "run.env"  # lets `make manage` reach the running servers
    try:
        service_env = start_services(supervisor, folder, RUN_PG_SETTINGS)
        env = {**os.environ, **service_env}
        run_env.write_text("".join(f"{k}={v}\n" for k, v in service_env.items()))
        env.setdefault("DJANGO_ENV", "development")
        env.setdefault("WEBHOOKS_ALLOW_PRIVATE", "1")
        env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        # Routine lines (every request, every task, every beat tick) only when asked for.
        env.setdefault("LOG_LEVEL", "WARNING")
        demo_lines: list[str] = []
        if prepare and not stop.requested:
            say("migrating the database and preparing the demo merchant")
            setup_argv = [PYTHON, "manage.py", "setup_platform", "--demo"]
            setup = subprocess.run(
                setup_argv, env=env, cwd=ROOT, check=False, stdout=subprocess.PIPE, text=True
            )
            if setup.returncode != 0:
                print(setup.stdout, end="", flush=True)
                say(f"preparing the database failed (exit code {setup.returncode})")
                return 1
            demo_lines = demo_lines_of(setup.stdout)
        for program in product_programs(env, port, folder):
            if not stop.requested:
                supervisor.add(program)
        return watch(supervisor, port, stop, demo_lines)
    finally:
        say("stopping everything")
        supervisor.stop_all()
        run_env.unlink(missing_ok=True)
        say(f"stopped; data is kept in {folder} for the next run")


def start_services(
    supervisor: Supervisor, folder: Path, pg_settings: dict[str, str], persistent: bool = True
) -> dict:
    """Embedded PostgreSQL and Redis for what DATABASE_URL / REDIS_URL do not name, handed to
    `supervisor` (whose `tick` restarts them on the same port and data folder); returns the
    environment pointing at them. `persistent=False`: Redis keeps nothing on disk."""
    env: dict[str, str] = {}
    try:
        if not os.environ.get("DATABASE_URL"):
            postgres = EmbeddedPostgres(folder / "postgres", settings=pg_settings)
            supervisor.add(EmbeddedServer("postgres", postgres), first_start_may_fail=False)
            env["DATABASE_URL"] = postgres.url
            env["PGBIN"] = str(postgres.bindir)
        if not os.environ.get("REDIS_URL"):
            redis = EmbeddedRedis(folder / "redis", persistent=persistent)
            supervisor.add(EmbeddedServer("redis", redis), first_start_may_fail=False)
            env["REDIS_URL"] = redis.url
    except EmbeddedUnavailable as exc:
        say(f"The embedded database servers cannot start on this machine: {exc}")
        say(UNSUPPORTED_HELP)
        raise SystemExit(2) from exc
    return env


@contextmanager
def services(folder: Path, pg_settings: dict[str, str], persistent: bool) -> Iterator[dict]:
    """The servers of `start_services` for the length of one command (`make test`, `make bench`):
    stopped when it ends and never restarted, so a run that loses its database fails."""
    supervisor = Supervisor(say=lambda _line: None)  # the command's output stays its own
    try:
        yield start_services(supervisor, folder, pg_settings, persistent=persistent)
    finally:
        supervisor.stop_all()


def demo_lines_of(setup_output: str) -> list[str]:
    """What setup_platform --demo said about the demo merchant (owner, shop, voucher codes),
    shown again under the URLs once everything is up, where it stays on screen."""
    lines = setup_output.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("Demo merchant")]
    return lines[starts[0] :] if starts else []


def product_programs(env: dict[str, str], port: int, folder: Path) -> list[Program]:
    """The product's processes, in start order. Each entry is supervised the same way."""
    bin_dir = Path(PYTHON).parent

    def program(name: str, argv: list[str]) -> Program:
        return Program(name=name, argv=argv, env=env, cwd=ROOT)

    # Celery's start-up banner and per-task lines only at LOG_LEVEL INFO or DEBUG.
    level = env.get("LOG_LEVEL", "INFO").lower()
    celery = [str(bin_dir / "celery"), "-A", "superpayment"]
    if level not in ("info", "debug"):
        celery.append("--quiet")

    return [
        program(
            "web",
            [str(bin_dir / "gunicorn"), "superpayment.wsgi:application"]
            + ["-c", "superpayment/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
        ),
        program(
            "worker",
            celery + ["worker", "-l", level, "--concurrency", env.get("CELERY_CONCURRENCY", "2")],
        ),
        # Webhook deliveries, from the PostgreSQL outbox (LISTEN/NOTIFY): no Redis involved.
        program("webhooks", [PYTHON, "manage.py", "webhooks_dispatch"]),
        program(
            "beat",
            celery + ["beat", "-l", level, "--schedule", str(folder / "celerybeat-schedule")],
        ),
    ]


def watch(
    supervisor: Supervisor, port: int, stop: StopRequest, demo_lines: list[str] | None = None
) -> int:
    base = f"http://127.0.0.1:{port}"
    announced, next_check = False, 0.0
    while not stop.requested:
        supervisor.tick()
        if not announced and time.monotonic() >= next_check:
            announced, next_check = healthy(f"{base}/healthz"), time.monotonic() + 1
            if announced:
                announce(base, demo_lines or [])
        time.sleep(0.2)
    return 0


def announce(base: str, demo_lines: list[str]) -> None:
    say("SuperPayment is running. A process that dies is restarted; Ctrl-C stops everything.")
    say(f"  home page      {base}/")
    say(f"  health         {base}/healthz   readiness {base}/readyz")
    say(f"  portal         {base}/dashboard/")
    say("                 demo owner: owner@demo-shop.localhost / superpayment-demo")
    say(f"  admin console  {base}/admin/")
    say("                 staff account: make manage ARGS=createsuperuser, then turn on 2FA")
    say(f"  API docs       {base}/v1/docs")
    say(f"  demo shop      {base}/demo/shop/   (voucher codes below)")
    say(f"  emails         printed here and kept in {VAR / 'mail'}")
    say(f"  data and logs  {VAR}")
    say("  more output    LOG_LEVEL=INFO make run (every request, task and beat tick)")
    for line in demo_lines:
        say(f"  {line}")


@contextmanager
def free_slot(profile: str) -> Iterator[Path]:
    """A data folder no other run of this profile is using, so test runs can overlap."""
    for slot in range(32):
        folder = VAR / profile / str(slot)
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "in-use.lock", "w")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield folder
        finally:
            handle.close()
        return
    raise SystemExit(f"32 {profile} runs are already going on from {ROOT}")


def command_with_services(profile: str, argv: list[str]) -> int:
    pg_settings = TEST_PG_SETTINGS if profile == "test" else BENCH_PG_SETTINGS
    with (
        free_slot(profile) as folder,
        services(folder, pg_settings, persistent=False) as service_env,
    ):
        env = {**os.environ, **service_env, "SUPERPAYMENT_VAR_DIR": str(VAR)}
        env.setdefault("DJANGO_ENV", "test" if profile == "test" else "development")
        process = subprocess.Popen(argv, env=env, cwd=ROOT)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m superpayment.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the product in the foreground (make run)")
    with_services = sub.add_parser("with-services", help="run a command with servers up")
    with_services.add_argument("profile", choices=["test", "bench"])
    with_services.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command == "run":
        return command_run()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    return command_with_services(args.profile, argv)


if __name__ == "__main__":
    sys.exit(main())
