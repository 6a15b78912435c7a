"""A real HTTP receiver on 127.0.0.1 and the webhooks dispatcher as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import ROOT


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


class Dispatcher:
    """`manage.py webhooks_dispatch`, the product's webhooks worker, on the test database, in its
    own process group (so a SIGKILL takes it all down, like a crashed container). It needs no
    Redis: `extra_env` may point REDIS_URL anywhere."""

    def __init__(self, *, database_url: str, threads: int = 4, extra_env: dict | None = None):
        self.database_url = database_url
        self.threads = threads
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> Dispatcher:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "WEBHOOKS_ALLOW_PRIVATE": "1",
            **self.extra_env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "webhooks_dispatch", "--threads", str(self.threads)],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the dispatcher and its threads: no clean-up, nothing recorded."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
