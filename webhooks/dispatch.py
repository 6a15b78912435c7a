"""The webhooks dispatcher: due deliveries from the PostgreSQL outbox to a pool of threads.

A change that records an event writes its deliveries and their due rows in its own transaction
and issues `NOTIFY webhooks_due` there, which PostgreSQL delivers only when that transaction
commits. The dispatcher LISTENs on that channel: a notification wakes it, it claims due rows with
`FOR UPDATE SKIP LOCKED` (so several dispatchers never claim the same row) and hands each to a
thread, which makes the attempt with the delivery code (lease, signed POST, retry schedule).

The table, not the notification, is the source of truth: a notification only says "look now".
The dispatcher also looks every POLL_SECONDS and when the earliest scheduled retry falls due, so
a notification missed while it was down or reconnecting delays nothing for long, and a restarted
dispatcher finds everything still due. Nothing here needs Redis.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import structlog
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from superpayment import heartbeat

log = structlog.get_logger(__name__)

CHANNEL = "webhooks_due"
# The safety net: claim what is due at least this often, whatever was (not) notified.
POLL_SECONDS = 5.0
# After losing the database, wait this long before reconnecting (doubling, up to the maximum).
RECONNECT_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0
# Waits are cut into slices this long so that a stop request is seen promptly.
WAIT_SLICE_SECONDS = 1.0


def dispatcher_wake() -> None:
    """Wake the dispatchers when the current transaction commits (nothing if it rolls back;
    several calls in one transaction make one notification)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


# Merchant schemas this process has checked (once per process, as Celery's tenant tasks do).
_checked_schemas: set[str] = set()
_checked_lock = threading.Lock()


def _schema_check(schema_name: str) -> None:
    from tenants.services import merchant_schema_assert_exists

    if schema_name in _checked_schemas:
        return
    merchant_schema_assert_exists(schema_name=schema_name)
    with _checked_lock:
        _checked_schemas.add(schema_name)


def delivery_run(schema_name: str, delivery_id: int) -> str:
    """One attempt of one claimed delivery, in a pool thread (its own database connection).
    Never raises: a failure leaves the row claimed, and it is claimed again later."""
    from django_tenants.utils import schema_context

    from webhooks.delivery import delivery_attempt

    structlog.contextvars.bind_contextvars(schema=schema_name, delivery_id=delivery_id)
    try:
        close_old_connections()  # drops a connection the database restart broke
        _schema_check(schema_name)
        with schema_context(schema_name):
            return delivery_attempt(delivery_id=delivery_id)
    except Exception:
        log.exception("webhook_delivery_crashed")
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        connection.close()
        return "crashed"
    finally:
        structlog.contextvars.clear_contextvars()


class Dispatcher:
    """LISTEN, claim what is due while threads are free, hand it out, wait; reconnect with
    backoff when the database goes away. `stop()` (SIGTERM, SIGINT) lets running attempts
    finish (each within its 15 s deadline) and claims nothing more."""

    def __init__(self, *, threads: int, poll_seconds: float = POLL_SECONDS) -> None:
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook")
        self.inflight: set[Future] = set()
        self.stopping = threading.Event()
        self._listening_on: object = None
        self.heartbeat = heartbeat.heartbeat_path()
        self.last_beat = float("-inf")

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("webhooks_dispatch_started", threads=self.threads, channel=CHANNEL)
        backoff = RECONNECT_SECONDS
        try:
            while not self.stopping.is_set():
                try:
                    self._serve()
                except DatabaseError as exc:
                    log.warning("webhooks_dispatch_database_lost", error=str(exc)[:300])
                    self._connection_drop()
                    self._beat()  # waiting for the database is not hanging
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                else:
                    backoff = RECONNECT_SECONDS
        finally:
            self.pool.shutdown(wait=True)
            self._connection_drop()
            if self.heartbeat is not None:
                self.heartbeat.unlink(missing_ok=True)  # a stopped dispatcher is not alive
            log.info("webhooks_dispatch_stopped")

    def _beat(self) -> None:
        # The liveness probe's heartbeat: this loop comes round at least every poll interval.
        now = time.monotonic()
        if self.heartbeat is not None and now - self.last_beat >= heartbeat.INTERVAL_SECONDS / 2:
            heartbeat.touch(self.heartbeat)
            self.last_beat = now

    def _serve(self) -> None:
        """Claim and hand out until stopped; raises DatabaseError when the database is lost."""
        while not self.stopping.is_set():
            self._beat()
            self._listen()
            self.inflight = {future for future in self.inflight if not future.done()}
            free = self.threads - len(self.inflight)
            if free <= 0:  # every thread busy (or more claimed than threads: they queue)
                done, _ = wait(
                    self.inflight, timeout=WAIT_SLICE_SECONDS, return_when=FIRST_COMPLETED
                )
                self.inflight -= done
                continue
            claimed = self._claim(free)
            for schema_name, delivery_id in claimed:
                self.inflight.add(self.pool.submit(delivery_run, schema_name, delivery_id))
            if len(claimed) >= free:
                continue  # perhaps more is due: claim again as soon as a thread is free
            self._wait(self._next_look_in())

    def _claim(self, limit: int) -> list[tuple[str, int]]:
        from webhooks.delivery import due_deliveries_claim

        with connection.wrap_database_errors:
            return due_deliveries_claim(limit=limit)

    def _next_look_in(self) -> float:
        from webhooks.delivery import next_due_at

        due_at = next_due_at()
        if due_at is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due_at - timezone.now()).total_seconds()))

    def _listen(self) -> None:
        """LISTEN on this thread's connection, again after every reconnect (a new session)."""
        connection.ensure_connection()
        if self._listening_on is not connection.connection:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self._listening_on = connection.connection

    def _wait(self, seconds: float) -> None:
        """Until a notification arrives, `seconds` pass, or a stop is requested."""
        deadline = time.monotonic() + seconds
        raw = connection.connection
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with connection.wrap_database_errors:
                for _ in raw.notifies(timeout=min(left, WAIT_SLICE_SECONDS), stop_after=1):
                    return

    def _connection_drop(self) -> None:
        self._listening_on = None
        with contextlib.suppress(DatabaseError):  # already gone
            connection.close()
