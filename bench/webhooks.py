"""Webhook deliveries per second to a fast local receiver, and commit-to-first-attempt latency.

Throughput: 2,000 events committed in one transaction, then timed until the receiver has every
one. Latency: events committed one per transaction on a fixed schedule of 200 events/s for 10 s
by four producer processes (as a web tier's workers commit them; each waits on its own commits,
and two fell behind their share here); for each, the time from its commit to the receiver
seeing its first attempt (p50/p95), and the rate the producers actually reached on this
machine, which they share with everything else. Anchors (published, not measured here):
Convoy's PostgreSQL queue p95 ≈ 0.13 s at 200 events/s, its Redis queue ≈ 1.9 s. Goal: p95 ≤
0.25 s. Real webhooks dispatchers deliver (`manage.py webhooks_dispatch`, as `make run` and k8s
run them; two processes, like two replicas); the receiver is an asyncio process on 127.0.0.1.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django_tenants.utils import schema_context

from bench.merchants import bench_merchant_drop
from bench.processes import processes_run
from tenants.services import provision_merchant

BENCH_SLUG = "bench-webhooks"
THROUGHPUT_EVENTS = 2_000
RATE = 200
RATE_SECONDS = 10
PRODUCERS = 4
WARM_UP_EVENTS = 20
WARM_UP_LIMIT_SECONDS = 120  # a dispatcher that never delivers stops the bench, not hangs it
WORKER_PROCESSES = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "2"))
WORKER_THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "4"))
CONVOY_PG_P95 = 0.13
CONVOY_REDIS_P95 = 1.9
GOAL_P95 = 0.25
ROOT = Path(__file__).resolve().parent.parent


def _receive(port_queue, arrivals) -> None:
    """A fast receiver: asyncio, keep-alive, a fixed 200 answer; arrival times are shipped to
    the bench in batches every 50 ms, not one inter-process message per request."""
    import asyncio

    seen: list[tuple[str, float]] = []
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = time.time()
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length") or 0))
                seen.append((headers.get("webhook-id"), at))
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def ship() -> None:
        while True:
            await asyncio.sleep(0.05)
            if seen:
                batch, seen[:] = list(seen), []
                arrivals.put(batch)

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.gather(server.serve_forever(), ship())

    asyncio.run(main())


def _worker() -> subprocess.Popen:
    """A webhooks dispatcher process (it claims whatever is due as soon as it starts)."""
    env = {**os.environ, "WEBHOOKS_ALLOW_PRIVATE": "1", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "webhooks_dispatch", "--threads", str(WORKER_THREADS)],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )


def _record(n: int):
    from webhooks.services import event_record

    return event_record(
        event_type="payment.succeeded",
        data_object={"id": f"pay_{n}", "object": "payment", "version": 1, "amount": 9900},
        livemode=False,
    )


def _producer(schema: str, index: int, start_at: float, results) -> None:
    """Commit events one per transaction on this producer's share of the fixed schedule."""
    commits: dict[str, float] = {}
    with schema_context(schema):
        for n in range(index, RATE * RATE_SECONDS, PRODUCERS):
            time.sleep(max(0.0, start_at + n / RATE - time.time()))
            with transaction.atomic():
                event = _record(100_000 + n)
            commits[event.public_id] = time.time()
    connections.close_all()
    results.put((commits, time.time()))


def _produce_at_rate(schema: str) -> tuple[dict[str, float], float]:
    """RATE events/s for RATE_SECONDS from PRODUCERS processes, as web workers would commit
    them: {event id: commit time}, and the rate actually reached."""
    shares = [(schema, index) for index in range(PRODUCERS)]
    start_at, outcomes = processes_run(_producer, shares, start_in=1.0)
    commits = {event: at for done, _ in outcomes for event, at in done.items()}
    finished = max(at for _, at in outcomes)
    return commits, len(commits) / (finished - start_at)


def _collect(arrivals, ids: set[str], timeout: float) -> dict[str, float]:
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids) and time.monotonic() < deadline:
        try:
            batch = arrivals.get(timeout=1)
        except Exception:  # noqa: S112 - queue.Empty: keep waiting until the deadline
            continue
        for msg_id, at in batch:
            if msg_id in ids:
                seen.setdefault(msg_id, at)
    return seen


