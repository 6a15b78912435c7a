"""Real processes the tests start: Celery workers and web servers on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from superpayment.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class CeleryWorker:
    def __init__(self, database_url: str, concurrency: int = 2, extra_env: dict | None = None):
        self.database_url = database_url
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, **self.extra_env}
        self.process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "superpayment", "worker", "-l", "warning"]
            + ["--concurrency", str(self.concurrency), "--hostname", self.hostname]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}")
            replies = celery_app.control.ping(destination=[self.hostname], timeout=0.5)
            if replies:
                return
        raise RuntimeError("celery worker did not answer a ping in time")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
