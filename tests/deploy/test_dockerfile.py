"""The Dockerfile parses and builds what it claims; its build-time and health commands work here."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from superpayment.embedded import free_port, wait_for_port
from superpayment.healthcheck import probe_host
from tests.deploy import files
from tests.processes import BIN, ROOT

PINNED_IMAGE = re.compile(r"^[a-z0-9./-]+:\d+(\.\d+)+[a-z0-9.-]*$")


def _by(name: str, instructions: list[dict] | None = None) -> list[dict]:
    return [i for i in instructions or files.instructions() if i["instruction"] == name]


def test_dockerfile_is_multi_stage_from_pinned_base_images():
    args = {}
    for instruction in _by("ARG"):
        key, _, value = instruction["value"].partition("=")
        args[key] = value
    stages = []
    for instruction in _by("FROM"):
        image, _as, stage = instruction["value"].split()
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert PINNED_IMAGE.match(image), f"{image} is not pinned to a version tag"
        assert "@" not in image
        stages.append(stage)
    assert stages == ["python-deps", "runtime"]
    assert args["PYTHON_IMAGE"].startswith("python:3.11.")
    assert args["PYTHON_IMAGE"].endswith("-slim-bookworm")
    for copy in _by("COPY"):
        source_stage = re.match(r"--from=(\S+)", copy["value"])
        if source_stage:
            assert source_stage.group(1) in stages


def test_runtime_stage_runs_gunicorn_as_the_non_root_user_the_manifests_expect():
    runtime = files.final_stage_instructions()
    (user,) = _by("USER", runtime)
    uid, _, gid = user["value"].partition(":")
    assert uid == gid == "10001"
    for manifest in files.workloads():
        context = files.pod_spec(manifest)["securityContext"]
        assert context["runAsNonRoot"] is True
        assert str(context["runAsUser"]) == uid, manifest
    (cmd,) = _by("CMD", runtime)
    argv = files.exec_form(cmd["value"])
    assert argv[0] == "gunicorn" and "superpayment/gunicorn_conf.py" in argv
    (healthcheck,) = _by("HEALTHCHECK", runtime)
    assert "CMD [" in healthcheck["value"]
    assert files.image_env()["DJANGO_ENV"] == "production"


def test_dependencies_come_from_the_runtime_lock():
    deps_stage = [i["value"] for i in files.instructions() if i["instruction"] in {"COPY", "RUN"}]
    assert "requirements/base.txt /tmp/base.txt" in deps_stage
    installs = [value for value in deps_stage if "pip install" in value]
    assert any("-r /tmp/image-requirements.txt" in value for value in installs)
    assert any("/tmp/base.txt > /tmp/image-requirements.txt" in value for value in installs)


def test_the_image_builds_the_widget_before_collecting_static_files():
    runs = [i["value"] for i in _by("RUN", files.final_stage_instructions())]
    build = next(n for n, value in enumerate(runs) if value == "python -m widget.build")
    collect = next(n for n, value in enumerate(runs) if "collectstatic" in value)
    assert build < collect
    assert (ROOT / "widget" / "build.py").is_file()


def _collectstatic_run() -> tuple[dict[str, str], list[str]]:
    (run,) = [i for i in _by("RUN") if "collectstatic" in i["value"]]
    first_command = run["value"].split("&&")[0]
    tokens = shlex.split(first_command)
    env = {}
    while "=" in tokens[0]:
        key, _, value = tokens.pop(0).partition("=")
        env[key] = value
    return env, tokens


def test_build_time_collectstatic_runs_with_only_its_placeholder_values(tmp_path):
    env, argv = _collectstatic_run()
    assert env["DJANGO_ENV"] == "production"
    assert set(env) == {"DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"}
    assert argv[:3] == ["python", "manage.py", "collectstatic"]
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        env={**clean, **env, "STATIC_ROOT": str(tmp_path), "SUPERPAYMENT_VAR_DIR": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    hashed = manifest["paths"]["superpayment/site.css"]
    assert hashed != "superpayment/site.css"
    assert (tmp_path / hashed).exists()
    assert (tmp_path / "admin").is_dir()


def _pattern(pattern: str) -> re.Pattern:
    """A .dockerignore pattern: `**` spans folders, `*` and `?` stay within one name."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] in "*?":
            regex, i = regex + ("[^/]*" if pattern[i] == "*" else "[^/]"), i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.compile(regex + r"\Z")


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a path is out if it or a parent matches; the last match wins, `!` keeps."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        regex = _pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not keep
    return ignored


def test_dockerignore_keeps_the_product_and_drops_local_state():
    patterns = [
        line.strip()
        for line in files.DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["manage.py", "requirements/base.txt", "superpayment/gunicorn_conf.py", "templates"]
    needed += [p.name for p in ROOT.iterdir() if (p / "apps.py").exists()]
    needed += ["superpayment/static/superpayment/site.css", "Makefile"]
    for path in needed:
        assert not _ignored(path, patterns), f"{path} is left out of the build context"
    for path in [".git/HEAD", ".venv/bin/python", ".var/postgres", "tests/conftest.py"]:
        assert _ignored(path, patterns), f"{path} is sent to the build"
    assert _ignored("tenants/__pycache__/models.cpython-311.pyc", patterns)


@pytest.mark.parametrize(
    ("allowed", "host"),
    [([], "localhost"), (["pay.example.com", "x"], "pay.example.com"), ([".ex.com"], "ex.com")],
)
def test_probe_host_is_one_that_allowed_hosts_accepts(allowed, host):
    assert probe_host(allowed) == host
    assert probe_host(["*"]) == "localhost"


def _status(url: str, host: str) -> int:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_image_healthcheck_passes_against_production_gunicorn_and_fails_without_it(tmp_path):
    """The image's CMD in production mode; its HEALTHCHECK command answers 0, then 1 once down."""
    port = free_port()
    env = {
        **os.environ,
        **files.image_env(),
        "SECRET_KEY": "healthcheck-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "pay.example.com",
        "DATABASE_URL": "postgresql://check@127.0.0.1:9/superpayment",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "STATIC_ROOT": str(tmp_path),
        "SUPERPAYMENT_VAR_DIR": str(tmp_path),
    }
    (cmd,) = _by("CMD", files.final_stage_instructions())
    argv = list(files.exec_form(cmd["value"]))
    healthcheck = next(
        c.argv for c in files.declared_commands() if c.origin == "Dockerfile HEALTHCHECK"
    )
    assert healthcheck[:1] == ("python",)
    probe = [sys.executable, *healthcheck[1:]]
    web = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], env=env, cwd=ROOT)
    try:
        wait_for_port(port, timeout=30, proc=web)
        # Production refuses a Host outside ALLOWED_HOSTS, such as the bare address.
        assert _status(f"http://127.0.0.1:{port}/healthz", f"127.0.0.1:{port}") == 400
        assert _status(f"http://127.0.0.1:{port}/healthz", "pay.example.com") == 200
        assert subprocess.run(probe, env=env, cwd=ROOT, timeout=30).returncode == 0
    finally:
        web.terminate()
        web.wait(30)
    down = subprocess.run(probe, env=env, cwd=ROOT, timeout=30, capture_output=True, text=True)
    assert down.returncode == 1
    assert "healthz" in down.stderr
