"""k8s/ validates against the Kubernetes schemas offline and wires its objects together."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

from tests.deploy import files
from tests.deploy.files import one, pod_labels, pod_spec

# The oldest Kubernetes minor version the manifests must run on (EKS standard support).
KUBERNETES_VERSION = "1.31"
MANIFESTS = files.manifests()
# The Prometheus Operator's kinds are CRDs, outside the Kubernetes schemas: test_monitoring.py.
CORE_MANIFESTS = [m for m in MANIFESTS if m.kind not in files.MONITORING_KINDS]
SECRET_NAME = "superpayment-secrets"
WEB, WORKER, BEAT = "superpayment-web", "superpayment-worker", "superpayment-beat"
WEBHOOKS_WORKER = "superpayment-webhooks-worker"


@pytest.mark.parametrize("manifest", CORE_MANIFESTS, ids=str)
def test_manifest_validates_strictly_against_the_kubernetes_schema(manifest):
    kubernetes_validate.validate(manifest.doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field_and_a_wrong_type():
    deployment = copy.deepcopy(one("Deployment", WEB).doc)
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    hpa = copy.deepcopy(one("HorizontalPodAutoscaler", WEB).doc)
    hpa["spec"]["minReplicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)


def test_every_manifest_belongs_to_exactly_one_release_step():
    """The migration job's kustomization and the app's share only base/; the job is not in the
    app's, so it runs (and completes) before the rollout."""
    migrate, app = (set(files.kustomization_resources(root)) for root in files.K8S_ROOTS)
    for path in migrate | app:
        assert path.exists(), path
    shared = migrate & app
    assert all(path.parent.name == "base" for path in shared)
    monitoring = set(files.kustomization_resources(files.K8S_MONITORING))
    assert not monitoring & (migrate | app), "monitoring is applied on its own"
    manifest_files = {m.path.resolve() for m in files.manifests()}
    assert migrate | app | monitoring == manifest_files
    assert {m.path.resolve() for m in files.by_kind("Job")} <= migrate - app
    images = set()
    for root in files.K8S_ROOTS:
        kustomization = yaml.safe_load((root / files.KUSTOMIZATION).read_text())
        assert kustomization["namespace"] == "superpayment"
        images |= {image["name"] for image in kustomization["images"]}
    for manifest in files.workloads():
        for container in pod_spec(manifest)["containers"]:
            assert container["image"] in images, manifest


def test_no_secret_values_in_git_and_every_reference_is_documented():
    assert files.by_kind("Secret") == []
    config_maps = {m.name for m in files.by_kind("ConfigMap")}
    howto = (files.K8S / "base" / "configmap.yaml").read_text()
    assert f"kubectl -n superpayment create secret generic {SECRET_NAME}" in howto
    for manifest in files.workloads():
        for container in pod_spec(manifest)["containers"]:
            sources = container["envFrom"]
            assert {"configMapRef": {"name": "superpayment-config"}} in sources
            for source in sources:
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == SECRET_NAME
                else:
                    assert source["configMapRef"]["name"] in config_maps
    for key in ["SECRET_KEY", "DATABASE_URL", "REPLICA_DATABASE_URL", "REDIS_URL"]:
        assert f"--from-literal={key}=" in howto


def test_every_pod_runs_as_non_root_with_limits_and_a_read_only_root():
    for manifest in files.workloads():
        spec = pod_spec(manifest)
        assert spec["securityContext"]["runAsNonRoot"] is True, manifest
        assert spec["automountServiceAccountToken"] is False, manifest
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, manifest
            assert context["readOnlyRootFilesystem"] is True, manifest
            assert context["capabilities"]["drop"] == ["ALL"], manifest
            for kind in ["requests", "limits"]:
                assert set(container["resources"][kind]) == {"cpu", "memory"}, manifest
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{manifest}: /tmp must be writable"


