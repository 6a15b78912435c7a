from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from superpayment.embedded import free_port
from superpayment.supervisor import Backoff, Program, Supervisor
from tests.processes import ROOT

# Bounds a hang in a wait loop; never reached when the behaviour is right.
WAIT_LIMIT_SECONDS = 180

HOLD_LOCK = (
    "import sys, time; from pathlib import Path; "
    "from superpayment.launcher import single_instance; "
    "ctx = single_instance(Path(sys.argv[1]) / 'run.lock'); ctx.__enter__(); "
    "print('locked', flush=True); time.sleep(60)"
)


def test_a_second_make_run_says_one_is_running_and_touches_nothing(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "superpayment.launcher", "run"],
            cwd=ROOT,
            env={**os.environ, "SUPERPAYMENT_VAR_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1
    assert "already running" in second.stdout
    assert f"pid {holder.pid}" in second.stdout
    assert time.monotonic() - started < 30
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.lock"]


# --- supervision: the product's real processes under `run_product`, as `make run` starts them ---

RUN_PRODUCT = (
    "import sys; from pathlib import Path; from superpayment.launcher import run_product; "
    "sys.exit(run_product(Path(sys.argv[1]), int(sys.argv[2]), prepare=False))"
)
CHILDREN = ["postgres", "redis", "web", "worker", "webhooks", "beat"]


def _children(folder: Path) -> dict[str, int | None]:
    try:
        return json.loads((folder / "run.children.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only a reaped or running process answers like this.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until(condition, launcher: subprocess.Popen, what: str, log: Path | None = None) -> None:
    """Poll until `condition()`; fail if the launcher stopped, or after a generous limit so a
    regression fails instead of hanging the suite (a correctness bound, not a timing one). A
    failure shows the end of the launcher's output."""

    def output() -> str:
        return log.read_text(errors="replace")[-4000:] if log and log.exists() else ""

    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not condition():
        exited = launcher.poll()
        assert exited is None, f"the launcher exited with {exited} {what}\n{output()}"
        assert time.monotonic() < deadline, f"not {what} after {WAIT_LIMIT_SECONDS} s\n{output()}"
        time.sleep(0.2)


class Product:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        env = {
            **os.environ,
            "SUPERPAYMENT_VAR_DIR": str(folder),
            "WEB_CONCURRENCY": "1",
            "CELERY_CONCURRENCY": "1",
            "WEBHOOKS_DISPATCH_THREADS": "2",
        }
        # Its own embedded servers in `folder`, as `make run` has in .var/.
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        self.log = folder / "launcher.log"
        with open(self.log, "wb") as log:
            self.launcher = subprocess.Popen(
                [sys.executable, "-c", RUN_PRODUCT, str(folder), str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_until(self.all_running, self.launcher, "while starting", self.log)
        _wait_until(self.web_answers, self.launcher, "while web started", self.log)

    def children(self) -> dict[str, int | None]:
        return _children(self.folder)

    def all_running(self) -> bool:
        pids = self.children()
        return sorted(pids) == sorted(CHILDREN) and all(
            pid is not None and _alive(pid) for pid in pids.values()
        )

    def web_answers(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    running = Product(tmp_path_factory.mktemp("make-run"))
    yield running
    if running.launcher.poll() is None:
        running.launcher.send_signal(signal.SIGINT)
        running.launcher.wait(120)


@pytest.mark.parametrize("name", CHILDREN)
def test_a_killed_child_is_restarted_and_the_others_keep_running(product, name):
    before = product.children()
    os.kill(before[name], signal.SIGKILL)

    def restarted() -> bool:
        pid = product.children().get(name)
        return pid not in (None, before[name]) and product.all_running()

    _wait_until(restarted, product.launcher, f"after {name} was killed", product.log)
    after = product.children()
    assert {n: p for n, p in after.items() if n != name} == {
        n: p for n, p in before.items() if n != name
    }
    assert f"{name} (pid {before[name]}) killed by SIGKILL" in product.output()
    assert f"{name} restarted (pid {after[name]})" in product.output()
    _wait_until(product.web_answers, product.launcher, f"after {name} came back", product.log)


def test_ctrl_c_stops_every_process_and_leaves_none(product):
    pids = product.children()
    product.launcher.send_signal(signal.SIGINT)
    assert product.launcher.wait(120) == 0
    # Each child leads its own process group: nothing it forked (gunicorn's and Celery's
    # workers, PostgreSQL's backends) is left either.
    assert [name for name, pid in pids.items() if _group_alive(pid)] == []
    assert "stopped; data is kept" in product.output()


def test_a_child_that_keeps_crashing_is_reported_and_retried_with_growing_delays():
    said: list[str] = []
    supervisor = Supervisor(say=said.append, backoff=Backoff(first=0.01, cap=0.04, crash_loop=4))
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    supervisor.add(Program(name="steady", argv=sleeper, env=os.environ, cwd=ROOT))
    crasher = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor.add(Program(name="crashing", argv=crasher, env=os.environ, cwd=ROOT))
    steady_pid = supervisor.pids()["steady"]
    try:
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while not any("KEEPS CRASHING" in line for line in said):
            assert time.monotonic() < deadline, "the crash loop was never reported"
            supervisor.tick()
            time.sleep(0.01)
        assert supervisor.pids()["steady"] == steady_pid
    finally:
        supervisor.stop_all()
    delays = [line.rsplit(" ", 1)[1] for line in said if line.startswith("restarting crashing")]
    assert delays == ["0.01s", "0.02s", "0.04s", "0.04s"]
    assert sum("crashing (pid" in line and "exited with code 3" in line for line in said) == 4
    report = next(line for line in said if "KEEPS CRASHING" in line)
    assert report.startswith("crashing KEEPS CRASHING: 4 times in a row")
    assert not _alive(steady_pid)
    assert [Backoff(first=1, cap=30).delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_make_run_keeps_the_terminal_readable(tmp_path):
    from superpayment.launcher import demo_lines_of, product_programs

    quiet = {
        program.name: program.argv
        for program in product_programs({"LOG_LEVEL": "WARNING"}, 8000, tmp_path)
    }
    assert (
        "--quiet" in quiet["worker"]
        and quiet["worker"][quiet["worker"].index("-l") + 1] == "warning"
    )
    assert "--quiet" in quiet["beat"]
    chatty = {
        program.name: program.argv
        for program in product_programs({"LOG_LEVEL": "INFO"}, 8000, tmp_path)
    }
    assert "--quiet" not in chatty["worker"] and "info" in chatty["beat"]
    output = (
        "Applying migrations...\n"
        "Demo merchant 'demo-shop': created; owner x / y\n"
        "  ABCD-EFGH  (€10.00 left)\n"
    )
    assert demo_lines_of(output) == [
        "Demo merchant 'demo-shop': created; owner x / y",
        "  ABCD-EFGH  (€10.00 left)",
    ]


def test_a_command_gets_its_own_servers_and_leaves_none_running(tmp_path, monkeypatch):
    """`make test` / `make bench`: embedded servers for what DATABASE_URL / REDIS_URL do not
    name, started through the same path as `make run`'s and all stopped when the command ends."""
    import psycopg
    import redis

    from superpayment.launcher import TEST_PG_SETTINGS, services

    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("REDIS_URL")
    with services(tmp_path, TEST_PG_SETTINGS, persistent=False) as env:
        assert sorted(env) == ["DATABASE_URL", "PGBIN", "REDIS_URL"]
        with psycopg.connect(env["DATABASE_URL"]) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        postmaster = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
        client = redis.Redis.from_url(env["REDIS_URL"])
        redis_pid = client.info("server")["process_id"]
        client.close()
    assert not _alive(redis_pid)
    assert not _alive(postmaster)
    assert not (tmp_path / "redis" / "appendonlydir").exists()  # persistent=False

    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/superpayment")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")
    with services(tmp_path / "named", TEST_PG_SETTINGS, persistent=False) as env:
        assert env == {}  # the named servers are used; nothing is started
    assert not (tmp_path / "named").exists()
