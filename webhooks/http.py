"""Sending one webhook request to the address the SSRF guard checked, never following redirects."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import urllib3

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


@dataclass
class SendResult:
    status_code: int | None = None
    latency_ms: int = 0
    error: str = ""
    response_headers: dict = field(default_factory=dict)
    response_body: str = ""
    retry_after: str | None = None


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
        pool = urllib3.HTTPSConnectionPool(
            target.address, server_hostname=target.host, assert_hostname=target.host, **common
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, **common)
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
    try:
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            timeout=urllib3.Timeout(total=TIMEOUT_SECONDS),
            preload_content=False,
            assert_same_host=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        result.latency_ms = int((time.monotonic() - started) * 1000)
        reason = type(exc).__name__
        if isinstance(exc, urllib3.exceptions.TimeoutError | urllib3.exceptions.ReadTimeoutError):
            reason = f"timed out after {TIMEOUT_SECONDS:.0f} s"
        result.error = f"{reason}: {exc}"[:500]
        return result
    try:
        data = response.read(RESPONSE_KEEP_BYTES + 1, decode_content=True)
    except urllib3.exceptions.HTTPError as exc:
        data = b""
        result.error = f"reading the response failed: {exc}"[:500]
    result.latency_ms = int((time.monotonic() - started) * 1000)
    result.status_code = response.status
    result.response_headers = dict(response.headers.items())
    result.retry_after = response.headers.get("Retry-After")
    result.response_body = data[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")
    if len(data) > RESPONSE_KEEP_BYTES:
        response.close()  # do not read an unbounded body; the connection is dropped
    else:
        response.release_conn()
    return result
