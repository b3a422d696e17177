"""Reverse dependency order for stopping, shared by the supervisor and by `down`
working from the state file when the supervisor is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping


async def stop_in_reverse_order(
    depends_on: Mapping[str, Iterable[str]],
    stop_one: Callable[[str], Awaitable[None]],
    kill_now: asyncio.Event | None = None,
) -> dict[str, BaseException]:
    """Run `stop_one(name)` for every key, each only after every key that depends on it
    has finished stopping (or at once when `kill_now` is set). Returns errors by name."""
    names = list(depends_on)
    dependents: dict[str, list[str]] = {n: [] for n in names}
    for name, deps in depends_on.items():
        for dep in deps:
            if dep in dependents:
                dependents[dep].append(name)
    tasks: dict[str, asyncio.Task[None]] = {}

    async def run(name: str) -> None:
        waits = [tasks[d] for d in dependents[name]]
        if waits:
            kill = asyncio.create_task((kill_now or asyncio.Event()).wait())
            pending = set(waits)
            while pending and not kill.done():
                _, pending = await asyncio.wait(
                    [*pending, kill], return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(kill)
            kill.cancel()
        await stop_one(name)

    for name in names:
        tasks[name] = asyncio.create_task(run(name))
    results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    return {n: r for n, r in zip(names, results, strict=True) if isinstance(r, BaseException)}
