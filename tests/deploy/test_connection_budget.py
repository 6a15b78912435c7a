"""The connection budget: every database connection the autoscalers' maxima may open fits the
server's max_connections, and the docs state the same arithmetic (docs/deploying.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from superpayment.embedded import MAX_CONNECTIONS
from tests.deploy import files
from tests.processes import ROOT

# superuser_reserved_connections (3, PostgreSQL's default) plus operators: psql, a per-merchant
# export, monitoring, the backup agent (docs/deploying.md).
HEADROOM = 3 + 10


@dataclass(frozen=True)
class Share:
    what: str
    pods: int
    per_pod: int

    @property
    def connections(self) -> int:
        return self.pods * self.per_pod


def _max_replicas(name: str) -> int:
    return files.one("HorizontalPodAutoscaler", name).doc["spec"]["maxReplicas"]


def _container(kind: str, name: str) -> dict:
    return files.pod_spec(files.one(kind, name))["containers"][0]


def _option(argv: list[str], name: str) -> int:
    return int(argv[argv.index(name) + 1])


def _processes(container: dict, config: dict[str, str]) -> int:
    """Processes a job runs at once: a `*PROCESSES*` variable if it sets one, else 1."""
    env = {item["name"]: item.get("value", "") for item in container.get("env", [])}
    counts = [int(v) for k, v in {**config, **env}.items() if "PROCESSES" in k and v.isdigit()]
    return max(counts, default=1)


def budget_from_k8s() -> list[Share]:
    config = files.config_map_data()
    threads = int(config.get("GUNICORN_THREADS", "1"))
    worker = _container("Deployment", "superpayment-worker")["command"]
    webhooks = _container("Deployment", "superpayment-webhooks-worker")["command"]
    beat = files.one("Deployment", "superpayment-beat").doc["spec"]["replicas"]
    migrate = _container("Job", "superpayment-migrate")
    return [
        Share("web", _max_replicas("superpayment-web"), int(config["WEB_CONCURRENCY"]) * threads),
        Share("worker", _max_replicas("superpayment-worker"), _option(worker, "--concurrency")),
        Share(
            "webhooks worker",
            _max_replicas("superpayment-webhooks-worker"),
            _option(webhooks, "--threads") + 1,  # one per thread, and the dispatcher's own
        ),
        Share("beat", beat, 1),
        Share("migrate", 1, _processes(migrate, config)),
        Share("headroom", 1, HEADROOM),
    ]


def test_the_embedded_server_covers_the_autoscaling_maxima():
    need = sum(share.connections for share in budget_from_k8s())
    assert need <= MAX_CONNECTIONS, budget_from_k8s()


def test_compose_postgres_allows_the_same_budget():
    command = files.compose()["services"]["postgres"]["command"]
    settings = dict(arg.split("=", 1) for arg in command if "=" in arg)
    assert int(settings["max_connections"]) == MAX_CONNECTIONS


def test_the_docs_state_the_budget_the_files_give():
    text = (ROOT / "docs" / "deploying.md").read_text()
    need = sum(share.connections for share in budget_from_k8s())
    assert re.search(rf"= \*\*{need}\*\* connections", text), f"docs/deploying.md: = **{need}**"
    assert f"max_connections = {MAX_CONNECTIONS}" in text
    for share in budget_from_k8s():
        assert f"| {share.what} | {share.pods} | {share.per_pod} | {share.connections} |" in text
