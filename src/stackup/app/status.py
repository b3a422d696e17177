"""`stackup status`: what runs, from the state file (kept current by the supervisor),
checked against the live processes — so it also tells the truth after the supervisor
was killed, and answers fast (no stack file parsing when a state exists)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackup.errors import UsageError
from stackup.server import statefile
from stackup.states import FINAL_STATES, READY_STATES, State
from stackup.system import ports, processes

# States that outlast their supervisor: what a dead supervisor recorded still holds.
ENDED = FINAL_STATES - {State.STOPPED}


def collect(
    state_dir: Path, names: list[str], load_defaults: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The `status --json` object. `load_defaults()` gives {stack, services} from the
    stack file, used only when no supervisor state exists."""
    state = statefile.read(state_dir)
    sup_alive = bool(state) and statefile.supervisor_alive(state)  # type: ignore[arg-type]
    if state is None:
        state = load_defaults()
    records: dict[str, dict[str, Any]] = state.get("services", {})
    for name in names:
        if name not in records:
            raise UsageError(f"no such service: {name}")
    chosen = names or state.get("selected") or _default_services(state, records)
    sup = state.get("supervisor") or {}
    instance = state.get("instance")
    entries = [_entry(n, records[n], sup_alive, instance) for n in chosen]
    _add_port_holders(entries)
    return {
        "stack": state.get("stack"),
        "supervisor": {"running": sup_alive, "pid": sup.get("pid") if sup_alive else None,
                       "mode": sup.get("mode") if sup_alive else None},
        "services": entries,
    }


def _default_services(state: dict[str, Any], records: dict[str, dict[str, Any]]) -> list[str]:
    """What a bare `up` would start: recorded by the supervisor, else derived from the
    services' profiles and the profiles that were active."""
    if state.get("default") is not None:
        return list(state["default"])
    active = set(state.get("profiles") or [])
    return [n for n, r in records.items() if not r.get("profiles") or set(r["profiles"]) & active]


def _entry(
    name: str, rec: dict[str, Any], sup_alive: bool, instance: str | None
) -> dict[str, Any]:
    proc = processes.same_process(rec.get("pid"), rec.get("create_time"))
    if proc is not None and instance and not processes.carries_marker(proc, instance):
        proc = None  # a reused pid with a matching time is not ours
    state = rec.get("state", "stopped")
    if not sup_alive and proc is None and state not in ENDED:
        state = "stopped"
    now = time.time()
    started = rec.get("started_at")
    return {
        "name": name,
        "state": state,
        "pid": proc.pid if proc else None,
        "port": rec.get("port"),
        "health": rec.get("health"),
        "ready": state in READY_STATES,
        "restarts": rec.get("restarts", 0),
        "exit_code": rec.get("exit_code"),
        "uptime_s": round(now - started, 1) if proc and started else None,
        "started_at": started,
        "ready_at": rec.get("ready_at") if state in READY_STATES else None,
        "reason": rec.get("reason", ""),
        "port_holder": None,
    }


def _add_port_holders(entries: list[dict[str, Any]]) -> None:
    """For each port, the listener when it is not the service's own process tree."""
    held = ports.holders(e["port"] for e in entries if e["port"])
    for e in entries:
        holder = held.get(e["port"]) if e["port"] else None
        if holder is None:
            continue
        own = {p.pid for p in processes.tree(e["pid"])} if e["pid"] else set()
        if holder.pid is None or holder.pid not in own:
            e["port_holder"] = holder.to_json()


def all_ready(status: dict[str, Any]) -> bool:
    return bool(status["services"]) and all(s["ready"] for s in status["services"])


def defaults_from_stack(stack: Any) -> dict[str, Any]:
    """The state of a stack nothing runs for: its default services, all stopped."""
    return {
        "stack": stack.name,
        "default": stack.default_services(),
        "services": {
            name: {"state": "stopped", "port": svc.port, "health": svc.health.kind}
            for name, svc in stack.services.items()
        },
    }
