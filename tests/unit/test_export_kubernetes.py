"""`stackup export kubernetes`: what each manifest says, read back with yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stackup.config import Stack, load_stack
from stackup.config.explain import stack_to_dict
from stackup.errors import ConfigError, UsageError
from stackup.export import export
from stackup.export.kubernetes import WAIT_FOR_JOB_IMAGE, WAIT_FOR_PORT_IMAGE, dns_label
from tests.unit.test_export_stacks import ROOT, SPEC_EXAMPLE, rich_stack, with_images


def manifests(stack: Stack, services: list[str] | None = None) -> tuple[str, list[dict]]:
    text = export(stack, "kubernetes", list(services or stack.services))["kubernetes.yaml"]
    return text, [d for d in yaml.safe_load_all(text) if d]


def find(docs: list[dict], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def container(doc: dict) -> dict[str, Any]:
    (one,) = doc["spec"]["template"]["spec"]["containers"]
    return one


@pytest.fixture
def demo() -> Stack:
    return with_images(load_stack(ROOT / "stack.yaml", environ={}, profiles=("voice",)))


def test_objects_per_service_and_one_namespace(demo: Stack) -> None:
    _, docs = manifests(demo)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert kinds[:2] == [("Namespace", "demo"), ("ConfigMap", "demo-env")]
    for name in ("db", "backend", "backend2", "frontend", "voice"):
        assert ("Deployment", name) in kinds and ("Service", name) in kinds
    assert ("Job", "migrate") in kinds and ("Deployment", "migrate") not in kinds
    assert {d["metadata"].get("namespace", "demo") for d in docs} == {"demo"}
    backend = find(docs, "Service", "backend")
    assert backend["spec"]["ports"] == [{"port": 18000, "targetPort": 18000, "protocol": "TCP"}]
    deployment = find(docs, "Deployment", "backend")
    assert backend["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert container(deployment)["image"] == "registry.example.com/demo/backend:dev"
    assert container(deployment)["command"] == ["/bin/sh", "-c", "python3 examples/demo/backend.py"]
    job = find(docs, "Job", "migrate")
    assert container(job)["command"] == ["python3", "examples/demo/migrate.py"]  # argv kept
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_checks_become_probes(demo: Stack) -> None:
    _, docs = manifests(demo)
    backend = container(find(docs, "Deployment", "backend"))
    assert backend["readinessProbe"] == {
        "httpGet": {"path": "/api/health/", "port": 18000},
        "periodSeconds": 2,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    }
    assert backend["livenessProbe"] == backend["readinessProbe"]
    assert backend["startupProbe"]["failureThreshold"] == 60  # start_timeout 60s, every 1s
    backend2 = container(find(docs, "Deployment", "backend2"))
    assert backend2["readinessProbe"]["periodSeconds"] == 5  # interval: 5s
    voice = container(find(docs, "Deployment", "voice"))
    assert voice["readinessProbe"]["tcpSocket"] == {"port": 18080}
    spec = with_images(load_stack(SPEC_EXAMPLE, environ={}))
    _, docs = manifests(spec)
    db = container(find(docs, "Deployment", "db"))
    assert db["readinessProbe"]["exec"] == {
        "command": ["/bin/sh", "-c", "pg_isready -h 127.0.0.1 -p 5432"]
    }


def test_what_kubernetes_cannot_say_is_noted(demo: Stack) -> None:
    text, docs = manifests(demo)
    frontend = find(docs, "Deployment", "frontend")
    assert frontend["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 5
    assert "# frontend: stop_signal SIGINT: Kubernetes sends SIGTERM" in text
    assert "STOPSIGNAL SIGINT" in text
    # the db's log check: a tcp probe on its port stands in, and says so
    assert container(find(docs, "Deployment", "db"))["readinessProbe"]["tcpSocket"]
    assert "# db: the log check 'ready to accept connections' has no Kubernetes probe" in text
    assert "# backend2: stackup expects HTTP status 200" in text
    assert "# backend2: max_restarts 3 has no Kubernetes equivalent" in text


def test_dependencies_are_init_containers(demo: Stack) -> None:
    _, docs = manifests(demo)
    pod = find(docs, "Deployment", "backend2")["spec"]["template"]["spec"]
    waits = {c["name"]: c for c in pod["initContainers"]}
    assert set(waits) == {"wait-for-migrate", "wait-for-backend"}
    assert waits["wait-for-backend"]["image"] == WAIT_FOR_PORT_IMAGE
    assert "nc -z -w 1 backend 18000" in waits["wait-for-backend"]["command"][-1]
    assert waits["wait-for-migrate"]["image"] == WAIT_FOR_JOB_IMAGE
    assert waits["wait-for-migrate"]["command"][:4] == [
        "kubectl", "wait", "--for=condition=complete", "job/migrate"
    ]
    # waiting for a Job needs the right to read Jobs
    assert pod["serviceAccountName"] == "demo-wait-for-jobs"
    role = find(docs, "Role", "demo-wait-for-jobs")
    assert role["rules"][0]["resources"] == ["jobs"]
    binding = find(docs, "RoleBinding", "demo-wait-for-jobs")
    assert binding["subjects"][0]["name"] == "demo-wait-for-jobs"
    migrate = find(docs, "Job", "migrate")["spec"]["template"]["spec"]
    assert [c["name"] for c in migrate["initContainers"]] == ["wait-for-db"]
    # a service waiting for nothing gets no init container and no service account
    db = find(docs, "Deployment", "db")["spec"]["template"]["spec"]
    assert "initContainers" not in db and "serviceAccountName" not in db


def test_dependencies_outside_the_selection_are_dropped(demo: Stack) -> None:
    _, docs = manifests(demo, ["backend"])
    assert [d["kind"] for d in docs] == ["Namespace", "ConfigMap", "Deployment", "Service"]
    pod = find(docs, "Deployment", "backend")["spec"]["template"]["spec"]
    assert "initContainers" not in pod


def test_plain_env_in_a_configmap_secrets_by_reference(demo: Stack) -> None:
    text, docs = manifests(demo)
    data = find(docs, "ConfigMap", "demo-env")["data"]
    assert data["BACKEND_PORT"] == "18000" and data["PYTHONUNBUFFERED"] == "1"
    assert "DB_PASSWORD" not in data and "DATABASE_URL" not in data
    assert "devpassword" not in text
    env = container(find(docs, "Deployment", "backend"))["env"]
    names = [e["name"] for e in env]
    password = env[names.index("DB_PASSWORD")]
    assert password["valueFrom"] == {
        "secretKeyRef": {"name": "demo-secrets", "key": "DB_PASSWORD"}
    }
    url = env[names.index("DATABASE_URL")]
    assert url["value"] == "postgresql://demo:$(DB_PASSWORD)@127.0.0.1:15432/demo"
    # `$(DB_PASSWORD)` expands only from a variable defined before it
    assert names.index("DB_PASSWORD") < names.index("DATABASE_URL")
    assert {"name": "PORT", "value": "18000"} in env
    assert "kubectl -n demo create secret generic demo-secrets" in text


def test_rich_stack_refers_to_every_secret(tmp_path: Path) -> None:
    stack = with_images(rich_stack(tmp_path))
    text, docs = manifests(stack)
    assert find(docs, "Namespace", "demo-app")
    web = container(find(docs, "Deployment", "web"))
    # a secret from the process environment, inside an argv word
    assert web["command"] == ["serve", "--token=$(GH_TOKEN)", "a b"]
    refs = {e["name"] for e in web["env"] if "valueFrom" in e}
    assert {"GH_TOKEN", "SESSION_SECRET", "WEB_TOKEN", "STRIPE_API_KEY", "LEGACY_URL"} <= refs
    db = container(find(docs, "Deployment", "db"))
    assert db["readinessProbe"]["exec"]["command"] == ["pg_isready", "--password=$(DB_PASSWORD)"]
    task = container(find(docs, "Job", "task"))
    # `$(` is Kubernetes' expansion; a literal one is written `$$(`, `$` alone stays
    assert task["command"][-1] == "echo 100% && printf '%s' \"$HOME\""
    assert "# db: user postgres: set securityContext.runAsUser" in text
    assert "# web: stackup runs it in web/" in text
    assert "# worker: depends on db being started: Kubernetes starts every pod at once" in text
    assert "# task: worker has no port, so no Service to wait for" in text
    assert "initContainers" not in find(docs, "Job", "task")["spec"]["template"]["spec"]


def test_literal_expansion_syntax_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(
        "name: x\nservices:\n  app:\n    image: a:1\n    command: echo $$(date)\n"
        "    env: {GREETING: 'hi $$(USER)'}\n"
    )
    _, docs = manifests(load_stack(path, environ={}))
    app = container(find(docs, "Deployment", "app"))
    assert app["command"][-1] == "echo $$(date)"
    assert {"name": "GREETING", "value": "hi $$(USER)"} in app["env"]


def test_a_missing_image_is_a_one_line_error_naming_the_service(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  web:\n    image: a:1\n    command: a\n  api:\n    command: b\n")
    stack = load_stack(path, environ={})
    with pytest.raises(ConfigError) as info:
        export(stack, "kubernetes", ["web", "api"])
    assert info.value.line == 5 and info.value.key == "services.api"
    assert "export kubernetes needs the container image" in str(info.value)
    assert "\n" not in str(info.value)
    export(stack, "kubernetes", ["web"])  # only the selection needs one


def test_names_become_dns_labels(tmp_path: Path) -> None:
    assert dns_label("my_api") == "my-api"
    assert dns_label("Demo App") == "demo-app"
    path = tmp_path / "stack.yaml"
    path.write_text(
        "services:\n  my_api:\n    image: a:1\n    command: a\n"
        "  my-api:\n    image: a:1\n    command: b\n"
    )
    with pytest.raises(UsageError, match="my_api and my-api would both be named 'my-api'"):
        export(load_stack(path, environ={}), "kubernetes", ["my_api", "my-api"])


def test_image_is_interpolated_and_shown_by_config(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("services:\n  web:\n    image: acme/web:${TAG:-dev}\n    command: a\n")
    stack = load_stack(path, environ={"TAG": "1.4"})
    assert stack.services["web"].image == "acme/web:1.4"
    assert stack_to_dict(stack)["services"]["web"]["image"] == "acme/web:1.4"
