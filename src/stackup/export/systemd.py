"""`stackup export systemd`: one unit per service plus a `<stack>.target` that wants them.

systemd expands `%` specifiers in every setting and `$VAR`/`${VAR}` in ExecStart
(never in Environment=), and reads EnvironmentFile= after Environment= so a file's
value wins. Hence: literal `%` → `%%` everywhere and `$` → `$$` in ExecStart; secrets
come from the stack's own env files (EnvironmentFile=) and are referred to as
`${NAME}` in ExecStart; a plain value that embeds a secret (a DATABASE_URL with the
password), or that an env file would wrongly override, is set by `/usr/bin/env` at
the front of ExecStart, which nothing overrides.
"""

from __future__ import annotations

import re

from stackup.config.model import HealthCheck, Service, Stack
from stackup.export.common import Secrets, Segment, duration, has_ref, header, render, service_env

_FILE_SOURCES = ("env file", "service env file")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./${}-]+")


def unit_prefix(stack: Stack) -> str:
    return re.sub(r"[^A-Za-z0-9:_.-]", "-", stack.name) or "stack"


def _spec(text: str) -> str:
    return text.replace("%", "%%")


def _one_line(text: str) -> str:
    return _spec(text).replace("\n", " ")


def exec_word(segments: list[Segment]) -> str:
    """One ExecStart word: refs stay `${NAME}` (systemd expands them), literal `$`
    and `%` doubled, quoted with C escapes when needed."""
    body = render(segments, lambda s: _spec(s).replace("$", "$$"))
    if _PLAIN_WORD.fullmatch(body):
        return body
    quote = "'" if "'" not in body else '"'
    escaped = body.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return quote + escaped + quote


def environment_line(key: str, value: str) -> str:
    escaped = _spec(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'Environment="{key}={escaped}"'


def describe_check(check: HealthCheck, port: int | None, secrets: Secrets) -> str:
    port = check.port or port
    if check.kind == "tcp":
        return f"a TCP connect to {check.host}:{port}"
    if check.kind == "http":
        return f"GET http://{check.host}:{port}{check.path}"
    if check.kind == "command" and check.command is not None:
        cmd = check.command if isinstance(check.command, str) else " ".join(check.command)
        return f"`{render(secrets.split(cmd))}` exiting 0".replace("\n", " ")
    if check.kind == "log":
        return f"a log line matching {check.pattern!r}"
    return ""


def env_sources(
    stack: Stack, svc: Service, env: dict[str, str], secrets: Secrets
) -> tuple[list[str], set[str], list[str]]:
    """(env files to read, keys those files would set wrongly, secrets no file holds)."""
    files: list[str] = []
    file_values: dict[str, dict[str, str]] = {}
    for key, origins in stack.origins.items():
        for o in origins:
            if o.source in _FILE_SOURCES and o.service in (None, svc.name):
                file_values.setdefault(o.detail, {})[key] = o.value
    missing: list[str] = []
    for key in sorted(k for k in env if secrets.is_secret(k)):
        holders = [f for f, values in file_values.items() if values.get(key) == env[key]]
        if not holders:
            missing.append(key)
        files += [f for f in holders if f not in files]
    overridden = {
        key
        for f in files
        for key, value in file_values[f].items()
        if not secrets.is_secret(key) and env.get(key) != value
    }
    return files, overridden, missing


def service_unit(stack: Stack, svc: Service, services: list[str], secrets: Secrets) -> str:
    prefix = unit_prefix(stack)
    env = service_env(svc)
    files, overridden, missing = env_sources(stack, svc, env, secrets)
    deps = [f"{prefix}-{d.name}.service" for d in svc.depends_on if d.name in services]
    check = describe_check(svc.health, svc.port, secrets)
    comments = [*header(stack, "systemd")]
    if check:
        comments.append(f"stackup waits for {check} before starting dependents;")
    comments += [
        "systemd orders by start, not health: After= waits only until a unit has started",
        "(a oneshot: until it has finished).",
    ]
    unit = [f"# {c}" for c in comments]
    unit += ["[Unit]", f"Description={_one_line(svc.description or svc.name)}"]
    unit.append(f"PartOf={prefix}.target")
    if deps:
        unit += [f"After={' '.join(deps)}", f"Requires={' '.join(deps)}"]
    if svc.max_restarts and svc.restart != "no" and not svc.oneshot:
        # The first start plus max_restarts restarts, ever (until `systemctl reset-failed`).
        unit += [f"StartLimitBurst={svc.max_restarts + 1}", "StartLimitIntervalSec=infinity"]
    unit += ["", "[Service]"]
    unit += ["Type=oneshot", "RemainAfterExit=yes"] if svc.oneshot else ["Type=simple"]
    unit.append(f"WorkingDirectory={_spec(str(svc.cwd))}")
    if svc.user:
        unit.append(f"User={_spec(svc.user)}")
    secret_keys = sorted(k for k in env if secrets.is_secret(k))
    if secret_keys:
        # Environment= is never expanded, so a reference there would be literal text.
        unit.append("# Secrets are not written here; they come from the stack's env files:")
        unit.append(f"# {', '.join(secret_keys)}")
    unit += [f"EnvironmentFile=-{_spec(f)}" for f in files]
    if missing:
        unit.append(
            f"# Not in any env file, to set with `systemctl edit` (a drop-in): {', '.join(missing)}"
        )
    front: list[str] = []
    for key, value in sorted(env.items()):
        if secrets.is_secret(key):
            continue
        segments = secrets.entry(key, value)
        if has_ref(segments) or key in overridden:
            front.append(exec_word([f"{key}=", *segments]))
        else:
            unit.append(environment_line(key, value))
    unit.append("ExecStart=" + " ".join(_exec(svc, front, secrets)))
    unit.append(f"Restart={'no' if svc.oneshot else svc.restart}")
    unit += [
        f"KillSignal={svc.stop_signal.name}",
        f"TimeoutStopSec={duration(svc.stop_timeout)}",
        "KillMode=control-group",  # stackup too stops everything the service started
        "",
        "[Install]",
        f"WantedBy={prefix}.target",
    ]
    return "\n".join(unit) + "\n"


def _exec(svc: Service, front: list[str], secrets: Secrets) -> list[str]:
    words = ["/usr/bin/env", *front] if front else []
    if isinstance(svc.command, list):
        return words + [exec_word(secrets.split(arg)) for arg in svc.command]
    return [*words, "/bin/sh", "-c", exec_word(secrets.split(svc.command))]


def export_systemd(stack: Stack, services: list[str], secrets: Secrets) -> dict[str, str]:
    prefix = unit_prefix(stack)
    selected = [name for name in stack.services if name in services]
    out = {
        f"{prefix}-{name}.service": service_unit(stack, stack.services[name], selected, secrets)
        for name in selected
    }
    wants = " ".join(f"{prefix}-{name}.service" for name in selected)
    out[f"{prefix}.target"] = (
        "\n".join(
            [
                *(f"# {c}" for c in header(stack, "systemd")),
                "# `systemctl start` this target to start the stack; each unit is PartOf= it, so",
                "# stopping or restarting the target does the same to every service.",
                "[Unit]",
                f"Description=stackup stack {_spec(stack.name)}",
                f"Wants={wants}",
                "",
                "[Install]",
                "WantedBy=default.target",
            ]
        )
        + "\n"
    )
    return out
