"""`stackup export kubernetes`: manifests for one namespace per stack.

A Deployment (and a Service, when it has a port) per long-running service, a Job per
oneshot; checks become probes, `stop_timeout` the grace period, dependencies init
containers that wait for the dependency's Service (or, for a oneshot, its Job). The
stack's plain environment goes into a ConfigMap; a secret is never written: every
secret-looking value is a `secretKeyRef` into one Secret the user creates, and a
plain value that embeds one (a database URL) refers to it as `$(NAME)`, which
Kubernetes expands from the container's earlier variables. What Kubernetes cannot
say is written as a comment above the object it concerns.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from stackup.config.model import HealthCheck, Service, Stack
from stackup.errors import ConfigError, UsageError
from stackup.export.common import Ref, Secrets, Segment, header, service_env
from stackup.export.envfile import stack_environment

# Images of the helpers that wait for dependencies (replace them for a private registry).
WAIT_FOR_PORT_IMAGE = "busybox:1.36"
WAIT_FOR_JOB_IMAGE = "registry.k8s.io/kubectl:v1.32.8"
_LOOPBACK = re.compile(r"\b(127\.0\.0\.1|localhost|\[::1\])\b")


class _Dumper(yaml.SafeDumper):
    """No `&id001` anchors: a shared labels dict is written out each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dns_label(name: str) -> str:
    """A Kubernetes object name (RFC 1035 label): lowercase alphanumerics and `-`."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    if not label or not label[0].isalpha():
        label = ("s-" + label)[:63].rstrip("-")
    return label


class _Names:
    """Object names of the stack's services, refusing two that would be the same."""

    def __init__(self, services: list[str]) -> None:
        self.of: dict[str, str] = {}
        owner: dict[str, str] = {}
        for name in services:
            label = dns_label(name)
            if label in owner:
                raise UsageError(
                    f"services {owner[label]} and {name} would both be named {label!r} in"
                    " Kubernetes; rename one"
                )
            owner[label] = name
            self.of[name] = label


def _escape(text: str) -> str:
    # Kubernetes expands `$(VAR)` in env values, command and args; `$$(` is a literal.
    return text.replace("$(", "$$(")


def _render(segments: list[Segment]) -> str:
    """For env values, command and args, which Kubernetes expands."""
    return "".join(f"$({s.name})" if isinstance(s, Ref) else _escape(s) for s in segments)


def _literal(segments: list[Segment]) -> str:
    """For ConfigMap data, which is never expanded (and holds no refs)."""
    return "".join(s for s in segments if isinstance(s, str))


def _refs(segments: list[Segment]) -> set[str]:
    return {s.name for s in segments if isinstance(s, Ref)}


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


