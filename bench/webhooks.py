"""Webhook deliveries per second to a fast local receiver, and commit-to-first-attempt latency.

Throughput: 2,000 events committed in one transaction, then timed until the receiver has every
one. Latency: events committed one per transaction at a fixed 200 events/s for 10 s; for each,
the time from its commit to the receiver seeing its first attempt (p50/p95). Anchors (published,
not measured here): Convoy's PostgreSQL queue p95 ≈ 0.13 s at 200 events/s, its Redis queue
≈ 1.9 s. Goal: p95 ≤ 0.25 s. One real Celery worker (prefork) delivers; the receiver is another
process on 127.0.0.1.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from superpayment.celery import app as celery_app
from tenants.models import Merchant
from tenants.services import merchant_schema_name, provision_merchant

BENCH_SLUG = "bench-webhooks"
THROUGHPUT_EVENTS = 2_000
RATE = 200
RATE_SECONDS = 10
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "2"))
CONVOY_PG_P95 = 0.13
CONVOY_REDIS_P95 = 1.9
GOAL_P95 = 0.25
ROOT = Path(__file__).resolve().parent.parent


def _receive(port_queue, arrivals) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            seen = time.time()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.put((self.headers.get("webhook-id"), seen))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _worker(queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "WEBHOOKS_TASK_QUEUE": queue,
        "WEBHOOKS_ALLOW_PRIVATE": "1",
        "LOG_LEVEL": "WARNING",
    }
    hostname = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "superpayment", "worker"]
        + ["-l", "warning", "-Q", queue, "--concurrency", str(WORKER_CONCURRENCY)]
        + ["--hostname", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if celery_app.control.ping(destination=[hostname], timeout=0.5):
            return process
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("the bench worker did not start")


def _drop_bench_merchant() -> None:
    connection.set_schema_to_public()
    merchant = Merchant.objects.filter(slug=BENCH_SLUG).first()
    if merchant is not None:
        merchant.delete(force_drop=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{merchant_schema_name(BENCH_SLUG)}" CASCADE')
        cursor.execute(
            "DELETE FROM webhooks_due_delivery WHERE schema_name = %s",
            [merchant_schema_name(BENCH_SLUG)],
        )


def _record(n: int):
    from webhooks.services import event_record

    return event_record(
        event_type="payment.succeeded",
        data_object={"id": f"pay_{n}", "object": "payment", "version": 1, "amount": 9900},
        livemode=False,
    )


def _collect(arrivals, ids: set[str], timeout: float) -> dict[str, float]:
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids) and time.monotonic() < deadline:
        try:
            msg_id, at = arrivals.get(timeout=1)
        except Exception:  # noqa: S112 - queue.Empty: keep waiting until the deadline
            continue
        if msg_id in ids:
            seen.setdefault(msg_id, at)
    return seen


def run() -> dict:
    from webhooks.endpoints import endpoint_create

    _drop_bench_merchant()
    merchant = provision_merchant(
        slug=BENCH_SLUG, name="Bench Webhooks", country="DE", default_currency="EUR"
    ).merchant
    connections.close_all()  # the receiver process must not share the connection
    context = multiprocessing.get_context("fork")
    port_queue, arrivals = context.Queue(), context.Queue()
    receiver = context.Process(target=_receive, args=(port_queue, arrivals), daemon=True)
    receiver.start()
    port = port_queue.get(timeout=30)
    queue = f"bench-webhooks-{uuid.uuid4().hex[:6]}"
    settings.WEBHOOKS_TASK_QUEUE = queue
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    worker = _worker(queue)
    try:
        with schema_context(merchant.schema_name):
            endpoint_create(
                url=f"http://127.0.0.1:{port}/hooks", enabled_events=["*"], livemode=False
            )
            for n in range(20):  # warm-up: connections, pools, imports
                with transaction.atomic():
                    _record(-n)
            time.sleep(2)
            while not arrivals.empty():
                arrivals.get()

            with transaction.atomic():
                ids = {_record(n).public_id for n in range(THROUGHPUT_EVENTS)}
            committed_at = time.time()
            seen = _collect(arrivals, ids, timeout=120)
            elapsed = max(seen.values()) - committed_at if seen else float("inf")
            throughput = len(seen) / elapsed
            time.sleep(1)
            while not arrivals.empty():
                arrivals.get()

            commits: dict[str, float] = {}
            start = time.monotonic()
            for n in range(RATE * RATE_SECONDS):
                target = start + n / RATE
                time.sleep(max(0.0, target - time.monotonic()))
                with transaction.atomic():
                    event = _record(100_000 + n)
                commits[event.public_id] = time.time()
            sent_rate = len(commits) / (time.monotonic() - start)
            seen_rate = _collect(arrivals, set(commits), timeout=120)
        latencies = sorted(seen_rate[i] - commits[i] for i in seen_rate)
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the pool finishes its tasks
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        receiver.kill()
        _drop_bench_merchant()
    lines = [
        f"throughput: {throughput:,.0f} deliveries/s ({len(seen)}/{THROUGHPUT_EVENTS} delivered, "
        f"{WORKER_CONCURRENCY} worker processes)",
        f"latency at {sent_rate:.0f} events/s: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
        f"({len(latencies)}/{len(commits)} delivered)",
        f"p95 vs Convoy PostgreSQL queue ({CONVOY_PG_P95:.2f} s): {p95 / CONVOY_PG_P95:.2f}x; "
        f"vs Convoy Redis queue ({CONVOY_REDIS_P95:.1f} s): {p95 / CONVOY_REDIS_P95:.2f}x; "
        f"goal ≤ {GOAL_P95:.2f} s: {'met' if p95 <= GOAL_P95 else 'NOT met'}",
    ]
    return {
        "lines": lines,
        "deliveries_per_second": round(throughput, 1),
        "latency_rate_events_per_second": round(sent_rate, 1),
        "latency_p50_s": round(p50, 4),
        "latency_p95_s": round(p95, 4),
        "anchor_convoy_postgres_p95_s": CONVOY_PG_P95,
        "anchor_convoy_redis_p95_s": CONVOY_REDIS_P95,
    }
