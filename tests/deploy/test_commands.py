"""Every command that the Dockerfile, docker-compose.yml and k8s/ run exists here and starts.

The commands are read from those files, so a manifest naming a program, option or management
command that this repository does not have fails here. Each one is started in the environment
its file gives it (the image's ENV, then compose's environment or the ConfigMap plus placeholder
secrets), in the mode that checks its configuration without serving.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
from django.core.management import CommandError

from tests.deploy.files import DeclaredCommand, declared_commands
from tests.processes import BIN, ROOT

COMMANDS = declared_commands()
# Utilities of the base image's Debian userland that manifests may call (preStop hooks).
OS_UTILITIES = {"sleep"}
# Where the deployment files run their processes: Kubernetes and docker compose.
DEPLOYMENTS = ["k8s", "docker-compose"]

# Celery's own command line, run up to where the worker or beat would start: the app (-A) is
# imported and every option is parsed and converted (an unknown option, a pool that does not exist
# or a concurrency that is not a number fail, which `--help` does not check). Instead of starting,
# it prints what the process would run with, including the queues the app's tasks are sent to.
CELERY_PARSE_ONLY = """
import json, sys
import click
from celery.bin.beat import beat
from celery.bin.celery import main
from celery.bin.worker import worker
from celery.concurrency import ALIASES
from celery.utils.nodenames import default_nodename

def parsed(subcommand):
    def report(**params):
        app = click.get_current_context().find_root().obj.app
        found = {
            "subcommand": subcommand,
            "default_queue": app.conf.task_default_queue,
        }
        if subcommand == "worker":
            pool = params["pool"]
            path = f"{pool.__module__}:{pool.__name__}"
            excluded = set(params["exclude_queues"] or [])
            queues = params["queues"] or list(app.amqp.queues)
            found.update(
                pool=next(alias for alias, target in ALIASES.items() if target == path),
                queues=[queue for queue in queues if queue not in excluded],
                concurrency=params["concurrency"],
                hostname=default_nodename(params["hostname"]),
            )
        print("PARSED " + json.dumps(found))
        sys.exit(0)
    return report

worker.callback = parsed("worker")
beat.callback = parsed("beat")
sys.argv[0] = "celery"
main()
"""


def _run(argv: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    full_env = {
        **os.environ,
        **env,
        # Paths of the image's filesystem, moved to a scratch folder outside the container.
        "STATIC_ROOT": str(tmp_path / "static"),
        "SUPERPAYMENT_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        argv, env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def _check_manage_py(command: DeclaredCommand, tmp_path) -> None:
    """`python manage.py NAME ARGS`: the command exists and accepts exactly these options."""
    assert command.argv[1] == "manage.py", command
    name, args = command.argv[2], list(command.argv[3:])
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    assert name in commands, f"{command}: no management command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(args)  # CommandError on an unknown option
    result = _run([sys.executable, "manage.py", name, "--help"], command.env, tmp_path)
    assert result.returncode == 0, f"{command}\n{result.stderr}"


def _check_python_module(command: DeclaredCommand) -> None:
    module = command.argv[2]
    assert importlib.util.find_spec(module) is not None, f"{command}: no module {module!r}"


def _check_python_script(command: DeclaredCommand, tmp_path) -> None:
    """`python path/to/script.py ARGS` (the heartbeat probe): the file is in the repository and
    runs with these arguments. Run on a heartbeat that is absent, it must say so (exit 1), not
    stop at its arguments (argparse's exit 2)."""
    script = ROOT / command.argv[1]
    assert script.is_file(), f"{command}: no file {command.argv[1]}"
    env = {**command.env, "HEARTBEAT_FILE": str(tmp_path / "absent")}
    result = _run([sys.executable, str(script), *command.argv[2:]], env, tmp_path)
    assert result.returncode == 1 and "does not exist" in result.stderr, f"{command}\n{result}"


def _check_gunicorn(command: DeclaredCommand, tmp_path) -> None:
    # --check-config loads the configuration file and the WSGI application, then exits.
    argv = [str(BIN / "gunicorn"), "--check-config", *command.argv[1:]]
    result = _run(argv, command.env, tmp_path)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def _celery_parse(command: DeclaredCommand, tmp_path) -> dict:
    """What a `celery` command would run with, as Celery parses it (nothing connects)."""
    argv = [sys.executable, "-c", CELERY_PARSE_ONLY, *command.argv[1:]]
    result = _run(argv, command.env, tmp_path)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("PARSED ")]
    return json.loads(line.removeprefix("PARSED "))


