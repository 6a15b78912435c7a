"""Readers for the deployment files: Kubernetes manifests, docker-compose.yml, the Dockerfile.

Each command those files run is extracted here, with where it comes from and the environment it
gets there, so the tests check what the files say rather than a copy of it.
"""

from __future__ import annotations

import io
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

from tests.processes import ROOT

K8S = ROOT / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
KUSTOMIZATION = "kustomization.yaml"
# The kustomizations a release applies: the migration job first, then the app.
K8S_ROOTS = [K8S / "migrate", K8S]
# Applied on its own, where the Prometheus Operator's CRDs are installed.
K8S_MONITORING = K8S / "monitoring"
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
WORKLOAD_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}
APP_IMAGE = "superpayment"


@dataclass(frozen=True)
class Manifest:
    path: Path
    doc: dict

    @property
    def kind(self) -> str:
        return self.doc["kind"]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.kind}/{self.name}"


@dataclass(frozen=True)
class DeclaredCommand:
    origin: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.origin}: {shlex.join(self.argv)}"


# --- Kubernetes -------------------------------------------------------------------------------


def k8s_yaml_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def manifests() -> list[Manifest]:
    found = []
    for path in k8s_yaml_files():
        if path.name == KUSTOMIZATION:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                found.append(Manifest(path, doc))
    return found


def kustomization_resources(root: Path) -> list[Path]:
    """Every manifest file a kustomization builds, following directory resources."""
    kustomization = yaml.safe_load((root / KUSTOMIZATION).read_text())
    files = []
    for entry in kustomization.get("resources", []):
        target = (root / entry).resolve()
        if target.is_dir():
            files.extend(kustomization_resources(target))
        else:
            files.append(target)
    return files


def by_kind(kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests() if manifest.kind == kind]


def one(kind: str, name: str) -> Manifest:
    matches = [manifest for manifest in by_kind(kind) if manifest.name == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(manifest: Manifest) -> dict:
    return manifest.doc["spec"]["template"]["spec"]


def pod_labels(manifest: Manifest) -> dict:
    return manifest.doc["spec"]["template"]["metadata"]["labels"]


def workloads() -> list[Manifest]:
    return [manifest for manifest in manifests() if manifest.kind in WORKLOAD_KINDS]


def config_map_data() -> dict[str, str]:
    data: dict[str, str] = {}
    for manifest in by_kind("ConfigMap"):
        data.update(manifest.doc.get("data", {}))
    return data


# --- docker-compose ---------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_app_services() -> dict[str, dict]:
    """The services that run this repository's image (built here)."""
    return {name: svc for name, svc in compose()["services"].items() if "build" in svc}


def compose_environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _argv(command: str | list[str]) -> tuple[str, ...]:
    return tuple(shlex.split(command) if isinstance(command, str) else command)


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile() -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(DOCKERFILE.read_bytes()), env_replace=False)


def instructions() -> list[dict]:
    return dockerfile().structure


def final_stage_instructions() -> list[dict]:
    found: list[dict] = []
    for instruction in instructions():
        if instruction["instruction"] == "FROM":
            found = []
        found.append(instruction)
    return found


def image_env() -> dict[str, str]:
    """ENV of the final stage, as the image's processes see it (before compose/k8s overrides)."""
    env: dict[str, str] = {}
    for instruction in final_stage_instructions():
        if instruction["instruction"] == "ENV":
            for token in shlex.split(instruction["value"]):
                key, _, value = token.partition("=")
                env[key] = value.replace("$PATH", "").rstrip(":")
    env.pop("PATH", None)  # the image's virtualenv; the tests run this checkout's
    return env


def exec_form(value: str) -> tuple[str, ...]:
    argv = json.loads(value)
    assert isinstance(argv, list) and all(isinstance(arg, str) for arg in argv), value
    return tuple(argv)


# --- every command the deployment files run ---------------------------------------------------

# Placeholders for what a deployment supplies at run time (the Secret's keys; ALLOWED_HOSTS for
# the bare image): enough for the production settings to import. Nothing connects to them while
# a command only checks its configuration.
RUNTIME_PLACEHOLDERS = {
    "ALLOWED_HOSTS": "pay.example.com",
    "SECRET_KEY": "deploy-check-placeholder-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DATABASE_URL": "postgresql://check@127.0.0.1:9/superpayment",
    "REDIS_URL": "redis://127.0.0.1:9/0",
}


def declared_commands() -> list[DeclaredCommand]:
    commands: list[DeclaredCommand] = []
    base_env = image_env()
    docker_run_env = {**base_env, **RUNTIME_PLACEHOLDERS}

    default_cmd: tuple[str, ...] = ()
    for instruction in final_stage_instructions():
        if instruction["instruction"] == "CMD":
            default_cmd = exec_form(instruction["value"])
            commands.append(DeclaredCommand("Dockerfile CMD", default_cmd, docker_run_env))
        if instruction["instruction"] == "HEALTHCHECK":
            _, _, argv = instruction["value"].partition("CMD")
            commands.append(
                DeclaredCommand("Dockerfile HEALTHCHECK", exec_form(argv.strip()), docker_run_env)
            )

    k8s_env = {**docker_run_env, **config_map_data()}
    for manifest in workloads():
        for container in pod_spec(manifest)["containers"]:
            env = {**k8s_env, **{e["name"]: e["value"] for e in container.get("env", [])}}
            argv = tuple(container.get("command", [])) + tuple(container.get("args", []))
            commands.append(DeclaredCommand(f"{manifest}", argv or default_cmd, env))
            pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec")
            if pre_stop:
                commands.append(DeclaredCommand(f"{manifest} preStop", _argv(pre_stop["command"])))
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
                probe_exec = container.get(probe, {}).get("exec")
                if probe_exec:
                    origin = f"{manifest} {probe}"
                    commands.append(DeclaredCommand(origin, _argv(probe_exec["command"]), env))

    for name, service in compose_app_services().items():
        env = {**base_env, **compose_environment(service)}
        argv = _argv(service["command"]) if "command" in service else default_cmd
        commands.append(DeclaredCommand(f"docker-compose {name}", argv, env))
        test = service.get("healthcheck", {}).get("test")
        if test:
            assert test[0] == "CMD", f"docker-compose {name}: healthcheck must be exec form"
            commands.append(DeclaredCommand(f"docker-compose {name} healthcheck", _argv(test[1:])))
    return commands
