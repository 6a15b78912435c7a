"""Helpers shared by the test suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections
from django_tenants.utils import schema_context

T = TypeVar("T")


def committed(fn: Callable[[], T], schema_name: str | None = None) -> T:
    """Run `fn` on a fresh connection in another thread, so what it writes is committed and
    visible to other processes (a Celery worker, a web server), unlike the test's own
    rolled-back transaction."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            if schema_name:
                with schema_context(schema_name):
                    outcome["value"] = fn()
            else:
                outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