def _wait_delivered(event_ids: set[str]) -> None:
    """Until every delivery of these events has succeeded: the dispatchers have connected,
    imported and delivered, so what is measured next is their steady state."""
    from webhooks.models import Delivery

    deliveries = Delivery.objects.filter(event__public_id__in=event_ids)  # one endpoint
    succeeded = deliveries.filter(status=Delivery.Status.SUCCEEDED)
    deadline = time.monotonic() + WARM_UP_LIMIT_SECONDS
    while succeeded.count() < len(event_ids):
        if time.monotonic() > deadline:
            states = sorted(deliveries.values_list("status", flat=True))
            raise RuntimeError(
                f"warm-up deliveries not done in {WARM_UP_LIMIT_SECONDS} s: {states}"
            )
        time.sleep(0.05)


def _goal_verdict(p95: float, sent_rate: float) -> str:
    if p95 > GOAL_P95:
        return "NOT met"
    if sent_rate < RATE * 0.98:
        return f"p95 met, but the producers reached only {sent_rate:.0f} events/s here"
    return "met"


def run() -> dict:
    from webhooks.endpoints import endpoint_create

    bench_merchant_drop(BENCH_SLUG)
    merchant = provision_merchant(
        slug=BENCH_SLUG, name="Bench Webhooks", country="DE", default_currency="EUR"
    ).merchant
    connections.close_all()  # the receiver process must not share the connection
    context = multiprocessing.get_context("fork")
    port_queue, arrivals = context.Queue(), context.Queue()
    receiver = context.Process(target=_receive, args=(port_queue, arrivals), daemon=True)
    receiver.start()
    port = port_queue.get(timeout=30)
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    workers = [_worker() for _ in range(WORKER_PROCESSES)]
    try:
        with schema_context(merchant.schema_name):
            endpoint_create(
                url=f"http://127.0.0.1:{port}/hooks", enabled_events=["*"], livemode=False
            )
            warm_up = set()
            for n in range(WARM_UP_EVENTS):  # warm-up: connections, pools, imports
                with transaction.atomic():
                    warm_up.add(_record(-n).public_id)
            warm_started = time.monotonic()
            _wait_delivered(warm_up)
            warm_up_s = time.monotonic() - warm_started
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

            commits, sent_rate = _produce_at_rate(merchant.schema_name)
            seen_rate = _collect(arrivals, set(commits), timeout=120)
        latencies = sorted(seen_rate[i] - commits[i] for i in seen_rate)
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)  # running attempts finish
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        receiver.kill()
        bench_merchant_drop(BENCH_SLUG)
    lines = [
        f"warm-up: the {WARM_UP_EVENTS} warm-up deliveries succeeded {warm_up_s:.1f} s after "
        "their commits; measuring from there",
        f"throughput: {throughput:,.0f} deliveries/s ({len(seen)}/{THROUGHPUT_EVENTS} delivered, "
        f"{WORKER_PROCESSES} dispatchers x {WORKER_THREADS} threads), counted from the commit",
        f"latency at {sent_rate:.0f} events/s: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
        f"({len(latencies)}/{len(commits)} delivered)",
        f"p95 vs Convoy PostgreSQL queue ({CONVOY_PG_P95:.2f} s): {p95 / CONVOY_PG_P95:.2f}x; "
        f"vs Convoy Redis queue ({CONVOY_REDIS_P95:.1f} s): {p95 / CONVOY_REDIS_P95:.2f}x; "
        f"goal p95 ≤ {GOAL_P95:.2f} s at {RATE} events/s: {_goal_verdict(p95, sent_rate)}",
    ]
    return {
        "lines": lines,
        "warm_up_s": round(warm_up_s, 2),
        "deliveries_per_second": round(throughput, 1),
        "latency_rate_events_per_second": round(sent_rate, 1),
        "latency_p50_s": round(p50, 4),
        "latency_p95_s": round(p95, 4),
        "anchor_convoy_postgres_p95_s": CONVOY_PG_P95,
        "anchor_convoy_redis_p95_s": CONVOY_REDIS_P95,
    }
