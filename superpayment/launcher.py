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
    UNSUPPORTED_HELP,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedUnavailable,
    die_with_parent,
)

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
BENCH_PG_SETTINGS = {"max_connections": "300"}
RUN_PG_SETTINGS = {"max_connections": "200"}


def say(message: str) -> None:
    print(f"[superpayment] {message}", flush=True)


@contextmanager
def services(folder: Path, pg_settings: dict[str, str], persistent: bool) -> Iterator[dict]:
    """Yield the environment that points at PostgreSQL and Redis, starting embedded ones."""
    env: dict[str, str] = {}
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if not os.environ.get("DATABASE_URL"):
            postgres = EmbeddedPostgres(folder / "postgres", settings=pg_settings)
            postgres.start()
            started.append(postgres)
            env["DATABASE_URL"] = postgres.url
            env["PGBIN"] = str(postgres.bindir)
        if not os.environ.get("REDIS_URL"):
            redis = EmbeddedRedis(folder / "redis", persistent=persistent)
            redis.start()
            started.append(redis)
            env["REDIS_URL"] = redis.url
        yield env
    except EmbeddedUnavailable as exc:
        say(f"The embedded database servers cannot start on this machine: {exc}")
        say(UNSUPPORTED_HELP)
        raise SystemExit(2) from exc
    finally:
        for server in reversed(started):
            server.stop()


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


def spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    say(f"starting {name}: {' '.join(argv)}")
    return subprocess.Popen(argv, env=env, cwd=ROOT, preexec_fn=die_with_parent)


def stop_all(processes: dict[str, subprocess.Popen], grace: float = 20.0) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, process in processes.items():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in {grace:.0f}s; killing it")
            process.kill()
            process.wait()


def wait_healthy(url: str, timeout: float, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")


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
        with services(VAR, RUN_PG_SETTINGS, persistent=True) as service_env:
            env = {**os.environ, **service_env}
            run_env = VAR / "run.env"  # lets `make manage` reach the running servers
            run_env.write_text("".join(f"{k}={v}\n" for k, v in service_env.items()))
            env.setdefault("DJANGO_ENV", "development")
            env.setdefault("WEBHOOKS_ALLOW_PRIVATE", "1")
            env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
            say("migrating the database and preparing the demo merchant")
            subprocess.run(
                [PYTHON, "manage.py", "setup_platform", "--demo"], env=env, cwd=ROOT, check=True
            )
            processes = start_product(env, port)
            try:
                return supervise(processes, port)
            finally:
                run_env.unlink(missing_ok=True)


def start_product(env: dict[str, str], port: int) -> dict[str, subprocess.Popen]:
    bin_dir = Path(PYTHON).parent
    return {
        "web": spawn(
            "web",
            [str(bin_dir / "gunicorn"), "superpayment.wsgi:application"]
            + ["-c", "superpayment/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
            env,
        ),
        "worker": spawn(
            "worker",
            [str(bin_dir / "celery"), "-A", "superpayment", "worker", "-l", "info"]
            + ["--concurrency", env.get("CELERY_CONCURRENCY", "2")],
            env,
        ),
        # Webhook deliveries, from the PostgreSQL outbox (LISTEN/NOTIFY): no Redis involved.
        "webhooks": spawn("webhooks", [PYTHON, "manage.py", "webhooks_dispatch"], env),
        "beat": spawn(
            "beat",
            [str(bin_dir / "celery"), "-A", "superpayment", "beat", "-l", "info"]
            + ["--schedule", str(VAR / "celerybeat-schedule")],
            env,
        ),
    }


def supervise(processes: dict[str, subprocess.Popen], port: int) -> int:
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz", 60, processes)
    except RuntimeError as exc:
        say(str(exc))
        stop_all(processes)
        return 1
    say("SuperPayment is running. Ctrl-C stops everything.")
    say(f"  home page      {base}/")
    say(f"  health         {base}/healthz   readiness {base}/readyz")
    say(f"  portal         {base}/dashboard/")
    say("                 demo owner: owner@demo-shop.localhost / superpayment-demo")
    say(f"  admin console  {base}/admin/")
    say("                 staff account: make manage ARGS=createsuperuser, then turn on 2FA")
    say(f"  API docs       {base}/v1/docs")
    say(f"  demo shop      {base}/demo/shop/   (demo voucher codes printed above)")
    say(f"  emails         printed here and kept in {VAR / 'mail'}")
    say(f"  data and logs  {VAR}")
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                say(f"{name} exited with code {process.returncode}; stopping the rest")
                stopping, exit_code = True, 1
        time.sleep(0.5)
    say("stopping web, worker and beat")
    stop_all(processes)
    say("stopped; data is kept in .var/ for the next run")
    return exit_code


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
