"""A real HTTP receiver on 127.0.0.1 and Celery workers on a queue of the test's own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from superpayment.celery import app as celery_app
from tests.processes import BIN, ROOT


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hold: threading.Event | None = None  # answer only once this is set


class Receiver:
    """Records every request; answers with the queued replies, then with `default`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.replies: list[Reply] = []
        self.default = Reply()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                    receiver.arrived.notify_all()
                if reply.hold is not None:
                    reply.hold.wait(60)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender is gone (a killed worker)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)


def wait_until(predicate: Callable[[], object], timeout: float = 60, step: float = 0.1):
    """Poll until `predicate()` is truthy (a wait, not a timed assertion: the test then asserts
    exact values)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


class QueueWorker:
    """A Celery worker consuming only `queue` with the threads pool, as the product's webhooks
    worker does, in its own process group (so a SIGKILL takes it all down, like a crashed
    container)."""

    def __init__(self, *, database_url: str, queue: str, concurrency: int = 4) -> None:
        self.database_url = database_url
        self.queue = queue
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.hostname = f"webhooks-{uuid.uuid4().hex[:8]}@localhost"

    def start(self, timeout: float = 60) -> QueueWorker:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "WEBHOOKS_TASK_QUEUE": self.queue,
            "WEBHOOKS_ALLOW_PRIVATE": "1",
        }
        self.process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "superpayment", "worker", "-l", "warning"]
            + ["--pool", "threads", "--concurrency", str(self.concurrency)]
            + ["--hostname", self.hostname]
            + ["-Q", self.queue, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}")
            if celery_app.control.ping(destination=[self.hostname], timeout=0.5):
                return self
        raise RuntimeError("celery worker did not answer a ping in time")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no clean-up, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def queue_purge(queue: str) -> int:
    """Drop every message waiting in `queue` (a Redis that lost its data)."""
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.queue_purge(queue) or 0
