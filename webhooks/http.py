"""Sending one webhook request to the address the SSRF guard checked, never following redirects."""

from __future__ import annotations

import contextlib
import errno
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
from webhooks.ssrf import HostNotResolved, Target, target_resolve

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


class Failure:
    """What kind of failure an attempt met, for logs and counts (the `error` text says more)."""

    REFUSED = "refused"  # nothing listens on the port (the connection was refused)
    DNS = "dns"  # the host name does not resolve
    BLOCKED = "blocked"  # the SSRF guard refused the address, or the URL is invalid
    UNREACHABLE = "unreachable"  # no route to the host or network
    CONNECTION = "connection"  # another error while connecting
    TLS = "tls"  # the TLS handshake failed (certificate, name, protocol)
    TIMEOUT = "timeout"  # the 15 s deadline passed
    RESET = "reset"  # the receiver closed or reset the connection before answering
    RESPONSE = "response"  # the answer could not be read
    STATUS = "status"  # the receiver answered, with a status that is not 2xx


@dataclass
class SendResult:
    status_code: int | None = None
    latency_ms: int = 0
    error: str = ""
    failure: str = ""  # a Failure kind; "" when the receiver answered 2xx
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


def _cause(exc: BaseException) -> BaseException | None:
    return exc.__cause__ or exc.__context__


def failure_describe(exc: urllib3.exceptions.HTTPError, *, timeout: float) -> tuple[str, str]:
    """(kind, text) of a request that got no answer. urllib3 makes NewConnectionError (a refusal,
    an unreachable host) a subclass of ConnectTimeoutError: the class alone would call a refusal
    in 0 ms a timeout, so the underlying OS error decides."""
    cause = _cause(exc)
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return Failure.DNS, f"DNS lookup failed: {cause or exc}"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        if isinstance(cause, ConnectionRefusedError):
            return Failure.REFUSED, "connection refused: nothing accepts connections on that port"
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return Failure.UNREACHABLE, f"host unreachable: {cause.strerror}"
        return Failure.CONNECTION, f"connection failed: {cause or exc}"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return Failure.TIMEOUT, f"timed out after {timeout:.0f} s while connecting"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return Failure.TIMEOUT, f"timed out after {timeout:.0f} s waiting for the answer"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return Failure.TLS, f"TLS error: {cause or exc}"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        if isinstance(cause, ConnectionResetError):
            return Failure.RESET, "the receiver reset the connection before answering"
        return Failure.RESET, f"the receiver closed the connection before answering: {cause or exc}"
    return Failure.CONNECTION, f"{type(exc).__name__}: {exc}"


def post(*, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    """POST `body` to `url`; every failure (refused address, timeout, connection error) comes
    back as a SendResult with `error` set rather than an exception."""
    started = time.monotonic()
    result = SendResult()
    try:
        target = target_resolve(url)
    except HostNotResolved as exc:
        result.failure, result.error = Failure.DNS, f"DNS lookup failed: {exc.message}"[:500]
        return result
    except WebhookError as exc:
        result.failure, result.error = Failure.BLOCKED, exc.message[:500]
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
            if deadline.end():  # cut by the deadline, whatever error the cut caused
                result.failure, result.error = Failure.TIMEOUT, timed_out
            else:
                result.failure, result.error = failure_describe(exc, timeout=timeout)
            result.error = result.error[:500]
            return result
        try:
            data = response.read(RESPONSE_KEEP_BYTES + 1, decode_content=True)
        except urllib3.exceptions.HTTPError as exc:
            data = b""
            result.failure = Failure.RESPONSE
            result.error = f"reading the response failed: {exc}"[:500]
        expired = deadline.end()
    result.latency_ms = int((time.monotonic() - started) * 1000)
    if expired:
        # Cut mid-answer (a cut status line or header block may even parse): no status, and the
        # connection is not reusable.
        response.close()
        result.failure = Failure.TIMEOUT
        result.error = f"{timed_out}: {result.error or 'the response was still arriving'}"[:500]
        return result
    result.status_code = response.status
    if not 200 <= response.status < 300:
        result.failure = Failure.STATUS  # the status itself is recorded beside
    result.response_headers = dict(response.headers.items())
    result.retry_after = response.headers.get("Retry-After")
    result.response_body = data[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")
    if len(data) > RESPONSE_KEEP_BYTES:
        response.close()  # do not read an unbounded body; the connection is dropped
    else:
        response.release_conn()
    return result
