from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.processes import ROOT

HOLD_LOCK = (
    "import sys, time; from pathlib import Path; "
    "from superpayment.launcher import single_instance; "
    "ctx = single_instance(Path(sys.argv[1]) / 'run.lock'); ctx.__enter__(); "
    "print('locked', flush=True); time.sleep(60)"
)


def test_a_second_make_run_says_one_is_running_and_touches_nothing(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "superpayment.launcher", "run"],
            cwd=ROOT,
            env={**os.environ, "SUPERPAYMENT_VAR_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1
    assert "already running" in second.stdout
    assert f"pid {holder.pid}" in second.stdout
    assert time.monotonic() - started < 30
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.lock"]
