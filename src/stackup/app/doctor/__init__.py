"""`stackup doctor`: why is it not working? Checks the stack file's services against
this machine (commands, folders, users, declared Python/node versions) and, when the
stack runs, its start-up, ports, loopback families and CORS — one finding a line,
each with what to do.

Each check is a module with `check(subject) -> list[Finding]`; they run in the order
a person would fix things: the file, the setup, the start-up, the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stackup.app.doctor import network, setup, startup, versions
from stackup.app.doctor.findings import Finding, Report, Subject
from stackup.config import graph
from stackup.config.model import Stack
from stackup.errors import ConfigError, UsageError
from stackup.server import statefile

__all__ = ["Finding", "Report", "examine"]

CHECKS = (setup.check, versions.check, startup.check, network.check)


def examine(
    file: Path, state_dir: Path, names: Sequence[str] = (), profiles: Sequence[str] = (),
    port_offset: int | None = None,
) -> Report:
    state = statefile.read(state_dir)
    alive = state is not None and statefile.supervisor_alive(state)
    if alive and state is not None:
        # Check the stack as it runs: its ports (offset) and profiles.
        if port_offset is None:
            port_offset = state.get("port_offset")
        profiles = tuple(dict.fromkeys([*profiles, *(state.get("profiles") or [])]))
    findings: list[Finding] = []
    stack = source = None
    try:
        from stackup.config import load_stack
        from stackup.config.yamlsource import read_source

        stack = load_stack(file, profiles=profiles, port_offset=port_offset)
        source = read_source(file)
    except ConfigError as err:
        if not file.is_file() and state is None:
            raise  # no stack file and nothing ever ran: nothing to examine (exit 2)
        findings.append(Finding(None, "config", str(err),
                                "fix the stack file (`stackup config` shows it resolved)"))
    known = set(stack.services) if stack else set((state or {}).get("services") or {})
    for name in names:
        if name not in known:
            raise UsageError(f"no such service: {name}")
    subject = Subject(file, state_dir, stack, source, state, alive,
                      _checked(names, stack, state, alive))
    if stack is not None or state is not None:
        for check in CHECKS:
            findings += check(subject)
    sup = (state or {}).get("supervisor") or {}
    name = stack.name if stack else (state or {}).get("stack") or file.resolve().parent.name
    return Report(
        stack=str(name),
        running=alive,
        supervisor_pid=sup.get("pid") if alive else None,
        mode=sup.get("mode") if alive else None,
        checked=subject.names,
        findings=findings,
    )


def _checked(
    names: Sequence[str], stack: Stack | None, state: dict[str, Any] | None, alive: bool
) -> list[str]:
    """The services named, else those the running stack selected, else those a bare
    `up` would start — with what they depend on."""
    if names:
        chosen = list(names)
    elif alive and state and state.get("selected"):
        chosen = list(state["selected"])
    elif stack is not None:
        chosen = stack.default_services()
    else:
        chosen = list((state or {}).get("services") or {})
    if stack is None:
        return chosen
    return graph.select(stack, [n for n in chosen if n in stack.services])