class _Export:
    def __init__(self, stack: Stack, services: list[str], secrets: Secrets) -> None:
        self.stack = stack
        self.selected = [name for name in stack.services if name in services]
        self.secrets = secrets
        self.namespace = dns_label(stack.name)
        self.names = _Names(self.selected).of
        self.configmap = f"{self.namespace}-env"
        self.secret = f"{self.namespace}-secrets"
        self.waiter = f"{self.namespace}-wait-for-jobs"
        self.secret_keys: set[str] = set()
        self.plain = self._plain_stack_env()

    # -- the stack-wide objects ---------------------------------------------------

    def _plain_stack_env(self) -> dict[str, str]:
        """The stack-wide variables that hold no secret: the ConfigMap."""
        out = {}
        for key, value in sorted(stack_environment(self.stack).items()):
            segments = self.secrets.entry(key, value)
            if not self.secrets.is_secret(key) and not _refs(segments):
                out[key] = _literal(segments)
        return out

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace, **extra}

    def _labels(self, service: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.names[service],
            "app.kubernetes.io/part-of": self.namespace,
        }

    def namespace_doc(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}

    def configmap_doc(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self._meta(self.configmap),
            "data": self.plain,
        }

    def job_waiter_docs(self) -> list[dict[str, Any]]:
        """Who may read Jobs: the init containers that wait for a oneshot to complete."""
        meta = self._meta(self.waiter)
        return [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": [
                    {
                        "apiGroups": ["batch"],
                        "resources": ["jobs"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": self.waiter,
                },
                "subjects": [
                    {"kind": "ServiceAccount", "name": self.waiter, "namespace": self.namespace}
                ],
            },
        ]

    # -- one service ------------------------------------------------------------

    def env(self, svc: Service, command_refs: set[str]) -> list[dict[str, Any]]:
        """The container's own variables: secrets by reference first (so the values
        after them can say `$(NAME)`), then what the ConfigMap does not already hold."""
        refs = set(command_refs)
        plain: list[dict[str, Any]] = []
        embedding: list[dict[str, Any]] = []
        for key, value in sorted(service_env(svc).items()):
            if self.secrets.is_secret(key):
                refs.add(key)
                continue
            segments = self.secrets.entry(key, value)
            if _refs(segments):
                refs |= _refs(segments)
                embedding.append({"name": key, "value": _render(segments)})
            elif self.plain.get(key) != _literal(segments):
                plain.append({"name": key, "value": _render(segments)})
        self.secret_keys |= refs
        by_ref = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": self.secret, "key": key}}}
            for key in sorted(refs)
        ]
        return by_ref + plain + embedding

    def command(self, svc: Service) -> tuple[list[str], set[str]]:
        if isinstance(svc.command, list):
            parts = [self.secrets.split(arg) for arg in svc.command]
            return [_render(p) for p in parts], set().union(*map(_refs, parts))
        segments = self.secrets.split(svc.command)
        return ["/bin/sh", "-c", _render(segments)], _refs(segments)

    def probe(self, check: HealthCheck, port: int | None) -> dict[str, Any] | None:
        if check.kind == "tcp":
            return {"tcpSocket": {"port": check.port or port}}
        if check.kind == "http":
            return {"httpGet": {"path": check.path, "port": check.port or port}}
        if check.kind == "command" and check.command is not None:
            cmd = check.command
            argv = cmd if isinstance(cmd, list) else ["/bin/sh", "-c", cmd]
            return {"exec": {"command": [_render(self.secrets.split(a)) for a in argv]}}
        return None

    def probes(self, svc: Service, notes: list[str]) -> dict[str, Any]:
        check = svc.health
        action = self.probe(check, svc.port)
        if action is None and check.kind == "log":
            if svc.port is not None:
                action = {"tcpSocket": {"port": svc.port}}
                notes.append(
                    f"the log check {check.pattern!r} has no Kubernetes probe: a tcpSocket"
                    " probe on its port stands in"
                )
            else:
                notes.append(
                    f"the log check {check.pattern!r} has no Kubernetes probe: the pod is"
                    " ready as soon as it runs"
                )
        if action is None:
            return {}
        timing = {
            "periodSeconds": _seconds(check.interval),
            "timeoutSeconds": _seconds(check.timeout),
            "failureThreshold": check.retries,
        }
        if check.kind == "http" and check.status is not None:
            notes.append(
                f"stackup expects HTTP status {check.status}; Kubernetes accepts any 200-399"
            )
        return {
            # start_timeout: until the first success, checked every second.
            "startupProbe": {
                **action,
                "periodSeconds": 1,
                "timeoutSeconds": timing["timeoutSeconds"],
                "failureThreshold": _seconds(check.start_timeout),
            },
            "readinessProbe": {**action, **timing},
            "livenessProbe": {**action, **timing},
        }

    def init_containers(self, svc: Service, notes: list[str]) -> list[dict[str, Any]]:
        out = []
        for dep in svc.depends_on:
            if dep.name not in self.selected:
                continue
            target = self.stack.services[dep.name]
            name = self.names[dep.name]
            if target.oneshot and dep.condition != "started":
                out.append(
                    {
                        "name": f"wait-for-{name}"[:63],
                        "image": WAIT_FOR_JOB_IMAGE,
                        "command": [
                            "kubectl", "wait", "--for=condition=complete", f"job/{name}",
                            f"--namespace={self.namespace}", "--timeout=10m",
                        ],
                    }
                )
            elif dep.condition == "started":
                notes.append(
                    f"depends on {dep.name} being started: Kubernetes starts every pod at"
                    " once, so nothing waits"
                )
            elif target.port is None:
                notes.append(
                    f"{dep.name} has no port, so no Service to wait for: this pod does not"
                    f" wait for it to be {dep.condition}"
                )
            else:
                wait = (
                    f"until nc -z -w 1 {name} {target.port}; do"
                    f" echo waiting for {name}:{target.port}; sleep 1; done"
                )
                out.append(
                    {
                        "name": f"wait-for-{name}"[:63],
                        "image": WAIT_FOR_PORT_IMAGE,
                        "command": ["sh", "-c", wait],
                    }
                )
        return out

    def service_notes(self, svc: Service) -> list[str]:
        notes = []
        if svc.stop_signal.name != "SIGTERM":
            notes.append(
                f"stop_signal {svc.stop_signal.name}: Kubernetes sends SIGTERM (or the image's"
                f" STOPSIGNAL); add `STOPSIGNAL {svc.stop_signal.name}` to the image"
            )
        if not svc.oneshot and svc.restart != "always":
            notes.append(
                f"restart policy {svc.restart!r}: a Deployment always restarts its container"
            )
        if svc.max_restarts is not None and not svc.oneshot:
            notes.append(f"max_restarts {svc.max_restarts} has no Kubernetes equivalent")
        if svc.user:
            notes.append(
                f"user {svc.user}: set securityContext.runAsUser to its uid (Kubernetes takes"
                " numbers), or USER in the image"
            )
        rel = os.path.relpath(svc.cwd, self.stack.root)
        if rel != ".":
            notes.append(f"stackup runs it in {rel}/; here it runs in the image's WORKDIR")
        loopback = sorted(
            key for key, value in service_env(svc).items()
            if not self.secrets.is_secret(key) and _LOOPBACK.search(value)
        )
        if loopback:
            notes.append(
                f"{', '.join(loopback)} name 127.0.0.1/localhost: in Kubernetes other services"
                " are reached by their Service name (a browser-facing URL needs your ingress)"
            )
        return notes

    def pod_spec(self, svc: Service, notes: list[str], restart: str) -> dict[str, Any]:
        command, refs = self.command(svc)
        container: dict[str, Any] = {
            "name": self.names[svc.name],
            "image": svc.image,
            "command": command,
            "envFrom": [{"configMapRef": {"name": self.configmap}}],
            "env": self.env(svc, refs),
        }
        if svc.port is not None:
            container["ports"] = [{"containerPort": svc.port, "protocol": "TCP"}]
        if not svc.oneshot:
            container.update(self.probes(svc, notes))
        spec: dict[str, Any] = {
            # Service links would set DB_PORT=tcp://…, clobbering stackup's <NAME>_PORT.
            "enableServiceLinks": False,
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": _seconds(svc.stop_timeout),
        }
        inits = self.init_containers(svc, notes)
        if inits:
            spec["initContainers"] = inits
            if any(c["image"] == WAIT_FOR_JOB_IMAGE for c in inits):
                spec["serviceAccountName"] = self.waiter
        spec["containers"] = [container]
        return spec

    def workload(self, svc: Service) -> tuple[list[str], list[dict[str, Any]]]:
        notes = self.service_notes(svc)
        name = self.names[svc.name]
        labels = self._labels(svc.name)
        meta = self._meta(name, labels=labels)
        if svc.description:
            meta["annotations"] = {"description": svc.description}
        if svc.oneshot:
            job = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": meta,
                "spec": {
                    "backoffLimit": 0,  # as in stackup: a oneshot is never run again
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": self.pod_spec(svc, notes, "Never"),
                    },
                },
            }
            return notes, [job]
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": self.pod_spec(svc, notes, "Always"),
                },
            },
        }
        docs = [deployment]
        if svc.port is not None:
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": self._meta(name, labels=labels),
                    "spec": {
                        "selector": labels,
                        "ports": [{"port": svc.port, "targetPort": svc.port, "protocol": "TCP"}],
                    },
                }
            )
        return notes, docs