def _check_celery(command: DeclaredCommand, tmp_path) -> None:
    subcommands = [arg for arg in command.argv[1:] if arg in {"worker", "beat"}]
    assert subcommands, f"{command}: neither a worker nor beat"
    assert _celery_parse(command, tmp_path)["subcommand"] == subcommands[0], command


def _check(command: DeclaredCommand, tmp_path) -> None:
    program, *rest = command.argv
    if program == "gunicorn":
        _check_gunicorn(command, tmp_path)
    elif program == "celery":
        assert rest[:2] == ["-A", "superpayment"], f"{command}: the Celery app is superpayment"
        _check_celery(command, tmp_path)
    elif program == "python" and rest[:1] == ["manage.py"]:
        _check_manage_py(command, tmp_path)
    elif program == "python" and rest[:1] == ["-m"]:
        _check_python_module(command)
    elif program == "python" and rest[:1] and rest[0].endswith(".py"):
        _check_python_script(command, tmp_path)
    elif program in OS_UTILITIES:
        assert shutil.which(program), f"{command}: {program} is not installed"
    else:
        pytest.fail(f"{command}: no check knows how to start {program!r}; add one here")


def test_the_deployment_files_run_every_process():
    origins = " ".join(command.origin for command in COMMANDS)
    for expected in [
        "Dockerfile CMD",
        "Dockerfile HEALTHCHECK",
        "Job/superpayment-migrate",
        "Deployment/superpayment-worker",
        "Deployment/superpayment-webhooks-worker",
        "docker-compose worker",
        "docker-compose webhooks-worker",
    ]:
        assert expected in origins
    programs = {command.argv[:4] for command in COMMANDS}
    assert ("celery", "-A", "superpayment", "worker") in programs
    assert ("celery", "-A", "superpayment", "beat") in programs
    assert ("python", "manage.py", "setup_platform") in programs
    assert ("python", "manage.py", "setup_platform", "--demo") in programs


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_declared_command_starts(command, tmp_path):
    assert command.argv, f"{command.origin} runs no command"
    _check(command, tmp_path)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_one_celery_worker_per_queue_and_a_webhooks_dispatcher(deployment, tmp_path):
    """Every queue the app sends tasks to has exactly one prefork worker (CPU-bound tasks,
    Celery's time limits); webhook deliveries need no queue: a dispatcher process delivers them
    from the database, with its threads set explicitly."""
    commands = [command for command in COMMANDS if command.origin.startswith(deployment)]
    workers = {
        str(command): _celery_parse(command, tmp_path)
        for command in commands
        if command.argv[0] == "celery" and "worker" in command.argv[1:]
    }
    (general,) = workers.values()
    assert general["queues"] == [general["default_queue"]] and general["pool"] == "prefork"
    (dispatcher,) = [
        command.argv
        for command in commands
        if list(command.argv[:3]) == ["python", "manage.py", "webhooks_dispatch"]
    ]
    assert int(dispatcher[dispatcher.index("--threads") + 1]) >= 2


@pytest.mark.parametrize(
    "argv",
    [
        ("celery", "-A", "superpayment", "wrker"),
        ("celery", "-A", "superpayment", "worker", "--concurrancy", "2"),
        ("celery", "-A", "superpayment", "worker", "--pool", "thread"),
        ("python", "manage.py", "webhooks_dispatch", "--concurrency", "8"),
        ("celery", "-A", "superpayment", "worker", "--pool", "threads", "--concurrency", "eight"),
        ("celery", "-A", "superpaymnt", "beat"),
        ("gunicorn", "superpayment.wsgy:application", "-c", "superpayment/gunicorn_conf.py"),
        ("python", "manage.py", "setup_platfrom"),
        ("python", "manage.py", "setup_platform", "--demo-data"),
        ("python", "-m", "superpayment.helthcheck"),
        ("python", "superpayment/hearbeat.py"),
        ("python", "superpayment/heartbeat.py", "--max-agee", "60"),
        ("uvicorn", "superpayment.asgi:application"),
    ],
    ids=" ".join,
)
def test_a_misspelt_command_fails_its_check(argv, tmp_path):
    env = {"DJANGO_ENV": "development", "SECRET_KEY": "x" * 60}
    with pytest.raises((AssertionError, pytest.fail.Exception, CommandError)):
        _check(DeclaredCommand("a broken manifest", argv, env), tmp_path)
