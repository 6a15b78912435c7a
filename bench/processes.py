"""Load from several processes that start together: each runs `target(*args, start_at, results)`
and puts exactly one outcome on `results`."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence

from django.db import connections


def processes_run(
    target: Callable, args_per_process: Sequence[tuple], *, start_in: float
) -> tuple[float, list]:
    """Fork one process per argument tuple, all told to start at the same moment (`start_in`
    seconds from now, time enough to fork and warm up); (that moment, their outcomes)."""
    connections.close_all()  # the children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + start_in
    processes = [
        context.Process(target=target, args=(*args, start_at, results)) for args in args_per_process
    ]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return start_at, outcomes