def require_images(stack: Stack, services: list[str], fmt: str) -> None:
    missing = [n for n in stack.services if n in services and not stack.services[n].image]
    if missing:
        first = stack.services[missing[0]]
        also = f" (also: {', '.join(missing[1:])})" if missing[1:] else ""
        raise ConfigError(
            f"export {fmt} needs the container image that runs this service: add"
            f" `image:`{also}",
            _shown(stack.file),
            first.line,
            f"services.{first.name}",
        )


def _shown(path: Path) -> Path:
    """The stack file as the user would name it: relative when below the current folder."""
    rel = os.path.relpath(path)
    return Path(rel) if not rel.startswith("..") else path


def export_kubernetes(stack: Stack, services: list[str], secrets: Secrets) -> dict[str, str]:
    require_images(stack, services, "kubernetes")
    ex = _Export(stack, services, secrets)
    sections: list[tuple[list[str], dict[str, Any]]] = []
    for name in ex.selected:
        notes, docs = ex.workload(stack.services[name])
        comments = [f"{name}: {note}" for note in notes]
        sections += [(comments if i == 0 else [], doc) for i, doc in enumerate(docs)]
    waits_for_jobs = any(
        s.get("spec", {}).get("template", {}).get("spec", {}).get("serviceAccountName")
        for _, s in sections
    )
    head: list[tuple[list[str], dict[str, Any]]] = [
        ([], ex.namespace_doc()),
        ([f"Every service's plain environment (envFrom); secrets come from {ex.secret}."],
         ex.configmap_doc()),
    ]
    if waits_for_jobs:
        head += [
            ([f"Lets the wait-for-<job> init containers read Jobs ({WAIT_FOR_JOB_IMAGE})."]
             if i == 0 else [], doc)
            for i, doc in enumerate(ex.job_waiter_docs())
        ]
    comments = [
        *header(stack, "kubernetes"),
        f"Namespace {ex.namespace}. Apply with `kubectl apply -f kubernetes.yaml`.",
        "Services must listen on 0.0.0.0 (not 127.0.0.1) to be reached in a pod.",
    ]
    if ex.secret_keys:
        keys = sorted(ex.secret_keys)
        comments += [
            f"Secrets are not written here: create the Secret {ex.secret} first, e.g.",
            f"  kubectl create namespace {ex.namespace}",
            f"  kubectl -n {ex.namespace} create secret generic {ex.secret} \\",
            *(f"    --from-literal={key}=… \\" for key in keys[:-1]),
            f"    --from-literal={keys[-1]}=…",
        ]
    out = "".join(f"# {c}\n" for c in comments)
    for notes, doc in head + sections:
        out += "---\n" + "".join(f"# {n}\n" for n in notes)
        out += yaml.dump(
            doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
        )
    return {"kubernetes.yaml": out}
