"""Keeps the processes of `make run` running: a child that dies is logged and started again.

The supervisor knows nothing of what its children are: a table of `Child` objects (programs
and embedded servers alike) is started in order, watched, restarted with capped exponential
backoff when one exits, and stopped in reverse order. A new entry in the launcher's process
table is supervised like the others.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from superpayment.embedded import EmbeddedUnavailable, kill_process_group, stop_process_group
from superpayment.embedded import die_with_parent as _die_with_parent


class Server(Protocol):
    """An embedded server (PostgreSQL, Redis): `start()` returns once it accepts connections."""

    process: subprocess.Popen | None

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Child(Protocol):
    name: str

    def start(self) -> int: ...

    def exit_code(self) -> int | None: ...

    def stop(self) -> None: ...

    def kill_leftovers(self) -> None: ...


@dataclass
class Program:
    """A program run in its own session, so stopping it also stops what it forked (gunicorn's
    workers, Celery's pool) and a killed one leaves no orphan behind."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    cwd: Path
    grace: float = 20.0
    process: subprocess.Popen | None = None

    def start(self) -> int:
        self.process = subprocess.Popen(
            self.argv,
            env=dict(self.env),
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return self.process.pid

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, signal.SIGTERM, self.grace)

    def kill_leftovers(self) -> None:
        if self.process is not None:
            kill_process_group(self.process)


@dataclass
class EmbeddedServer:
    """An embedded server, started again on the same port and data folder."""

    name: str
    server: Server

    def start(self) -> int:
        self.server.start()
        assert self.server.process is not None
        return self.server.process.pid

    def exit_code(self) -> int | None:
        process = self.server.process
        return None if process is None else process.poll()

    def stop(self) -> None:
        self.server.stop()

    def kill_leftovers(self) -> None:
        if self.server.process is not None:
            kill_process_group(self.server.process)


@dataclass(frozen=True)
class Backoff:
    """Delays before a restart: `first` doubling per crash in a row, at most `cap`. A child that
    ran `stable_after` seconds before it died starts a new row; `crash_loop` quick crashes in a
    row are reported as a crash loop."""

    first: float = 1.0
    cap: float = 30.0
    stable_after: float = 30.0
    crash_loop: int = 5

    def delay(self, crashes_in_a_row: int) -> float:
        return min(self.cap, self.first * 2 ** max(0, crashes_in_a_row - 1))


@dataclass
class _Watched:
    child: Child
    pid: int | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    crashes_in_a_row: int = 0
    restarts: int = 0


@dataclass
class Supervisor:
    say: Callable[[str], None]
    status_file: Path | None = None
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    _watched: list[_Watched] = field(default_factory=list)

    def add(self, child: Child, first_start_may_fail: bool = True) -> None:
        """Start `child` now (an embedded server is ready when this returns) and watch it.
        With `first_start_may_fail=False` a failing first start raises instead of retrying."""
        watched = _Watched(child)
        if not first_start_may_fail:
            watched.pid = child.start()
            watched.started_at = self.clock()
            self._watched.append(watched)
            self.say(f"{child.name} started (pid {watched.pid})")
            self._write_status()
            return
        self._watched.append(watched)
        self._start(watched)

    def pids(self) -> dict[str, int | None]:
        return {w.child.name: w.pid for w in self._watched}

    def tick(self) -> None:
        """Notice children that died and start those whose backoff has passed."""
        now = self.clock()
        for watched in self._watched:
            if watched.pid is not None:
                code = watched.child.exit_code()
                if code is not None:
                    self._died(watched, code, now)
            elif watched.restart_at is not None and now >= watched.restart_at:
                self._start(watched)

    def stop_all(self) -> None:
        """Stop every child: the programs all at once, then the embedded servers they use, the
        last started first."""
        for watched in self._watched:
            watched.restart_at = None
        programs = [w for w in self._watched if not isinstance(w.child, EmbeddedServer)]
        servers = [w for w in self._watched if isinstance(w.child, EmbeddedServer)]
        if programs:
            with ThreadPoolExecutor(max_workers=len(programs)) as pool:
                list(pool.map(lambda watched: watched.child.stop(), programs))
        for watched in reversed(servers):
            watched.child.stop()
        for watched in self._watched:
            watched.pid = None
        self._write_status()

    def _start(self, watched: _Watched) -> None:
        name = watched.child.name
        watched.restart_at = None
        watched.started_at = self.clock()
        try:
            watched.pid = watched.child.start()
        except (EmbeddedUnavailable, OSError, subprocess.SubprocessError) as exc:
            watched.pid = None
            self.say(f"{name} did not start: {str(exc).strip()}")
            self._schedule_restart(watched, self.clock())
            return
        verb = "restarted" if watched.restarts else "started"
        self.say(f"{name} {verb} (pid {watched.pid})")
        self._write_status()

    def _died(self, watched: _Watched, code: int, now: float) -> None:
        name = watched.child.name
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        self.say(f"{name} (pid {watched.pid}) {how}")
        # Whatever it forked (a pool, backends) goes with it, or it would hold the port.
        watched.child.kill_leftovers()
        watched.pid = None
        self._schedule_restart(watched, now)

    def _schedule_restart(self, watched: _Watched, now: float) -> None:
        if now - watched.started_at >= self.backoff.stable_after:
            watched.crashes_in_a_row = 1
        else:
            watched.crashes_in_a_row += 1
        delay = self.backoff.delay(watched.crashes_in_a_row)
        watched.restart_at = now + delay
        watched.restarts += 1
        name = watched.child.name
        if watched.crashes_in_a_row == self.backoff.crash_loop:
            self.say(
                f"{name} KEEPS CRASHING: {watched.crashes_in_a_row} times in a row within "
                f"{self.backoff.stable_after:.0f}s of starting. Its own output above says why; "
                f"still retrying every {self.backoff.cap:g}s at most. Ctrl-C stops everything."
            )
        self.say(f"restarting {name} in {delay:g}s")
        self._write_status()

    def _write_status(self) -> None:
        """{name: pid or null} of every child, for operators and tests to see who runs."""
        if self.status_file is not None:
            tmp = self.status_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.pids()))
            tmp.replace(self.status_file)
