"""Checkout confirm throughput and latency over HTTP (open model) against /readyz, and widget.js.

The app server is gunicorn (WEB_CONCURRENCY workers, default 2 x CPUs + 1) on the benchmark
database. Load is open-model: requests are sent at a fixed arrival rate whatever the answers
take (latency counts from each request's scheduled start, so a stalled server is not hidden),
by client processes with keep-alive connections. Each endpoint is offered rising rates; its
figure is the highest rate it sustained (>= 97% answered 2xx within the run, p99 <= 250 ms).

Confirm: POST /checkout/pay/<merchant>/<session>/confirm for sessions prepared beforehand (each
with its voucher held), the whole payment path: session lock, voucher debit + ledger, commission
ledger entry (public schema), payment, outbox event, session completed — one transaction. The
merchant has one webhook endpoint, as the integration guide asks, so every payment also writes
its delivery, its due row and the NOTIFY that wakes the webhooks dispatcher (none runs during the
bench): the payment path touches PostgreSQL only.
Anchor: /readyz (one PostgreSQL query + one Redis ping, JSON) on the same server, same run;
/healthz (no I/O) is printed beside it. Goal: confirm >= 50% of the anchor.

In process: the confirm service called directly, one payment at a time, wall and CPU time per
payment, to split the HTTP figure into the payment's own cost and the request's; and what the
dispatcher's NOTIFY adds to a committed transaction (wall time, the same one-row transaction
with and without it). Before the outbox dispatcher, a payment published one Celery message per
delivery after its commit: 0.43 ms of CPU (2026-12-02), and a 500 when Redis was down.

Where the machine goes: each endpoint is offered again at half the rate it sustained while the
CPU time of the app server, this run's PostgreSQL and Redis and the load clients is read from
the process table, less what each spends idle over the same time, giving CPU ms per request by
part (and, CPU being what a 2-core machine runs out of, the ratio the anchor's CPU over the
confirm's predicts). From those, the ceiling: a confirm whose own Python
cost nothing would still cost a bare request (/healthz, clients included) plus its PostgreSQL
work, so the anchor's cost over that sum is the best ratio this confirm's SQL allows here.

Widget: the loader's gzipped bytes, and the time from the script tag's start to the button
rendered (the `superpayment:ready` event) in headless Chromium, median of 20 loads.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from django.db import connection, transaction
from django.test.utils import override_settings
from django_tenants.utils import schema_context

from bench.merchants import bench_merchant_drop
from bench.processes import processes_run
from superpayment.embedded import free_port, wait_for_port
from tenants.models import Merchant
from tenants.services import provision_merchant

BENCH_SLUG = "bench-checkout"
STEP_SECONDS = 3.0
RATES = [25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2000]
CONFIRM_RATES = [5, 10, 15, 20, 25, 35, 50, 75, 100, 150, 200, 300, 400, 500, 600, 800]
WARM_CONFIRM_RATE = 100  # high enough that every worker takes its share of the warm-up
CLIENT_PROCESSES = 2
THREADS_PER_PROCESS = 48
P99_LIMIT_MS = 250.0
SUSTAINED = 0.97
VOUCHERS = 200
IN_PROCESS_WARM_UP = 20
IN_PROCESS_CONFIRMS = 200
MIDDLEWARE_CONFIRMS = 100  # per chain (whole, lean), after 10 to warm up
ROUND_TRIP_PROBES = 2_000
CPU_SECONDS = 6.0
NOTIFY_TRANSACTIONS = 2_000
WEBHOOK_URL = "http://127.0.0.1:9/hooks"  # never called: no dispatcher runs during the bench
ROOT = Path(__file__).resolve().parent.parent


# --- data ----------------------------------------------------------------------------------------


def _prepare_sessions(merchant: Merchant, count: int, codes: list[str]) -> list[tuple[str, str]]:
    """`count` open sessions of 1.00 EUR, each with one voucher held for it, written in bulk
    (the rows the widget and the frame would have made): (session id, confirm token)."""
    from datetime import timedelta

    from django.utils import timezone

    from checkout.models import CheckoutSession
    from vouchers.hold_models import VoucherHold
    from vouchers.models import Voucher

    expires_at = timezone.now() + timedelta(hours=1)
    with schema_context(merchant.schema_name):
        vouchers = list(Voucher.objects.filter(code__in=codes).order_by("pk"))
        sessions = CheckoutSession.objects.bulk_create(
            CheckoutSession(
                livemode=False,
                source=CheckoutSession.Source.PAGE,
                amount=100,
                currency="EUR",
                order_id=f"BENCH-{index}",
                expires_at=expires_at,
            )
            for index in range(count)
        )
        VoucherHold.objects.bulk_create(
            VoucherHold(
                voucher=vouchers[index % len(vouchers)],
                holder=session.public_id,
                amount=100,
                expires_at=expires_at,
            )
            for index, session in enumerate(sessions)
        )
    return [(session.public_id, session.confirm_token) for session in sessions]


def _notify_cost_ms(transactions: int = NOTIFY_TRANSACTIONS) -> tuple[float, float]:
    """Wall ms per committed one-row transaction without and with the dispatcher's NOTIFY in
    its statement, as a payment sends it (same round trips; alternated to share the noise)."""
    from webhooks.dispatch import CHANNEL

    plain = "INSERT INTO bench_notify VALUES (1) RETURNING 1"
    notified = (
        "WITH i AS (INSERT INTO bench_notify VALUES (1) RETURNING 1) "
        f"SELECT pg_notify('{CHANNEL}', '') FROM i"
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_notify (n int)")
        spent = {plain: 0.0, notified: 0.0}
        for index in range(transactions * 2):
            statement = plain if index % 2 else notified
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(statement)
            spent[statement] += time.perf_counter() - started
        cursor.execute("DROP TABLE bench_notify")
    return spent[plain] * 1000 / transactions, spent[notified] * 1000 / transactions


def _confirm_in_process(merchant: Merchant, sessions: list[tuple[str, str]]) -> tuple[float, float]:
    """The confirm service called directly, one at a time: (wall ms, this process's CPU ms) per
    payment, so the HTTP figures above can be split into the payment's own cost and the rest."""
    from checkout.payments import checkout_session_confirm

    with schema_context(merchant.schema_name):
        for session_id, token in sessions[:IN_PROCESS_WARM_UP]:
            checkout_session_confirm(merchant=merchant, session_id=session_id, confirm_token=token)
        measured = sessions[IN_PROCESS_WARM_UP:]
        wall, cpu = time.perf_counter(), time.process_time()
        for session_id, token in measured:
            checkout_session_confirm(merchant=merchant, session_id=session_id, confirm_token=token)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall * 1000 / len(measured), cpu * 1000 / len(measured)


class _Probe:
    """Placed between every two middleware by `_middleware_costs`: records how long the rest of
    the chain took, so each middleware's own time is the difference to the next probe reached."""

    built = 0
    timings: list[tuple[int, float]] = []

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.index = _Probe.built  # built from the innermost out: 0 is the view's side
        _Probe.built += 1

    def __call__(self, request):
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            _Probe.timings.append((self.index, time.perf_counter() - started))


def _middleware_costs(
    merchant: Merchant, sessions: list[tuple[str, str]], *, lean: bool
) -> dict[str, float]:
    """Microseconds per confirm request spent in each middleware itself (and in the view, with
    URL resolution and the view hooks), through the whole chain of settings.MIDDLEWARE or
    without the lean pair (so every middleware runs, as before superpayment.lean), in process."""
    from django.conf import settings
    from django.test import Client

    chain = [
        path for path in settings.MIDDLEWARE if lean or not path.startswith("superpayment.lean.")
    ]
    probed = [item for path in chain for item in ("bench.checkout._Probe", path)]
    probed.append("bench.checkout._Probe")
    names = [path.rsplit(".", 1)[1] for path in chain] + ["view"]
    spent = dict.fromkeys(names, 0.0)
    origin = "http://testserver"
    with override_settings(MIDDLEWARE=probed, ALLOWED_HOSTS=["testserver"]):
        _Probe.built = 0
        client = Client(HTTP_ORIGIN=origin)
        for number, (session_id, token) in enumerate(sessions):
            _Probe.timings = []
            response = client.post(
                f"/checkout/pay/{BENCH_SLUG}/{session_id}/confirm",
                json.dumps({"confirm_token": token}),
                content_type="application/json",
            )
            if response.status_code != 200:
                raise RuntimeError(f"confirm answered {response.status_code}: {response.content}")
            if number < 10:  # warming up
                continue
            # Probe k (counted from the view's side) sits before names[-1 - k].
            reached = sorted(
                (_Probe.built - 1 - index, seconds) for index, seconds in _Probe.timings
            )
            for (position, seconds), following in zip(
                reached, [*reached[1:], (len(names), 0.0)], strict=True
            ):
                spent[names[position]] += seconds - following[1]
    measured = len(sessions) - 10
    return {name: seconds * 1e6 / measured for name, seconds in spent.items()}


def _round_trips(merchant: Merchant, sessions: list[tuple[str, str]]) -> dict[str, float]:
    """Round trips to PostgreSQL counted on the wire (tests.roundtrips): of one confirm service
    call, and of one whole frame confirm request (the merchant's lookup included), each on a
    connection one confirm of its kind has warmed; and what one
    round trip costs this process here (a prepared `SELECT 1`, wall and CPU)."""
    from django.conf import settings
    from django.test import Client

    from checkout.payments import checkout_session_confirm
    from superpayment.pipeline import Statement, statements_send
    from superpayment.prepared import prepared_fetch
    from tests.roundtrips import through_proxy

    def count(proxy) -> dict[str, float]:
        # Each counted after one of its kind warmed the connection (statements prepared).
        for session_id, token in sessions[:2]:
            proxy.reset()
            checkout_session_confirm(merchant=merchant, session_id=session_id, confirm_token=token)
        service = proxy.round_trips
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            client = Client(HTTP_ORIGIN="http://testserver")
            for session_id, token in sessions[2:]:
                proxy.reset()
                client.post(
                    f"/checkout/pay/{BENCH_SLUG}/{session_id}/confirm",
                    json.dumps({"confirm_token": token}),
                    content_type="application/json",
                )
            whole = proxy.round_trips
        return {"service": service, "request": whole}

    counted = through_proxy(count, merchant.schema_name)
    with schema_context(merchant.schema_name):
        prepared_fetch("SELECT 1", [])
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(ROUND_TRIP_PROBES):
            prepared_fetch("SELECT 1", [])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counted["one_wall_ms"] = wall * 1000 / ROUND_TRIP_PROBES
    counted["one_cpu_ms"] = cpu * 1000 / ROUND_TRIP_PROBES
    # A statement sent in a pipeline, ten to a round trip, as a confirm sends them.
    batch = [Statement("SELECT 1", [])] * 10
    with schema_context(merchant.schema_name), transaction.atomic():
        statements_send(batch)
        cpu = time.process_time()
        for _ in range(ROUND_TRIP_PROBES // 10):
            statements_send(batch)
        cpu = time.process_time() - cpu
    counted["pipelined_cpu_ms"] = cpu * 1000 / ROUND_TRIP_PROBES
    return counted


def _middleware_line(costs: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {us:.0f}" for name, us in costs.items() if us >= 0.5)
    chain = sum(us for name, us in costs.items() if name != "view")
    return f"middleware {chain:.0f} µs, view {costs['view']:.0f} µs ({parts})"


# --- the server ----------------------------------------------------------------------------------


def _start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "superpayment.wsgi:application"]
        + ["-c", "superpayment/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]
        + ["--access-logfile", "/dev/null", "--log-level", "warning"]
        # No worker recycling mid-run: a recycled worker's first requests are slow (cold start).
        + ["--max-requests", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=30, proc=server)
    return server


# --- open-model load -----------------------------------------------------------------------------


def _server_stop(server: subprocess.Popen) -> None:
    """Stop gunicorn; kill it if its graceful shutdown outlasts 20 s (kept-alive connections of
    the load clients on a loaded machine), rather than losing the figures measured so far."""
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(20)


def _client(port: int, requests: list, start_at: float, results) -> None:
    """Send `requests` [(offset seconds, method, path, body, headers)] at their times."""
    work: queue.Queue = queue.Queue()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            item = work.get()
            if item is None:
                return
            scheduled, method, path, body, headers = item
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - scheduled)
                else:
                    failures[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(THREADS_PER_PROCESS)]
    for thread in threads:
        thread.start()
    base = time.perf_counter() + (start_at - time.time())
    for offset, method, path, body, headers in requests:
        due = base + offset
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work.put((due, method, path, body, headers))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    results.put((latencies, failures[0]))


def _offer(port: int, rate: float, make_request, *, seconds: float = STEP_SECONDS) -> dict:
    """Offer `rate` requests/s for `seconds`; what was answered and how fast."""
    total = int(rate * seconds)
    requests = [(index / rate, *make_request(index)) for index in range(total)]
    shares = [(port, requests[p::CLIENT_PROCESSES]) for p in range(CLIENT_PROCESSES)]
    _, outcomes = processes_run(_client, shares, start_in=0.5)
    latencies = sorted(latency for lats, _ in outcomes for latency in lats)
    failures = sum(failed for _, failed in outcomes)
    if not latencies:
        return {"rate": rate, "ok": 0, "failed": failures, "p50_ms": None, "p99_ms": None}
    return {
        "rate": rate,
        "ok": len(latencies),
        "failed": failures,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "offered": total,
    }


def _sustained(step: dict) -> bool:
    return (
        step["ok"] >= SUSTAINED * step.get("offered", 1)
        and step["p99_ms"] is not None
        and step["p99_ms"] <= P99_LIMIT_MS
    )


def _sweep(port: int, make_request, *, rates=RATES) -> tuple[float, dict | None, list[dict]]:
    """The highest rate sustained. A step that fails is offered once more before the sweep
    stops: on a shared machine one stall of another program's makes a 3-second step's p99."""
    steps, best, best_step = [], 0.0, None
    for rate in rates:
        step = _offer(port, rate, make_request)
        steps.append(step)
        if not _sustained(step):
            step = _offer(port, rate, make_request)
            steps.append(step)
            if not _sustained(step):
                break
        best, best_step = rate, step
    return best, best_step, steps


# --- where the machine goes --------------------------------------------------------------------


def _bench_servers() -> tuple[int, str]:
    """This run's PostgreSQL postmaster pid and Redis port: the machine may run other
    PostgreSQL and Redis servers (other checkouts' tests), whose CPU is not this bench's."""
    from urllib.parse import urlsplit

    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    connection.close()
    return psutil.Process(backend).ppid(), str(urlsplit(settings.REDIS_URL).port or 6379)


def _part(process: psutil.Process, server_pid: int, servers: tuple[int, str]) -> str | None:
    """Which part of the system a process belongs to (None: not ours, e.g. the kernel)."""
    postmaster, redis_port = servers
    name = process.name()
    if process.pid == postmaster or process.ppid() == postmaster:
        return "postgres"
    if name.startswith("redis") and any(redis_port in part for part in process.cmdline()):
        return "redis"
    if process.pid == server_pid or process.ppid() == server_pid:
        return "app"
    return None


def _cpu_seconds_by_part(server_pid: int, servers: tuple[int, str]) -> dict[tuple[int, str], float]:
    seen = {}
    for process in psutil.process_iter():
        try:
            part = _part(process, server_pid, servers)
            if part is not None:
                times = process.cpu_times()
                seen[(process.pid, part)] = times.user + times.system
        except psutil.Error:
            continue
    return seen


def _cpu_per_request(
    port: int, server_pid: int, servers: tuple[int, str], rate: float, make_request
) -> dict[str, float]:
    """CPU ms per answered request at `rate`, by part: app server, postgres, redis, clients."""
    idle = _cpu_idle(server_pid, servers)
    before, clients_before = _cpu_seconds_by_part(server_pid, servers), os.times()
    step = _offer(port, rate, make_request, seconds=CPU_SECONDS)
    after, clients_after = _cpu_seconds_by_part(server_pid, servers), os.times()
    parts = {"app": 0.0, "postgres": 0.0, "redis": 0.0}
    for key, seconds in after.items():
        parts[key[1]] += seconds - before.get(key, 0.0)
    parts["clients"] = (clients_after.children_user + clients_after.children_system) - (
        clients_before.children_user + clients_before.children_system
    )
    answered = max(step["ok"], 1)
    return {
        part: max(0.0, seconds - idle.get(part, 0.0)) * 1000 / answered
        for part, seconds in parts.items()
    }


def _cpu_idle(server_pid: int, servers: tuple[int, str]) -> dict[str, float]:
    """CPU seconds each part spends unloaded over a step's length (workers' heartbeats,
    PostgreSQL's background processes): subtracted, so that a request's figure is its own at any
    rate."""
    before = _cpu_seconds_by_part(server_pid, servers)
    time.sleep(CPU_SECONDS)
    after = _cpu_seconds_by_part(server_pid, servers)
    parts: dict[str, float] = {}
    for key, seconds in after.items():
        parts[key[1]] = parts.get(key[1], 0.0) + seconds - before.get(key, 0.0)
    return parts


def _cpu_line(label: str, cpu: dict[str, float]) -> str:
    return (
        f"{label}: {sum(cpu.values()):.2f} ms (app server {cpu['app']:.2f}, PostgreSQL "
        f"{cpu['postgres']:.2f}, Redis {cpu['redis']:.2f}, load clients {cpu['clients']:.2f})"
    )


# --- widget in Chromium --------------------------------------------------------------------------


def _widget_render_ms(base: str, publishable_key: str, runs: int = 20) -> float | None:
    try:
        from playwright.sync_api import sync_playwright

        from tests.browser.conftest import CHROMIUM_ARGS, chromium_executable
    except ImportError:
        return None
    page_html = (
        "<html><body><script>window.t0 = performance.now();"
        "document.addEventListener('superpayment:ready', function () {"
        " window.t1 = performance.now(); });</script>"
        f'<script src="{base}/widget.js" data-api-key="{publishable_key}" '
        'data-amount="99.00" data-currency="EUR" data-order-id="BENCH"></script></body></html>'
    )
    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.route(
            base + "/__bench__",
            lambda route: route.fulfill(content_type="text/html", body=page_html),
        )
        for _ in range(runs):
            page.goto(base + "/__bench__")
            page.wait_for_function("window.t1 !== undefined")
            timings.append(page.evaluate("window.t1 - window.t0"))
        browser.close()
    return round(statistics.median(timings), 1)


# --- run -----------------------------------------------------------------------------------------


def run() -> dict:
    from checkout.demo import DEMO_KEY_NAME
    from tenants.keys import api_key_create
    from vouchers.services import voucher_issue_bulk
    from webhooks.endpoints import endpoint_create
    from widget.assets import widget_current

    bench_merchant_drop(BENCH_SLUG)
    merchant = provision_merchant(
        slug=BENCH_SLUG, name="Bench Checkout", country="DE", default_currency="EUR"
    ).merchant
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key, _ = api_key_create(
        merchant=merchant,
        kind="publishable",
        mode="test",
        name=DEMO_KEY_NAME,
        actor=None,
        allowed_origins=[base],
    )
    with schema_context(merchant.schema_name):
        codes = [
            voucher.code
            for voucher in voucher_issue_bulk(count=VOUCHERS, currency="EUR", amount=10**12)
        ]
        with override_settings(WEBHOOKS_ALLOW_PRIVATE=True):
            endpoint_create(url=WEBHOOK_URL, enabled_events=["*"], livemode=False)
    needed = int((sum(CONFIRM_RATES) + 2 * WARM_CONFIRM_RATE) * STEP_SECONDS)
    needed += int(max(CONFIRM_RATES) / 2 * CPU_SECONDS)
    in_process = IN_PROCESS_CONFIRMS + 2 * (MIDDLEWARE_CONFIRMS + 10) + 4
    started = time.perf_counter()
    sessions = _prepare_sessions(merchant, needed + in_process, codes)
    prepare_s = time.perf_counter() - started
    servers = _bench_servers()  # closes the connection: the server's workers open their own

    server = _start_server(port)
    try:
        json_headers = {"Content-Type": "application/json", "Origin": base}

        def confirm(index: int):
            session_id, token = sessions[confirm.next]
            confirm.next += 1
            return (
                "POST",
                f"/checkout/pay/{BENCH_SLUG}/{session_id}/confirm",
                json.dumps({"confirm_token": token}),
                json_headers,
            )

        confirm.next = 0

        def readyz(index: int):
            return ("GET", "/readyz", None, {})

        def healthz(index: int):
            return ("GET", "/healthz", None, {})

        # Warm every worker on every path first (imports, connections, caches): a worker's
        # first requests take seconds.
        for path in ("/readyz", "/healthz"):
            _offer(port, 200, lambda i, p=path: ("GET", p, None, {}))
        _offer(port, WARM_CONFIRM_RATE, confirm)
        _offer(port, WARM_CONFIRM_RATE, confirm)
        confirmed, confirm_step, confirm_steps = _sweep(port, confirm, rates=CONFIRM_RATES)
        anchor, anchor_step, anchor_steps = _sweep(port, readyz)
        trivial, trivial_step, _ = _sweep(port, healthz)
        cpu = {
            name: _cpu_per_request(port, server.pid, servers, max(sustained / 2, 5), make)
            for name, sustained, make in (
                ("confirm", confirmed, confirm),
                ("readyz", anchor, readyz),
                ("healthz", trivial, healthz),
            )
        }
        render_ms = _widget_render_ms(base, key.publishable_key)
        _server_stop(server)  # the in-process figure below wants a quiet machine
        spare = sessions[needed:]
        one_wall_ms, one_cpu_ms = _confirm_in_process(merchant, spare[:IN_PROCESS_CONFIRMS])
        spare = spare[IN_PROCESS_CONFIRMS:]
        chain_us = {
            lean: _middleware_costs(
                merchant,
                spare[index * (MIDDLEWARE_CONFIRMS + 10) :][: MIDDLEWARE_CONFIRMS + 10],
                lean=lean,
            )
            for index, lean in enumerate((False, True))
        }
        round_trips = _round_trips(merchant, spare[-4:])
        plain_ms, notified_ms = _notify_cost_ms()
    finally:
        _server_stop(server)
        bench_merchant_drop(BENCH_SLUG)

    ratio = confirmed / anchor if anchor else 0.0
    anchor_ms = sum(cpu["readyz"].values())
    ceiling = anchor_ms / (sum(cpu["healthz"].values()) + cpu["confirm"]["postgres"])
    bundle = widget_current().bundle
    workers = os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1))

    def at(step):
        return f"p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms" if step else "n/a"

    lines = [
        f"gunicorn workers: {workers}; {CLIENT_PROCESSES} client processes; steps of "
        f"{STEP_SECONDS:.0f} s; sustained = >= {SUSTAINED:.0%} answered, "
        f"p99 <= {P99_LIMIT_MS:.0f} ms",
        f"anchor /readyz (1 query + Redis ping): {anchor:.0f} req/s sustained ({at(anchor_step)})",
        f"/healthz (no I/O): {trivial:.0f} req/s sustained ({at(trivial_step)})",
        f"checkout confirm: {confirmed:.0f} payments/s sustained ({at(confirm_step)})",
        f"ratio confirm / anchor: {ratio:.0%} (goal >= 50%)",
        f"one confirm in process, no HTTP (mean of {IN_PROCESS_CONFIRMS - IN_PROCESS_WARM_UP}): "
        f"{one_wall_ms:.1f} ms, of which {one_cpu_ms:.1f} ms Python CPU",
        f"round trips to PostgreSQL per confirm (counted on the wire): "
        f"{round_trips['service']:.0f} for the payment's transaction, "
        f"{round_trips['request']:.0f} for the whole frame request; one round trip costs this "
        f"process {round_trips['one_wall_ms']:.3f} ms wall, {round_trips['one_cpu_ms']:.3f} ms CPU "
        f"(a prepared SELECT 1); a statement in a pipeline, ten to a round trip: "
        f"{round_trips['pipelined_cpu_ms']:.3f} ms CPU",
        "per confirm request in process (µs; each middleware's own time, the view with its URL "
        "resolution and hooks):",
        "  whole chain (every middleware, as before): " + _middleware_line(chain_us[False]),
        "  lean (the frame's POSTs now): " + _middleware_line(chain_us[True]),
        f"webhook dispatch: the NOTIFY in the payment's transaction adds "
        f"{notified_ms - plain_ms:.3f} ms to a commit ({plain_ms:.3f} ms without, "
        f"{notified_ms:.3f} ms with, no listener connected; the Celery message per "
        "delivery it replaced cost 0.43 ms CPU in the 2026-12-02 run, not measured here)",
        "CPU per request, all processes (at half the sustained rate):",
        "  " + _cpu_line("confirm", cpu["confirm"]),
        "  " + _cpu_line("/readyz", cpu["readyz"]),
        "  " + _cpu_line("/healthz", cpu["healthz"]),
        f"CPU-bound estimate of the ratio (/readyz CPU over confirm CPU): "
        f"{anchor_ms / sum(cpu['confirm'].values()):.0%}",
        f"ceiling: a confirm whose Python cost nothing = /healthz + its PostgreSQL work = "
        f"{sum(cpu['healthz'].values()) + cpu['confirm']['postgres']:.2f} ms vs /readyz "
        f"{anchor_ms:.2f} ms: at most {ceiling:.0%} of the anchor with this SQL",
        f"widget loader: {bundle.gzip_bytes} bytes gzipped ({bundle.bytes} minified; budget 6144)",
        f"widget: script start to button rendered in Chromium: median {render_ms} ms",
        f"(prepared {needed} sessions with holds in {prepare_s:.1f} s)",
    ]
    return {
        "lines": lines,
        "confirm_per_s": confirmed,
        "anchor_readyz_per_s": anchor,
        "healthz_per_s": trivial,
        "ratio": round(ratio, 3),
        "confirm_in_process_ms": round(one_wall_ms, 2),
        "confirm_in_process_cpu_ms": round(one_cpu_ms, 2),
        "commit_ms_without_notify": round(plain_ms, 3),
        "commit_ms_with_notify": round(notified_ms, 3),
        "cpu_ms_per_request": {
            name: {part: round(ms, 3) for part, ms in parts.items()} for name, parts in cpu.items()
        },
        "ceiling_ratio": round(ceiling, 3),
        "cpu_ratio": round(anchor_ms / sum(cpu["confirm"].values()), 3),
        "round_trips_per_confirm": round_trips["service"],
        "round_trips_per_confirm_request": round_trips["request"],
        "round_trip_wall_ms": round(round_trips["one_wall_ms"], 4),
        "round_trip_cpu_ms": round(round_trips["one_cpu_ms"], 4),
        "pipelined_statement_cpu_ms": round(round_trips["pipelined_cpu_ms"], 4),
        "middleware_us_whole_chain": {k: round(v, 1) for k, v in chain_us[False].items()},
        "middleware_us_lean": {k: round(v, 1) for k, v in chain_us[True].items()},
        "confirm_steps": confirm_steps,
        "anchor_steps": anchor_steps,
        "widget_gzip_bytes": bundle.gzip_bytes,
        "widget_render_ms": render_ms,
    }