def test_web_probes_readiness_and_liveness_on_the_served_host():
    web = one("Deployment", WEB)
    (container,) = pod_spec(web)["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    allowed_hosts = files.config_map_data()["ALLOWED_HOSTS"].split(",")
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
        http_get = container[probe]["httpGet"]
        assert http_get["port"] in ports
        hosts = [h["value"] for h in http_get["httpHeaders"] if h["name"] == "Host"]
        assert hosts and hosts[0] in allowed_hosts, probe
    env = {e["name"]: e["value"] for e in container["env"]}
    assert ports["http"] == int(env["PORT"])
    graceful = int(files.config_map_data()["GUNICORN_GRACEFUL_TIMEOUT"])
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pre_stop + graceful < pod_spec(web)["terminationGracePeriodSeconds"]


def test_web_and_workers_scale_on_cpu_and_beat_stays_single():
    hpas = {
        hpa.doc["spec"]["scaleTargetRef"]["name"]: hpa.doc
        for hpa in files.by_kind("HorizontalPodAutoscaler")
    }
    assert set(hpas) == {WEB, WORKER, WEBHOOKS_WORKER}
    for name, hpa in hpas.items():
        deployment = one("Deployment", name).doc
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert "replicas" not in deployment["spec"], f"{name}: an apply would reset the HPA"
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert hpa["spec"]["minReplicas"] >= 2
    beat = one("Deployment", BEAT).doc["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"] == {"type": "Recreate"}


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_each_deployment_selects_its_own_pods_only():
    deployments = files.by_kind("Deployment")
    assert {WEB, WORKER, WEBHOOKS_WORKER, BEAT} <= {d.name for d in deployments}
    for deployment in deployments:
        selector = deployment.doc["spec"]["selector"]["matchLabels"]
        for other in deployments:
            selected = _selects(selector, pod_labels(other))
            assert selected == (other is deployment), f"{deployment} selects {other}'s pods"


def _command(name: str) -> list[str]:
    (container,) = pod_spec(one("Deployment", name))["containers"]
    return container["command"]


def test_the_webhooks_worker_runs_the_dispatcher_beside_the_worker():
    """Same pods as the worker (image, configuration, security, shutdown), but running the
    webhooks dispatcher with its threads set explicitly; the worker keeps Celery's default
    queue."""
    command = _command(WEBHOOKS_WORKER)
    assert command[:3] == ["python", "manage.py", "webhooks_dispatch"]
    assert int(command[command.index("--threads") + 1]) >= 2
    worker_command = _command(WORKER)
    assert not {"-Q", "--queues", "--pool", "-P"} & set(worker_command), "default queue, prefork"

    def without_container_specifics(name: str) -> dict:
        spec = copy.deepcopy(pod_spec(one("Deployment", name)))
        for container in spec["containers"]:
            for key in ["name", "command", "resources"]:
                container.pop(key)
        return spec

    assert without_container_specifics(WEBHOOKS_WORKER) == without_container_specifics(WORKER)


def test_service_pdb_and_ingress_point_at_the_web_pods():
    web_labels = pod_labels(one("Deployment", WEB))
    (container,) = pod_spec(one("Deployment", WEB))["containers"]
    port_names = {port["name"] for port in container["ports"]}
    service = one("Service", WEB).doc["spec"]
    assert _selects(service["selector"], web_labels)
    assert all(port["targetPort"] in port_names for port in service["ports"])
    pdb = one("PodDisruptionBudget", WEB).doc["spec"]
    assert _selects(pdb["selector"]["matchLabels"], web_labels)
    assert pdb["minAvailable"] < one("HorizontalPodAutoscaler", WEB).doc["spec"]["minReplicas"]
    service_ports = {port["name"] for port in service["ports"]}
    paths = {}
    for ingress in files.by_kind("Ingress"):
        spec = ingress.doc["spec"]
        tls_hosts = {host for tls in spec["tls"] for host in tls["hosts"]}
        for rule in spec["rules"]:
            assert rule["host"] in tls_hosts, f"{ingress}: {rule['host']} without TLS"
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == WEB and backend["port"]["name"] in service_ports
                paths[path["path"]] = ingress.doc["metadata"].get("annotations", {})
    assert {"/", "/static/", "/widget.js"} <= set(paths)
    snippet = "nginx.ingress.kubernetes.io/configuration-snippet"
    assert "max-age=31536000, immutable" in paths["/static/"][snippet]
    assert "s-maxage=" in paths["/widget.js"][snippet]


def test_network_policy_allows_only_database_redis_dns_and_https_out():
    policies = {m.name: m.doc["spec"] for m in files.by_kind("NetworkPolicy")}
    deny = policies["superpayment-default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    egress = policies["superpayment-egress"]
    for manifest in files.workloads():
        assert _selects(egress["podSelector"]["matchLabels"], pod_labels(manifest)), manifest
    allowed = {(p["protocol"], p["port"]) for rule in egress["egress"] for p in rule["ports"]}
    assert allowed == {
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 5432),
        ("TCP", 6379),
        ("TCP", 443),
        ("TCP", 587),
    }
    for rule in egress["egress"]:
        ports = {p["port"] for p in rule["ports"]}
        cidrs = [peer["ipBlock"]["cidr"] for peer in rule["to"] if "ipBlock" in peer]
        if ports & {5432, 6379}:
            assert "0.0.0.0/0" not in cidrs, "the databases are reachable in private ranges only"
        if "0.0.0.0/0" in cidrs:
            assert ports <= {443, 587}
    web_in = policies["superpayment-web-ingress"]
    assert _selects(web_in["podSelector"]["matchLabels"], pod_labels(one("Deployment", WEB)))
    assert [p["port"] for rule in web_in["ingress"] for p in rule["ports"]] == [8000]


def test_the_migration_job_runs_setup_platform_once_per_release():
    job = one("Job", "superpayment-migrate").doc
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["command"] == ["python", "manage.py", "setup_platform"]
    assert job["spec"]["backoffLimit"] <= 3


HEARTBEAT_PROBE = ["python", "superpayment/heartbeat.py"]


def test_every_process_has_a_liveness_probe_that_sees_it_hang():
    """web answers /healthz (above); the Celery worker, webhooks worker and beat have no port,
    so their loops touch HEARTBEAT_FILE (in the writable /tmp) and the probe reads its age."""
    for manifest in files.by_kind("Deployment"):
        for container in pod_spec(manifest)["containers"]:
            assert "livenessProbe" in container, manifest
            if container["command"][0] != "celery":
                continue
            for probe in ["startupProbe", "livenessProbe"]:
                assert container[probe]["exec"]["command"] == HEARTBEAT_PROBE, (manifest, probe)
            env = {e["name"]: e["value"] for e in container["env"]}
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert env["HEARTBEAT_FILE"].startswith("/tmp/") and "/tmp" in mounts, manifest
            liveness = container["livenessProbe"]
            assert liveness["timeoutSeconds"] >= 2, "the probe starts a Python interpreter"
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 60, manifest
    celery_containers = [
        name
        for name in [WORKER, WEBHOOKS_WORKER, BEAT]
        for container in pod_spec(one("Deployment", name))["containers"]
        if "exec" in container["livenessProbe"]
    ]
    assert celery_containers == [WORKER, WEBHOOKS_WORKER, BEAT]


def test_beat_ticks_well_within_the_probes_maximum_age():
    from django.conf import settings

    from superpayment import heartbeat

    assert settings.CELERY_BEAT_SCHEDULER == "superpayment.celery:HeartbeatScheduler"
    assert settings.CELERY_BEAT_MAX_LOOP_INTERVAL * 3 <= heartbeat.MAX_AGE_SECONDS
    assert heartbeat.INTERVAL_SECONDS * 3 <= heartbeat.MAX_AGE_SECONDS
