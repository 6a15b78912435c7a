"""Prometheus metrics: the product's own figures beside django-prometheus' request metrics.

Counted where they happen, by one decorator or one call at each service boundary:
payments and refunds by outcome, the confirm's latency, webhook delivery attempts by outcome,
throttle lockouts. Computed when scraped (one indexed query, one Redis pipeline): the due webhook
backlog and its oldest due delivery's age, the Celery queues' lengths.

gunicorn runs several worker processes, and Celery's prefork pool several children: with
PROMETHEUS_MULTIPROC_DIR set (gunicorn_conf.py sets it for web) every process writes its values
to files there, and a scrape sums them (prometheus_client's multiprocess mode), so any worker
answers for all of them. GET /metrics needs `Authorization: Bearer $METRICS_TOKEN`; without
METRICS_TOKEN it answers 404. Celery workers serve the same on METRICS_PORT (internal only).
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

F = TypeVar("F", bound=Callable[..., Any])

PAYMENTS = Counter(
    "superpayment_payments",
    "Checkout confirms by outcome: succeeded, or the error code that refused them.",
    ["outcome"],
)
CONFIRM_SECONDS = Histogram(
    "superpayment_confirm_duration_seconds",
    "Time a checkout confirm takes in the service (locks, debits, outbox, commit).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REFUNDS = Counter(
    "superpayment_refunds", "Refunds by outcome: succeeded, or the error code.", ["outcome"]
)
WEBHOOK_DELIVERIES = Counter(
    "superpayment_webhook_deliveries",
    "Webhook delivery attempts by outcome (succeeded, retry_scheduled, failed, ...).",
    ["outcome"],
)
THROTTLE_LOCKOUTS = Counter(
    "superpayment_throttle_lockouts",
    "Voucher-code attempts refused because a scope used up its wrong codes.",
    ["scope"],
)

REDIS_TIMEOUT_SECONDS = 0.5


def _outcome_of(exc: BaseException) -> str:
    """A domain refusal's code (a bounded set of label values), else "error"."""
    from superpayment.errors import DomainError

    return str(getattr(exc.code, "value", exc.code)) if isinstance(exc, DomainError) else "error"


def count_outcome(counter: Counter, latency: Histogram | None = None) -> Callable[[F], F]:
    """Count each call of the decorated service under `outcome`: "succeeded" when it returns,
    the domain error's code (or "error") when it raises; observe its duration in `latency`."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def counted(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                counter.labels(outcome=_outcome_of(exc)).inc()
                raise
            finally:
                if latency is not None:
                    latency.observe(time.perf_counter() - started)
            counter.labels(outcome="succeeded").inc()
            return result

        return counted  # type: ignore[return-value]

    return decorate


def count_result(counter: Counter) -> Callable[[F], F]:
    """Count each call under `outcome` = the string the decorated function returns."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = func(*args, **kwargs)
            counter.labels(outcome=str(result)).inc()
            return result

        return counted  # type: ignore[return-value]

    return decorate


# --- computed at scrape time ----------------------------------------------------------------------

# Due deliveries of every merchant, from the public queue: one scan of the due_at index, never
# a query per merchant.
_BACKLOG_SQL = """
SELECT count(*), EXTRACT(EPOCH FROM (statement_timestamp() - min(due_at)))
FROM webhooks_due_delivery WHERE due_at <= statement_timestamp()
"""


def _webhook_backlog() -> Iterator[Metric]:
    """The backlog gauges, and superpayment_database_up (0: PostgreSQL did not answer, and the
    backlog is not reported rather than reported as 0)."""
    from django.db import DatabaseError, connection

    try:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(_BACKLOG_SQL)
            count, oldest = cursor.fetchone()
    except DatabaseError:
        yield GaugeMetricFamily("superpayment_database_up", "1 when PostgreSQL answered.", value=0)
        return
    yield GaugeMetricFamily("superpayment_database_up", "1 when PostgreSQL answered.", value=1)
    yield GaugeMetricFamily(
        "superpayment_webhook_backlog",
        "Webhook deliveries due now (every merchant), waiting for an attempt.",
        value=count,
    )
    yield GaugeMetricFamily(
        "superpayment_webhook_oldest_due_age_seconds",
        "How long the oldest due webhook delivery has been due (0: none due).",
        value=float(oldest or 0),
    )


def _celery_queues() -> list[str]:
    from django.conf import settings

    # Webhook deliveries have no queue of their own: they wait in PostgreSQL (the backlog).
    return [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]


def _celery_queue_lengths() -> Iterator[Metric]:
    """LLEN of each Celery queue in Redis (the broker's lists), with a short timeout: Redis down
    is reported as superpayment_celery_broker_up 0, never as a failed scrape."""
    import redis
    from django.conf import settings

    queues = _celery_queues()
    lengths = GaugeMetricFamily(
        "superpayment_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    up = 1
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        with client:
            pipe = client.pipeline(transaction=False)
            for queue in queues:
                pipe.llen(queue)
            for queue, length in zip(queues, pipe.execute(), strict=True):
                lengths.add_metric([queue], length)
    except (redis.RedisError, OSError):
        up = 0
    yield lengths
    yield GaugeMetricFamily(
        "superpayment_celery_broker_up", "1 when the Celery broker (Redis) answered.", value=up
    )


class ProductCollector:
    """The figures read from PostgreSQL and Redis at each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from _webhook_backlog()
        yield from _celery_queue_lengths()


class _ProcessMetrics:
    """This process's own metrics, when not in multiprocess mode (tests, runserver)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """Every process's counters and histograms: summed from PROMETHEUS_MULTIPROC_DIR in
    multiprocess mode, else this process's own."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_enabled():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    return registry


def metrics_view(request: Any) -> Any:
    """GET /metrics for Prometheus, behind a bearer token (METRICS_TOKEN)."""
    from django.conf import settings
    from django.http import Http404, HttpResponse

    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: METRICS_TOKEN is not set")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = process_registry()
    registry.register(ProductCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Answers GET /metrics before any other middleware: Prometheus scrapes pods by address, so
    the request must not reach Host validation (CommonMiddleware) or sessions; the bearer token
    is the protection."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path == "/metrics":
            return metrics_view(request)
        return self.get_response(request)


def worker_metrics_serve(port: int) -> None:
    """Serve a Celery worker's metrics (all its pool processes) on `port`, for an internal
    scrape only: no token, so the port must not be exposed (k8s: no Service, a NetworkPolicy)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr="0.0.0.0", registry=process_registry())  # noqa: S104
