"""Liveness of the Celery processes: their loops touch HEARTBEAT_FILE, the probe reads its age.

Real worker and beat processes, on a Redis database of their own (db 14) so they neither take
the suite's tasks nor send it any.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import BIN, ROOT

PROBE = [sys.executable, "superpayment/heartbeat.py"]
PROCESSES = {
    "worker": ["worker", "--concurrency", "1"],
    "beat": ["beat"],
}


def _probe(heartbeat: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEARTBEAT_FILE": str(heartbeat)}
    return subprocess.run(
        PROBE + list(args), env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )


def _separate_broker() -> str:
    base = os.environ["REDIS_URL"].rsplit("/", 1)[0]
    return f"{base}/14"


def _poll(condition, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180  # bounds a hang; never reached when the behaviour is right
    while not condition():
        assert process.poll() is None, f"exited with {process.returncode}"
        assert time.monotonic() < deadline, "the heartbeat never came"
        time.sleep(0.1)


def test_the_probe_passes_a_fresh_heartbeat_and_fails_a_stale_or_missing_one(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    missing = _probe(heartbeat)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    heartbeat.touch()
    assert _probe(heartbeat).returncode == 0
    old = time.time() - 100
    os.utime(heartbeat, (old, old))
    stale = _probe(heartbeat)
    assert stale.returncode == 1 and "s old (at most 60s)" in stale.stderr
    assert _probe(heartbeat, "--max-age", "120").returncode == 0
    unset = subprocess.run(
        PROBE,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "HEARTBEAT_FILE"},
    )
    assert unset.returncode == 1 and "HEARTBEAT_FILE is not set" in unset.stderr


@pytest.mark.parametrize("kind", PROCESSES)
def test_a_running_celery_process_keeps_its_heartbeat_fresh(kind, tmp_path):
    heartbeat = tmp_path / "heartbeat"
    env = {
        **os.environ,
        "HEARTBEAT_FILE": str(heartbeat),
        "CELERY_BROKER_URL": _separate_broker(),
        "CELERY_RESULT_BACKEND": _separate_broker(),
    }
    argv = [str(BIN / "celery"), "-A", "superpayment", *PROCESSES[kind], "-l", "warning"]
    if kind == "beat":
        argv += ["--schedule", str(tmp_path / "schedule")]
    else:
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    process = subprocess.Popen(argv, env=env, cwd=ROOT)
    try:
        _poll(heartbeat.exists, process)
        assert _probe(heartbeat).returncode == 0
        # Made stale, it is fresh again once the loop beats: it is touched over and over,
        # not only at start.
        os.utime(heartbeat, (0, 0))
        assert _probe(heartbeat).returncode == 1
        _poll(lambda: _probe(heartbeat).returncode == 0, process)
    finally:
        process.terminate()
        process.wait(30)
    if kind != "beat":
        assert not heartbeat.exists(), "a stopped worker removes its heartbeat"


def test_the_webhooks_dispatcher_keeps_its_heartbeat_fresh(test_database_url, tmp_path):
    """The webhooks worker is `manage.py webhooks_dispatch`, not Celery: its own loop beats."""
    heartbeat = tmp_path / "heartbeat"
    env = {**os.environ, "DATABASE_URL": test_database_url, "HEARTBEAT_FILE": str(heartbeat)}
    process = subprocess.Popen(
        [str(BIN / "python"), "manage.py", "webhooks_dispatch", "--threads", "1"],
        env=env,
        cwd=ROOT,
    )
    try:
        _poll(heartbeat.exists, process)
        assert _probe(heartbeat).returncode == 0
        os.utime(heartbeat, (0, 0))
        assert _probe(heartbeat).returncode == 1
        _poll(lambda: _probe(heartbeat).returncode == 0, process)
    finally:
        process.terminate()
        assert process.wait(30) == 0
    assert not heartbeat.exists(), "a stopped dispatcher removes its heartbeat"
