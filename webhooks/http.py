"""Sending one webhook request to the address the SSRF guard checked, never following redirects."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import urllib3
import urllib3.connection

from webhooks.errors import WebhookError
from webhooks.ssrf import Target, target_resolve

TIMEOUT_SECONDS = 15.0
RESPONSE_KEEP_BYTES = 2048
USER_AGENT = "SuperPayment-Webhooks/1"
POOL_CONNECTIONS = 8

# Connection pools per checked address, reused by this process (keep-alive to busy receivers);
# shared by the webhooks worker's threads.
_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()
# The deadline of the attempt this thread is making (its connection reports its socket there).
_attempt = threading.local()


@dataclass
class SendResult:
    status_code: int | None = None
    latency_ms: int = 0
    error: str = ""
    response_headers: dict = field(default_factory=dict)
    response_body: str = ""
    retry_after: str | None = None


class _Deadline:
    """The hard deadline of one attempt. urllib3's timeout bounds each socket operation, not the
    attempt: a receiver trickling a byte every few seconds would hold a worker thread for good
    (Celery's time limits do not apply to the threads pool). When the deadline passes, the
    attempt's socket is shut down, which fails the call blocked on it in the sending thread."""

    def __init__(self, seconds: float) -> None:
        self.lock = threading.Lock()
        self.expired = False
        self.ended = False
        self.sock: socket.socket | None = None
        self.at = time.monotonic() + seconds

    def __enter__(self) -> _Deadline:
        _attempt.deadline = self
        _watchdog.arm(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the TCP socket: it reaches it under TLS too (even during the
        # handshake), and outlives http.client closing the connection object when a response
        # says it will close.
        dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self.lock:
            if self.sock is not None:
                self.sock.close()
            self.sock = dup
            self._cut()

    def expire(self) -> None:
        with self.lock:
            if not self.ended:
                self.expired = True
                self._cut()

    def _cut(self) -> None:
        if self.expired and self.sock is not None:
            with contextlib.suppress(OSError):  # already gone
                self.sock.shutdown(socket.SHUT_RDWR)

    def end(self) -> bool:
        """Stop watching, before the connection can go back to the pool; True if it expired."""
        _attempt.deadline = None
        with self.lock:
            self.ended = True
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            return self.expired


class _Watchdog:
    """One thread per process expires the attempts whose deadline passed: cheaper than a timer
    thread per attempt. Ended attempts stay in the heap until their time comes (lazy removal)."""

    def __init__(self) -> None:
        self.due: list[tuple[float, int, _Deadline]] = []
        self.wake = threading.Condition()
        self.count = itertools.count()
        self.thread: threading.Thread | None = None

    def arm(self, deadline: _Deadline) -> None:
        with self.wake:
            heapq.heappush(self.due, (deadline.at, next(self.count), deadline))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="webhook-deadlines")
                self.thread.daemon = True
                self.thread.start()
            if self.due[0][2] is deadline:
                self.wake.notify()

    def _run(self) -> None:
        while True:
            with self.wake:
                while not self.due or self.due[0][0] > time.monotonic():
                    self.wake.wait(self.due[0][0] - time.monotonic() if self.due else None)
                _, _, deadline = heapq.heappop(self.due)
            deadline.expire()


_watchdog = _Watchdog()


def _watchdog_reset() -> None:
    # A forked child has no watchdog thread, and its copy of the lock may be held by one.
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_watchdog_reset)


def _watch(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_attempt, "deadline", None)
    if deadline is not None and sock is not None and sock.fileno() >= 0:
        deadline.watch(sock)


class _Watched:
    """Reports the connection's socket to the current attempt's deadline: a new socket as soon as
    it is connected (before any TLS handshake), a kept-alive one when a request starts on it."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    pool = _pools.get(key)
    if pool is not None:
        return pool
    with _pools_lock:
        return _pools.get(key) or _pool_create(key, target)


def _pool_create(key: tuple, target: Target) -> urllib3.HTTPConnectionPool:
    # Up to POOL_CONNECTIONS kept alive per receiver (a worker's threads may all send to one).
    common = {"port": target.port, "maxsize": POOL_CONNECTIONS, "retries": False, "block": False}
    if target.scheme == "https":
        # Connect to the checked address; SNI and the certificate check use the name.
        pool = _HTTPSConnectionPool(
            target.address, server_hostname=target.host, assert_hostname=target.host, **common
        )
    else:
        pool = _HTTPConnectionPool(target.address, **common)
    _pools[key] = pool
    return pool


def _host_header(target: Target) -> str:
    host = target.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(*, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    """POST `body` to `url`; every failure (refused address, timeout, connection error) comes
    back as a SendResult with `error` set rather than an exception."""
    started = time.monotonic()
    result = SendResult()
    try:
        target = target_resolve(url)
    except WebhookError as exc:
        result.error = exc.message[:500]
        return result
    request_headers = {
        **headers,
        "Host": _host_header(target),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    timeout = TIMEOUT_SECONDS
    timed_out = f"timed out after {timeout:.0f} s"
    with _Deadline(timeout) as deadline:
        try:
            response = _pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(total=timeout),
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            result.latency_ms = int((time.monotonic() - started) * 1000)
            reason = type(exc).__name__
            if deadline.end() or isinstance(
                exc, urllib3.exceptions.TimeoutError | urllib3.exceptions.ReadTimeoutError
            ):
                reason = timed_out
            result.error = f"{reason}: {exc}"[:500]
            return result
        try:
            data = response.read(RESPONSE_KEEP_BYTES + 1, decode_content=True)
        except urllib3.exceptions.HTTPError as exc:
            data = b""
            result.error = f"reading the response failed: {exc}"[:500]
        expired = deadline.end()
    result.latency_ms = int((time.monotonic() - started) * 1000)
    if expired:
        # Cut mid-answer (a cut status line or header block may even parse): no status, and the
        # connection is not reusable.
        response.close()
        result.error = f"{timed_out}: {result.error or 'the response was still arriving'}"[:500]
        return result
    result.status_code = response.status
    result.response_headers = dict(response.headers.items())
    result.retry_after = response.headers.get("Retry-After")
    result.response_body = data[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")
    if len(data) > RESPONSE_KEEP_BYTES:
        response.close()  # do not read an unbounded body; the connection is dropped
    else:
        response.release_conn()
    return result
