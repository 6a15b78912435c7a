"""Liveness of the Celery worker and beat: a heartbeat file their main loops touch, and its probe.

A worker touches HEARTBEAT_FILE from its event loop's timer (a bootstep, superpayment.celery), and
beat on each tick of its scheduler: a process whose loop hangs stops touching it, though its pid
lives on. The probe, run by Kubernetes and docker compose, only looks at the file's age:

    python superpayment/heartbeat.py [--max-age SECONDS]     # exit 0 fresh, 1 stale or missing

It is run as a script, not with -m, so it imports nothing but the standard library (no Django,
no Celery: about 20 ms a probe instead of half a second). `celery inspect ping` would need the
broker and a free pool slot, so a busy or Redis-less worker would be killed for nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The loops touch the file every INTERVAL seconds; the probe accepts up to MAX_AGE, so six beats
# may be missed (a long garbage collection, a slow disk) before a process is called hung.
INTERVAL_SECONDS = 10.0
MAX_AGE_SECONDS = 60.0


def heartbeat_path() -> Path | None:
    """HEARTBEAT_FILE, or None: no heartbeat where nothing probes it (tests, `make run`)."""
    value = os.environ.get("HEARTBEAT_FILE", "").strip()
    return Path(value) if value else None


def touch(path: Path) -> None:
    path.touch()  # sets the modification time to now, creating the file if needed


def age_seconds(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-age", type=float, default=MAX_AGE_SECONDS)
    args = parser.parse_args(argv)
    path = heartbeat_path()
    if path is None:
        print("heartbeat: HEARTBEAT_FILE is not set", file=sys.stderr)
        return 1
    age = age_seconds(path)
    if age is None:
        print(f"heartbeat: {path} does not exist (not started yet, or stopped)", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"heartbeat: {path} is {age:.0f}s old (at most {args.max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
