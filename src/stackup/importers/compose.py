"""`stackup init --from compose.yaml`: a docker compose file as a stack.

Mapped: services with a `command` or a build context (an image-only service is not a
process stackup can run), their first port, environment and env files, `depends_on`
with its conditions, `healthcheck.test` as a command check with its timings,
profiles, and also `image`, `restart`, `stop_signal` and `stop_grace_period`, which
say the same thing in both files. The rest is listed in comments.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from stackup.config.yamlsource import KeyPath, Source, read_source
from stackup.importers.proposal import (
    Proposal,
    ProposedService,
    duration,
    seconds_of,
    service_name,
)

_CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}
_RESTART = {"always": "always", "unless-stopped": "always", "on-failure": "on-failure"}
# Keys read by this module; any other service key is listed as not mapped.
_MAPPED = {
    "command", "build", "image", "ports", "environment", "env_file", "depends_on",
    "healthcheck", "profiles", "restart", "stop_signal", "stop_grace_period",
}
_PLACEHOLDER = "echo 'stackup init: give {name} its command in stack.yaml' >&2; exit 1"


class _Reader:
    def __init__(self, source: Source, out_dir: Path, command: str) -> None:
        self.source = source
        self.base = Path(os.path.abspath(source.file)).parent
        self.out_dir = Path(os.path.abspath(out_dir))
        self.proposal = Proposal(source=source.file.name, command=command)
        self.names: dict[str, str] = {}  # compose name -> stackup name

    def error(self, message: str, path: KeyPath) -> Exception:
        return self.source.error(message, path)

    def rel(self, path: str) -> str:
        """A path of the compose file as the stack file (in out_dir) must say it."""
        return os.path.relpath(self.base / os.path.expanduser(path), self.out_dir)

    def read(self) -> Proposal:
        data = self.source.data
        services = data.get("services")
        if not isinstance(services, dict) or not services:
            raise self.error("a compose file needs a 'services' mapping", ("services",))
        if isinstance(data.get("name"), str):
            self.proposal.name = data["name"]
        for key in data:
            if key not in ("services", "name", "version"):
                self.proposal.notes.append(f"top-level {key!r}")
        runnable = {}
        for raw, spec in services.items():
            if spec is None:
                spec = {}
            if not isinstance(spec, dict):
                raise self.error("a service must be a mapping", ("services", raw))
            if "command" in spec or "build" in spec:
                runnable[raw] = spec
                self.names[raw] = service_name(raw, set(self.names.values()))
            else:
                image = f" (image {spec['image']})" if "image" in spec else ""
                self.proposal.notes.append(
                    f"service {raw!r}{image} has neither command nor build: not a process"
                    " stackup can run (run it under stackup with its own command, e.g."
                    " PostgreSQL: examples/postgres/stack.yaml)"
                )
        if not runnable:
            raise self.error(
                "no service with a command or a build context: nothing stackup can run",
                ("services",),
            )
        completed = self._completed_targets(runnable)
        for raw, spec in runnable.items():
            self.proposal.add(self.service(raw, spec, raw in completed))
        return self.proposal

    @staticmethod
    def _completed_targets(services: dict[str, Any]) -> set[str]:
        """Services another waits to complete: oneshot tasks in stackup."""
        found = set()
        for spec in services.values():
            deps = spec.get("depends_on")
            if isinstance(deps, dict):
                for dep, cond in deps.items():
                    if isinstance(cond, dict) and cond.get("condition") == (
                        "service_completed_successfully"
                    ):
                        found.add(dep)
        return found

    def service(self, raw: str, spec: dict[str, Any], oneshot: bool) -> ProposedService:
        name = self.names[raw]
        svc = ProposedService(name, f"compose service {raw!r}")
        path: KeyPath = ("services", raw)
        if name != raw:
            svc.notes.append(f"renamed from {raw!r}: service names are lowercase a-z, 0-9, - and _")
        self.build(svc, spec, path)
        if isinstance(spec.get("image"), str):
            svc.body["image"] = spec["image"]
        self.ports(svc, spec.get("ports"), (*path, "ports"))
        self.environment(svc, spec.get("environment"), (*path, "environment"))
        self.env_files(svc, spec.get("env_file"), (*path, "env_file"))
        self.depends_on(svc, spec.get("depends_on"), (*path, "depends_on"))
        self.healthcheck(svc, spec.get("healthcheck"), (*path, "healthcheck"))
        if isinstance(spec.get("profiles"), list):
            svc.body["profiles"] = [str(p) for p in spec["profiles"]]
        if oneshot:
            svc.body["oneshot"] = True
        else:
            self.restart(svc, spec.get("restart"))
        if isinstance(spec.get("stop_signal"), str):
            svc.body["stop_signal"] = spec["stop_signal"]
        grace = seconds_of(spec.get("stop_grace_period"))
        if grace is not None:
            svc.body["stop_timeout"] = duration(grace)
        unmapped = [k for k in spec if k not in _MAPPED]
        if unmapped:
            svc.notes.append(f"compose keys {', '.join(unmapped)}")
        return svc

    def build(self, svc: ProposedService, spec: dict[str, Any], path: KeyPath) -> None:
        build = spec.get("build")
        context, dockerfile = None, "Dockerfile"
        if isinstance(build, str):
            context = build
        elif isinstance(build, dict):
            context = str(build.get("context", "."))
            dockerfile = str(build.get("dockerfile", "Dockerfile"))
        if context is not None and "://" not in context:
            cwd = self.rel(context)
            if cwd != ".":
                svc.body["cwd"] = cwd
        command = spec.get("command")
        if isinstance(command, str) and command.strip():
            svc.body["command"] = command
        elif isinstance(command, list) and command:
            svc.body["command"] = [str(part) for part in command]
        elif command is not None:
            raise self.error("command must be a string or a list", (*path, "command"))
        elif context is not None:
            found = dockerfile_cmd(self.base / context / dockerfile)
            if found is not None:
                svc.body["command"] = found
                svc.notes.append(f"command taken from the CMD of {context}/{dockerfile}")
            else:
                svc.body["command"] = _PLACEHOLDER.format(name=svc.name)
                svc.notes.append(
                    "compose builds it and runs the image's command: give the command that"
                    " runs it on this machine"
                )
        if "entrypoint" in spec:
            svc.notes.append(f"entrypoint {spec['entrypoint']!r}: put it in front of the command")

    def ports(self, svc: ProposedService, ports: Any, path: KeyPath) -> None:
        if ports is None:
            return
        if not isinstance(ports, list):
            raise self.error("ports must be a list", path)
        mapped: list[tuple[int, int | None]] = []
        for entry in ports:
            parsed = parse_port(entry)
            if parsed is None:
                svc.notes.append(f"port {entry!r} (only single TCP ports map)")
                continue
            mapped.append(parsed)
            if len(mapped) > 1:
                svc.notes.append(f"port {entry!r}: a stackup service has one port")
        if not mapped:
            return
        published, target = mapped[0]
        svc.body["port"] = published
        if target is not None and target != published:
            svc.notes.append(
                f"compose published container port {target} on {published}: here the process"
                f" itself must listen on {published} (its PORT)"
            )

    def environment(self, svc: ProposedService, env: Any, path: KeyPath) -> None:
        if env is None:
            return
        items: list[tuple[str, Any]] = []
        if isinstance(env, dict):
            items = list(env.items())
        elif isinstance(env, list):
            for entry in env:
                key, sep, value = str(entry).partition("=")
                items.append((key, value if sep else None))
        else:
            raise self.error("environment must be a mapping or a list", path)
        out = {}
        inherited = []
        for key, value in items:
            if value is None:
                inherited.append(str(key))  # compose passes the shell's value; so does stackup
                continue
            out[str(key)] = _env_text(value)
        if out:
            svc.body["env"] = out
        if inherited:
            svc.notes.append(
                f"{', '.join(inherited)}: from the shell, as compose does (a service inherits"
                " stackup's environment)"
            )

    def env_files(self, svc: ProposedService, env_file: Any, path: KeyPath) -> None:
        if env_file is None:
            return
        entries = env_file if isinstance(env_file, list) else [env_file]
        files = []
        for entry in entries:
            required = True
            if isinstance(entry, dict):
                required = entry.get("required", True) is not False
                entry = entry.get("path")
            if not isinstance(entry, str):
                raise self.error("env_file entries must be paths", path)
            if not required and not (self.base / entry).is_file():
                svc.notes.append(f"optional env_file {entry} does not exist: left out")
                continue
            files.append(self.rel(entry))
        if files:
            svc.body["env_file"] = files if len(files) > 1 else files[0]

    def depends_on(self, svc: ProposedService, deps: Any, path: KeyPath) -> None:
        if deps is None:
            return
        if isinstance(deps, list):
            deps = {str(d): {} for d in deps}  # the short form means service_started
        if not isinstance(deps, dict):
            raise self.error("depends_on must be a list or a mapping", path)
        out: dict[str, dict[str, str]] = {}
        for dep, spec in deps.items():
            spec = spec if isinstance(spec, dict) else {}
            if dep not in self.names:
                svc.notes.append(f"depends on {dep!r}, which is not mapped: dropped")
                continue
            condition = _CONDITIONS.get(spec.get("condition", "service_started"))
            if condition is None:
                raise self.error(
                    f"unknown condition {spec.get('condition')!r}", (*path, dep, "condition")
                )
            out[self.names[dep]] = {"condition": condition}
            extra = sorted(set(spec) - {"condition"})
            if extra:
                svc.notes.append(f"depends_on {dep}: {', '.join(extra)}")
        if out:
            svc.body["depends_on"] = out

    def healthcheck(self, svc: ProposedService, check: Any, path: KeyPath) -> None:
        if check is None:
            return
        if not isinstance(check, dict):
            raise self.error("healthcheck must be a mapping", path)
        test = check.get("test")
        if check.get("disable") is True or test in (["NONE"], "NONE"):
            svc.body["health"] = False
            return
        health: dict[str, Any] = {}
        if isinstance(test, str):
            health["command"] = test
        elif isinstance(test, list) and len(test) >= 2 and test[0] == "CMD-SHELL":
            health["command"] = " ".join(str(t) for t in test[1:])
        elif isinstance(test, list) and len(test) >= 2 and test[0] == "CMD":
            health["command"] = [str(t) for t in test[1:]]
        elif test is not None:
            raise self.error("test must be a string or [CMD|CMD-SHELL, ...]", (*path, "test"))
        else:
            svc.notes.append("healthcheck without test: the image's HEALTHCHECK is not known here")
            return
        interval = seconds_of(check.get("interval"))
        timeout = seconds_of(check.get("timeout"))
        if interval is not None:
            health["interval"] = duration(interval)
        if timeout is not None:
            health["timeout"] = duration(timeout)
        if isinstance(check.get("retries"), int) and check["retries"] >= 1:
            health["retries"] = check["retries"]
        start_period = seconds_of(check.get("start_period"))
        if start_period is not None:
            # compose: failures in start_period do not count, then `retries` may fail.
            retries = health.get("retries", 3)
            health["start_timeout"] = duration(start_period + (interval or 30) * retries)
        extra = sorted(set(check) - {"test", "interval", "timeout", "retries", "start_period"})
        if extra:
            svc.notes.append(f"healthcheck {', '.join(extra)}")
        svc.body["health"] = health

    def restart(self, svc: ProposedService, policy: Any) -> None:
        if not isinstance(policy, str) or policy in ("no", ""):
            return
        name, _, count = policy.partition(":")
        if name not in _RESTART:
            svc.notes.append(f"restart {policy!r}")
            return
        svc.body["restart"] = _RESTART[name]
        if count.isdigit():
            svc.body["max_restarts"] = int(count)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_SHORT_PORT = re.compile(
    r"^(?:(?:\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(?P<published>\d+):)?(?P<target>\d+)"
    r"(?:/(?P<proto>tcp|udp))?$"
)


def parse_port(entry: Any) -> tuple[int, int | None] | None:
    """(published, target) of one compose port, or None if it is not one TCP port."""
    if isinstance(entry, int) and not isinstance(entry, bool):
        return entry, entry
    if isinstance(entry, dict):
        if entry.get("protocol", "tcp") != "tcp":
            return None
        target = entry.get("target")
        published = entry.get("published", target)
        try:
            return int(published), int(target) if target is not None else None
        except (TypeError, ValueError):
            return None
    match = _SHORT_PORT.match(str(entry).strip())
    if not match or match.group("proto") == "udp":
        return None
    target = int(match.group("target"))
    published = int(match.group("published")) if match.group("published") else target
    return published, target


def dockerfile_cmd(path: Path) -> str | list[str] | None:
    """The last CMD of a Dockerfile (exec form as argv, shell form as a string)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found: str | list[str] | None = None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        match = re.match(r"\s*CMD\s+(.*)$", line, re.IGNORECASE)
        if not match:
            continue
        body = match.group(1).strip()
        if body.startswith("["):
            try:
                argv = json.loads(body)
            except ValueError:
                argv = None
            if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
                found = argv
                continue
        found = body or None  # the shell form, run by /bin/sh -c as docker does
    return found


def from_compose(path: Path, out_dir: Path, command: str) -> Proposal:
    return _Reader(read_source(path), out_dir, command).read()
