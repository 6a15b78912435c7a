"""The project shell is not called `platform`: nothing at the root may shadow the stdlib."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import ROOT


def test_stdlib_platform_works_from_the_repo_root():
    result = subprocess.run(
        [sys.executable, "-c", "import uuid, platform; print(platform.system()); uuid.uuid4()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"


def test_no_module_named_platform_at_the_import_root():
    assert not (ROOT / "platform").exists()
    assert not (ROOT / "platform.py").exists()
