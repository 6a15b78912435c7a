"""k8s/monitoring: the Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule.

They are CRDs, which the Kubernetes schemas do not cover: their structure is checked here
against the operator's documented fields, they are wired to the objects they scrape, and every
metric an alert reads exists in a real scrape of /metrics.
"""

from __future__ import annotations

import re

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy import files
from tests.deploy.files import one, pod_labels, pod_spec

API_VERSION = "monitoring.coreos.com/v1"
SECRET_NAME = "superpayment-secrets"
ALERTS = {
    "SuperPaymentWebhookBacklogStale",
    "SuperPaymentHigh5xxRate",
    "SuperPaymentPaymentsErroring",
    "SuperPaymentPaymentsMostlyRefused",
    "SuperPaymentCeleryBrokerDown",
    "SuperPaymentDatabaseDown",
}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")


def _selects(selector: dict, labels: dict) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists), as Kubernetes evaluates them."""
    if not all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "NotIn" and labels.get(key) in expression["values"]:
            return False
        if operator == "Exists" and key not in labels:
            return False
    return True


def test_monitoring_objects_are_the_operators_kinds_in_the_namespace():
    kinds = {m.kind for m in files.manifests() if m.path.parent == files.K8S_MONITORING}
    assert kinds >= files.MONITORING_KINDS
    for kind in files.MONITORING_KINDS:
        for manifest in files.by_kind(kind):
            doc = manifest.doc
            assert doc["apiVersion"] == API_VERSION, manifest
            assert doc["metadata"]["namespace"] == "superpayment", manifest
            assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}, manifest
    kustomization = yaml.safe_load((files.K8S_MONITORING / files.KUSTOMIZATION).read_text())
    assert kustomization["namespace"] == "superpayment"


def test_the_service_monitor_scrapes_web_with_the_token_from_the_secret():
    monitor = one("ServiceMonitor", "superpayment-web").doc["spec"]
    service = one("Service", "superpayment-web").doc
    assert _selects(monitor["selector"], service["metadata"]["labels"])
    assert set(monitor) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    (endpoint,) = monitor["endpoints"]
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "authorization"}
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert DURATION.match(endpoint["interval"]) and DURATION.match(endpoint["scrapeTimeout"])
    assert endpoint["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": SECRET_NAME, "key": "METRICS_TOKEN"},
    }
    howto = (files.K8S / "base" / "configmap.yaml").read_text()
    assert "--from-literal=METRICS_TOKEN=" in howto


def test_the_pod_monitor_scrapes_each_celery_worker_on_its_metrics_port():
    monitor = one("PodMonitor", "superpayment-workers").doc["spec"]
    selected = {
        d.name for d in files.by_kind("Deployment") if _selects(monitor["selector"], pod_labels(d))
    }
    assert selected == {"superpayment-worker", "superpayment-webhooks-worker"}
    (endpoint,) = monitor["podMetricsEndpoints"]
    for name in selected:
        (container,) = pod_spec(one("Deployment", name))["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        env = {e["name"]: e["value"] for e in container["env"]}
        assert ports[endpoint["port"]] == int(env["METRICS_PORT"]), name
    policy = one("NetworkPolicy", "superpayment-metrics-ingress").doc["spec"]
    allowed = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert allowed == {8000, int(env["METRICS_PORT"])}
    (rule,) = policy["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    scraped = {
        d.name
        for d in files.by_kind("Deployment")
        if _selects(policy["podSelector"], pod_labels(d))
    }
    assert scraped == selected | {"superpayment-web"}


def _rules() -> list[dict]:
    rule = one("PrometheusRule", "superpayment").doc["spec"]
    return [r for group in rule["groups"] for r in group["rules"]]


def test_the_alerts_are_well_formed():
    spec = one("PrometheusRule", "superpayment").doc["spec"]
    assert set(spec) == {"groups"}
    for group in spec["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"], group
    rules = _rules()
    assert {rule["alert"] for rule in rules} == ALERTS
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert DURATION.match(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
    backlog = next(r for r in rules if r["alert"] == "SuperPaymentWebhookBacklogStale")
    assert backlog["expr"].endswith("> 300")  # due for more than 5 minutes


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:superpayment|django_http)_[a-z0-9_]+)\b", expr))


@pytest.mark.django_db
def test_every_metric_an_alert_reads_is_exported_and_documented(client, settings):
    settings.METRICS_TOKEN = "deploy-test-token"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer deploy-test-token")
    assert response.status_code == 200
    exported: set[str] = set()
    for family in text_string_to_metric_families(response.content.decode()):
        exported |= {family.name, f"{family.name}_total"}
        exported |= {sample.name for sample in family.samples}
    docs = (files.ROOT / "docs" / "deploying.md").read_text()
    for rule in _rules():
        for name in _metric_names(rule["expr"]):
            assert name in exported, f"{rule['alert']} reads {name}, which is not exported"
        assert f"`{rule['alert']}`" in docs, rule["alert"]
    product = {
        family.name
        for family in text_string_to_metric_families(response.content.decode())
        # prometheus_client's `_created` timestamps (not in multiprocess mode) are no metric.
        if family.name.startswith("superpayment_") and not family.name.endswith("_created")
    }
    assert len(product) >= 9
    for name in product:
        assert f"`{name}" in docs, f"docs/deploying.md does not list {name}"
