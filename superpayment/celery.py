"""The Celery app. Tasks that touch merchant data are declared with `tenant_task`."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from typing import Any

import structlog
from celery import Celery, bootsteps, signals
from celery.beat import PersistentScheduler

from superpayment import heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
# A worker serving metrics (METRICS_PORT) sums its pool processes' values through files: the
# folder must be named before prometheus_client is first imported (superpayment.metrics).
if os.environ.get("METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sp-worker-metrics-")

app = Celery("superpayment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Merchant schemas this worker process has already checked: a schema is checked once per process,
# not on every message (two round trips on hot tasks such as webhook deliveries).
_checked_schemas: set[str] = set()


def tenant_task(*task_args: Any, **task_options: Any) -> Callable:
    """Declare a task that runs inside one merchant's schema.

    The schema travels explicitly as the task's first argument (`schema_name`) and is activated
    in the worker for the task's duration; a plain Celery task would run in the public schema.
    An unknown or public schema is refused; a merchant dropped after its check only makes the
    task fail on its tables.
    """

    def decorate(func: Callable) -> Any:
        @functools.wraps(func)
        def run_in_schema(schema_name: str, *args: Any, **kwargs: Any) -> Any:
            from django_tenants.utils import schema_context

            from tenants.services import merchant_schema_assert_exists

            if schema_name not in _checked_schemas:
                merchant_schema_assert_exists(schema_name=schema_name)
                _checked_schemas.add(schema_name)
            with schema_context(schema_name):
                return func(*args, **kwargs)

        return app.task(*task_args, **task_options)(run_in_schema)

    return decorate


@signals.task_prerun.connect
def bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))


@signals.task_postrun.connect
def reset_task_context(**_: Any) -> None:
    from django.db import connection

    # A worker process reuses its connection: never let one task's schema leak into the next.
    connection.set_schema_to_public()
    structlog.contextvars.clear_contextvars()


@signals.setup_logging.connect
def use_django_logging(**_: Any) -> None:
    """Keep the structured logging configured by the settings instead of Celery's own."""


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Touches HEARTBEAT_FILE from the worker's timer. With the Redis transport the timer is
    driven by the worker's event loop (not a thread of its own), so a hung loop stops the beats;
    the liveness probe (superpayment/heartbeat.py) then fails."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.path = heartbeat.heartbeat_path()
        self.timer_entry = None

    def start(self, parent: Any) -> None:
        if self.path is not None:
            heartbeat.touch(self.path)
            self.timer_entry = parent.timer.call_repeatedly(
                heartbeat.INTERVAL_SECONDS, heartbeat.touch, (self.path,), priority=10
            )

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
        if self.path is not None:
            self.path.unlink(missing_ok=True)  # a stopped worker is not alive


app.steps["worker"].add(WorkerHeartbeat)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default beat scheduler, touching HEARTBEAT_FILE on every tick of its loop.
    CELERY_BEAT_MAX_LOOP_INTERVAL keeps ticks well inside the probe's maximum age."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        path = heartbeat.heartbeat_path()
        if path is not None:
            heartbeat.touch(path)
        return super().tick(*args, **kwargs)


@signals.worker_ready.connect
def serve_worker_metrics(**_: Any) -> None:
    """METRICS_PORT set: this worker's metrics (webhook deliveries among them) on that port."""
    port = os.environ.get("METRICS_PORT")
    if port:
        from superpayment.metrics import worker_metrics_serve

        worker_metrics_serve(int(port))
