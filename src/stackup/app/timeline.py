"""`stackup timeline`: when each service of the last start began waiting, was spawned
and became ready, and the critical chain that bounded the whole start-up.

Read from `.stackup/state.json` (each record's `timeline`, which the supervisor keeps
after a service stops), so it works while the stack runs and after `down`. The
critical chain is computed as `systemd-analyze critical-chain` does it: from the
service that became ready last, follow for each service the dependency whose
condition it waited for last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackup.diagrams import waterfall
from stackup.errors import StackupError, UsageError
from stackup.server import statefile

# A dependent wakes the moment its dependency's event is set, in the same process:
# its start follows within microseconds. Allow for clock granularity only.
EPSILON = 0.001


class NoTimelineError(StackupError):
    pass


@dataclass(frozen=True)
class Span:
    """One service's last start, in epoch seconds."""

    name: str
    state: str
    oneshot: bool
    waiting_at: float | None
    started_at: float | None
    ready_at: float | None
    depends_on: tuple[tuple[str, str], ...] = ()  # (dependency, condition)

    @property
    def begin(self) -> float | None:
        return self.waiting_at if self.waiting_at is not None else self.started_at


@dataclass(frozen=True)
class Link:
    """A step of a critical chain: the service, when it became ready and how long its
    start took (seconds from the timeline's origin)."""

    name: str
    ready: float | None
    took: float | None


@dataclass
class Timeline:
    stack: str
    running: bool  # is the supervisor that recorded it still running
    origin: float  # epoch of the first service's start: t = 0
    spans: list[Span]  # in start order
    chains: list[list[Link]]
    waited_for: dict[str, str]  # service -> the dependency it waited for last

    def rel(self, when: float | None) -> float | None:
        return None if when is None else when - self.origin

    @property
    def total(self) -> float | None:
        """Seconds from the first start until the last service became ready, when
        every service shown is ready."""
        if any(s.ready_at is None for s in self.spans):
            return None
        return max(s.ready_at for s in self.spans if s.ready_at) - self.origin

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "running": self.running,
            "origin": self.origin,
            "total_s": _round(self.total),
            "services": [
                {
                    "name": s.name, "state": s.state, "oneshot": s.oneshot,
                    "waiting_at": s.waiting_at, "started_at": s.started_at,
                    "ready_at": s.ready_at,
                    "depends_on": [{"name": d, "condition": c} for d, c in s.depends_on],
                    "waited_for": self.waited_for.get(s.name),
                }
                for s in self.spans
            ],
            "critical_chains": [
                [{"name": ln.name, "ready_s": _round(ln.ready), "took_s": _round(ln.took)}
                 for ln in chain]
                for chain in self.chains
            ],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def load(state_dir: Path, names: Sequence[str] = ()) -> Timeline:
    state = statefile.read(state_dir)
    if state is None:
        raise NoTimelineError(
            "no start recorded in .stackup/ (start the stack with `stackup up -d` or `stackup up`)"
        )
    records: dict[str, dict[str, Any]] = state.get("services") or {}
    for name in names:
        if name not in records:
            raise UsageError(f"no such service: {name}")
    conditions = _conditions(state.get("file"))
    spans = [_span(n, r, conditions.get(n, {})) for n, r in records.items()]
    shown = [s for s in spans if s.begin is not None and (not names or s.name in names)]
    if not shown:
        which = f" for {', '.join(names)}" if names else ""
        raise NoTimelineError(
            f"no start recorded{which} in .stackup/state.json "
            "(start the stack with `stackup up -d` or `stackup up`)"
        )
    order = {s.name: i for i, s in enumerate(spans)}
    shown.sort(key=lambda s: (s.begin, order[s.name]))
    by_name = {s.name: s for s in spans}
    waited = {s.name: w for s in spans if (w := waited_for(s, by_name)) is not None}
    origin = min(s.begin for s in shown if s.begin is not None)
    roots = list(names) if names else [_last_ready(shown)]
    chains = [_chain(root, by_name, waited, origin) for root in roots]
    return Timeline(
        stack=str(state.get("stack") or ""),
        running=statefile.supervisor_alive(state),
        origin=origin,
        spans=shown,
        chains=chains,
        waited_for=waited,
    )


def _conditions(file: str | None) -> dict[str, dict[str, str]]:
    """Each service's dependency conditions, from the stack file the supervisor ran
    (the state file records the dependencies, not their conditions). Without a
    loadable file, every dependency counts as waited for until ready."""
    if not file:
        return {}
    from stackup.config import load_stack
    from stackup.config.model import Stack

    stack: Stack | None = None
    with contextlib.suppress(StackupError, OSError):
        stack = load_stack(Path(file))
    if stack is None:
        return {}
    return {
        name: {d.name: d.condition for d in svc.depends_on}
        for name, svc in stack.services.items()
    }


