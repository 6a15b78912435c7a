"""docker-compose.yml follows the Compose specification and starts the whole product in order."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from tests.deploy import files

# The Compose specification's JSON schema, vendored (origin and licence: README.md beside it).
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
APP_SERVICES = {"migrate", "web", "worker", "webhooks-worker", "beat"}


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_validates_against_the_compose_specification():
    assert _errors(files.compose()) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda doc: doc["services"]["web"]["healthcheck"].update(intervall="5s"),
        lambda doc: doc["services"]["web"]["depends_on"]["migrate"].update(condition="done"),
        lambda doc: doc["services"]["worker"].update(command={"celery": "worker"}),
        lambda doc: doc.update(volume={}),
    ],
)
def test_the_schema_catches_a_broken_compose_file(breakage):
    document = copy.deepcopy(files.compose())
    breakage(document)
    assert _errors(document)


def test_services_of_the_product_and_its_dependencies():
    services = files.compose()["services"]
    assert set(files.compose_app_services()) == APP_SERVICES
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["stripe-mock"]["image"].startswith("stripe/stripe-mock:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    for name, service in services.items():
        if "image" in service and name not in APP_SERVICES:
            assert not service["image"].endswith(":latest") and ":" in service["image"], name


def test_app_services_use_the_compose_servers_stripe_mock_and_mailpit():
    for name, service in files.compose_app_services().items():
        env = files.compose_environment(service)
        assert env["DATABASE_URL"].startswith("postgresql://"), name
        assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert env["REDIS_URL"].startswith("redis://redis:6379/"), name
        assert env["STRIPE_API_BASE"] == "http://stripe-mock:12111", name
        assert env["EMAIL_HOST"] == "mailpit" and env["EMAIL_PORT"] == "1025", name
        assert env["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend", name
        assert len(env["SECRET_KEY"]) >= 50, name


def test_start_order_waits_for_healthy_servers_and_the_finished_migration():
    services = files.compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "setup_platform", "--demo"]
    assert migrate["restart"] == "no"
    for name in ["web", "worker", "webhooks-worker", "beat"]:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target != name and target in services, f"{name} -> {target}"
            if rule["condition"] == "service_healthy":
                healthcheck = services[target].get("healthcheck", {})
                assert healthcheck.get("test") and not healthcheck.get("disable"), target
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_webhooks_worker_runs_the_dispatcher_and_stops_like_the_worker():
    services = files.compose()["services"]
    worker, webhooks = services["worker"], services["webhooks-worker"]
    command = webhooks["command"]
    assert command[:3] == ["python", "manage.py", "webhooks_dispatch"]
    assert int(command[command.index("--threads") + 1]) >= 2
    assert not {"-Q", "--queues", "--pool", "-P"} & set(worker["command"]), "default queue only"
    for key in ["stop_grace_period", "healthcheck", "depends_on", "environment", "image"]:
        assert webhooks.get(key) == worker.get(key), key


def test_web_is_published_and_probed_on_healthz():
    web = files.compose()["services"]["web"]
    assert "8000:8000" in web["ports"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "-m", "superpayment.healthcheck"]


def test_data_lives_in_named_volumes():
    document = files.compose()
    declared = set(document["volumes"])
    used = set()
    for service in document["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert not source.startswith((".", "/")), f"bind mount {volume}"
            used.add(source)
    assert used == declared == {"postgres-data", "redis-data"}


def test_workers_and_beat_are_probed_on_their_heartbeat():
    services = files.compose()["services"]
    for name in ["worker", "webhooks-worker", "beat"]:
        healthcheck = services[name]["healthcheck"]
        assert healthcheck["test"] == ["CMD", "python", "superpayment/heartbeat.py"], name
        assert files.compose_environment(services[name])["HEARTBEAT_FILE"] == "/tmp/heartbeat"
