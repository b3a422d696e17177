"""`stackup status`: what runs, from the state file (kept current by the supervisor),
checked against the live processes — so it also tells the truth after the supervisor
was killed, and answers fast (no stack file parsing when a state exists).

With no supervisor, the state file only says what *was* true: each service whose
process still runs is then checked once, now (in parallel, a second at most in all),
and one whose check fails is `unhealthy`, not ready.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackup.errors import UsageError
from stackup.server import statefile
from stackup.server.statefile import CheckRecord, StackState
from stackup.states import READY_STATES
from stackup.system import ports, processes

CHECK_BUDGET = 1.0  # seconds for checking every unsupervised service, all together
UNSUPERVISED = (
    "restart policies and liveness checks are not being applied "
    "(`stackup up -d` takes the stack over)"
)


def collect(
    state_dir: Path, names: list[str], load_defaults: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The `status --json` object. `load_defaults()` gives {stack, services} from the
    stack file, used only when no supervisor state exists."""
    state: StackState | None = statefile.read(state_dir)
    sup_alive = state is not None and statefile.supervisor_alive(state)
    if state is None:
        state = load_defaults()  # type: ignore[assignment]
    assert state is not None
    records = state.get("services") or {}
    for name in names:
        if name not in records:
            raise UsageError(f"no such service: {name}")
    chosen = names or state.get("selected") or _default_services(state, records)
    sup = state.get("supervisor") or {}
    instance = state.get("instance")
    entries = [_entry(n, records[n], sup_alive, instance) for n in chosen]
    if not sup_alive:
        _check_now(entries, records)
    _add_port_holders(entries)
    supervisor: dict[str, Any] = {
        "running": sup_alive,
        "pid": sup.get("pid") if sup_alive else None,
        "mode": sup.get("mode") if sup_alive else None,
    }
    if not sup_alive and any(e["pid"] for e in entries):
        supervisor["note"] = UNSUPERVISED
    return {
        "stack": state.get("stack"),
        "supervisor": supervisor,
        # what every port of the file is moved by: the ports shown are after it
        "port_offset": int(state.get("port_offset") or 0),
        "services": entries,
    }


def _default_services(state: StackState, records: dict[str, Any]) -> list[str]:
    """What a bare `up` would start: recorded by the supervisor, else derived from the
    services' profiles and the profiles that were active."""
    if state.get("default") is not None:
        return list(state["default"])
    active = set(state.get("profiles") or [])
    return [n for n, r in records.items() if not r.get("profiles") or set(r["profiles"]) & active]


def _entry(
    name: str, rec: statefile.ServiceRecord, sup_alive: bool, instance: str | None
) -> dict[str, Any]:
    proc = statefile.live_process(rec, instance)
    state = rec.get("state", "stopped")
    if not sup_alive:
        state = statefile.unsupervised_state(rec, alive=proc is not None)
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
        "external": bool(rec.get("external")),
        "watched": bool(rec.get("watched")) and sup_alive,
        "changed_at": rec.get("changed_at"),
        "changed": rec.get("changed") or [],
    }


def _check_now(entries: list[dict[str, Any]], records: dict[str, Any]) -> None:
    """Run each running service's check once, now; a failing one is not ready."""
    todo = [e for e in entries if e["pid"] and e["state"] in READY_STATES
            and (records[e["name"]].get("check") or {}).get("kind") not in (None, "none", "log")]
    if not todo:
        return
    import asyncio

    async def check_all() -> list[tuple[bool, str]]:
        checks = [_probe(records[e["name"]]["check"]) for e in todo]
        async with asyncio.timeout(CHECK_BUDGET):
            return await asyncio.gather(*checks)

    try:
        results = asyncio.run(check_all())
    except TimeoutError:
        results = [(False, f"no answer within {CHECK_BUDGET:g}s")] * len(todo)
    for entry, (ok, detail) in zip(todo, results, strict=True):
        if ok:
            entry["reason"] = f"checked now: {detail}"
        else:
            entry.update(state="unhealthy", ready=False, ready_at=None,
                         reason=f"check failed now: {detail}")


async def _probe(check: CheckRecord) -> tuple[bool, str]:
    from stackup.engine import probes
    from stackup.engine.service_process import SpawnError, user_ids

    kind, timeout = check.get("kind"), float(check.get("timeout") or 1.0)
    port = check.get("port")
    host = check.get("host") or "127.0.0.1"
    if kind == "tcp" and port:
        result = await probes.probe_tcp(host, port, timeout)
    elif kind == "http" and port:
        result = await probes.probe_http(
            host, port, check.get("path") or "/", check.get("status"), timeout
        )
    elif kind == "command" and check.get("command"):
        try:
            user = user_ids(check.get("user"))
        except SpawnError as exc:
            return False, str(exc)
        env = {**os.environ, **({"PORT": str(port)} if port else {})}
        result = await probes.probe_command(
            check["command"], check.get("cwd") or "/", env, timeout, user  # type: ignore[arg-type]
        )
    else:
        return True, "no check to run"
    return result.ok, result.detail


def _add_port_holders(entries: list[dict[str, Any]]) -> None:
    """For each port, the listener when it is not the service's own process tree."""
    held = ports.holders(e["port"] for e in entries if e["port"] and not e["external"])
    for e in entries:
        # An external service's port is held by what runs it, elsewhere: as it should be.
        holder = held.get(e["port"]) if e["port"] and not e["external"] else None
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
        "port_offset": stack.port_offset,
        "default": stack.default_services(),
        "services": {
            name: {"state": "stopped", "port": svc.port, "health": svc.health.kind}
            for name, svc in stack.services.items()
        },
    }