def _span(name: str, rec: dict[str, Any], conditions: dict[str, str]) -> Span:
    times = rec.get("timeline") or {}
    deps = tuple((d, conditions.get(d, "healthy")) for d in rec.get("depends_on") or [])
    return Span(
        name=name,
        state=str(rec.get("state", "stopped")),
        oneshot=bool(rec.get("oneshot")),
        waiting_at=times.get("waiting_at"),
        started_at=times.get("started_at"),
        ready_at=times.get("ready_at"),
        depends_on=deps,
    )


def condition_met_at(dep: Span, condition: str) -> float | None:
    return dep.started_at if condition == "started" else dep.ready_at


def waited_for(span: Span, spans: dict[str, Span]) -> str | None:
    """The dependency whose condition `span`'s start waited for last: the one met
    last, while it waited. A dependency that was ready before it began waiting (a
    service added later with `up -d NAME`) did not hold it up."""
    if span.waiting_at is None or span.started_at is None:
        return None
    best: tuple[float, str] | None = None
    for dep, condition in span.depends_on:
        met = condition_met_at(spans[dep], condition) if dep in spans else None
        if met is None or not span.waiting_at - EPSILON <= met <= span.started_at + EPSILON:
            continue
        if best is None or met > best[0]:
            best = (met, dep)
    return best[1] if best else None


def _last_ready(spans: list[Span]) -> str:
    ready = [s for s in spans if s.ready_at is not None]
    if not ready:  # nothing became ready: the chain of the last one to start
        return max(spans, key=lambda s: s.begin or 0).name
    return max(ready, key=lambda s: s.ready_at or 0).name


def _chain(root: str, spans: dict[str, Span], waited: dict[str, str], origin: float) -> list[Link]:
    chain: list[Link] = []
    name: str | None = root
    while name is not None and name in spans and len(chain) <= len(spans):
        s = spans[name]
        took = s.ready_at - s.started_at if s.ready_at and s.started_at else None
        ready = s.ready_at - origin if s.ready_at else None
        chain.append(Link(name, ready, took))
        name = waited.get(name)
    return chain


# ---- the waterfall chart -------------------------------------------------------------


def chart(timeline: Timeline, now: float) -> waterfall.Chart:
    """The SVG view of a timeline: one bar per service, arrows from what each waited
    for, the critical chain highlighted. `now` closes bars still in progress."""
    critical = {link.name for chain in timeline.chains for link in chain}
    critical_edges = {
        (chain[i + 1].name, chain[i].name)
        for chain in timeline.chains for i in range(len(chain) - 1)
    }
    shown = {s.name for s in timeline.spans}
    ends = [t for s in timeline.spans for t in (s.ready_at, s.started_at, s.waiting_at) if t]
    last = max(ends)
    if timeline.running and any(s.ready_at is None for s in timeline.spans):
        last = max(last, now)  # still starting: show how long it has taken so far
    # A little room after the last event, so the last service's ready phase shows.
    end = (last - timeline.origin) * 1.06
    bars = []
    for s in timeline.spans:
        bars.append(waterfall.Bar(
            label=s.name,
            segments=_segments(s, timeline, end),
            note=_note(s, timeline),
            critical=s.name in critical,
            milestone=timeline.rel(s.ready_at) if s.oneshot else None,
        ))
    arrows = []
    by_name = {s.name: s for s in timeline.spans}
    for s in timeline.spans:
        for dep, condition in s.depends_on:
            if dep not in shown or s.started_at is None:
                continue
            met = condition_met_at(by_name[dep], condition)
            if met is None:
                continue
            arrows.append(waterfall.Arrow(
                source=dep, source_time=met - timeline.origin,
                target=s.name, target_time=s.started_at - timeline.origin,
                critical=(dep, s.name) in critical_edges,
            ))
    total = timeline.total
    subtitle = (
        f"every service ready after {total:.2f}s" if total is not None
        else "not every service became ready"
    )
    chain = " ← ".join(link.name for link in timeline.chains[0]) if timeline.chains else ""
    return waterfall.Chart(
        title=f"stackup timeline: {timeline.stack}",
        subtitle=subtitle + (f"; critical chain: {chain}" if chain else ""),
        bars=bars,
        arrows=arrows,
        end=max(end, 0.001),
    )


def _segments(s: Span, timeline: Timeline, end: float) -> list[waterfall.Segment]:
    rel = timeline.rel
    out = []
    w, st, rd = rel(s.waiting_at), rel(s.started_at), rel(s.ready_at)
    if w is not None:
        out.append(waterfall.Segment(w, st if st is not None else end, "waiting"))
    if st is not None:
        out.append(waterfall.Segment(st, rd if rd is not None else end, "starting"))
    if rd is not None and not s.oneshot:
        out.append(waterfall.Segment(rd, end, "ready"))
    return out


def _note(s: Span, timeline: Timeline) -> str:
    if s.ready_at is not None and s.started_at is not None:
        verb = "completed" if s.oneshot else "ready"
        return f"{verb} +{s.ready_at - s.started_at:.2f}s"
    return s.state
