"""stopping.stop_in_reverse_order: dependents first, independents together, kill_now."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping

from stackup.engine.stop_order import stop_in_reverse_order


class FakeStops:
    """Fake async stop functions: each records start/end and can be held open."""

    def __init__(self, names: list[str], hold: Collection[str] = ()) -> None:
        self.log: list[str] = []
        self.running: set[str] = set()
        self.release = {n: asyncio.Event() for n in names}
        self.entered = {n: asyncio.Event() for n in names}
        for n in names:
            if n not in hold:
                self.release[n].set()
        self.fail: dict[str, BaseException] = {}

    async def __call__(self, name: str) -> None:
        self.log.append(f"start {name}")
        self.running.add(name)
        self.entered[name].set()
        try:
            await self.release[name].wait()
            # Let every other ready stop begin before this one ends.
            for _ in range(3):
                await asyncio.sleep(0)
            if name in self.fail:
                raise self.fail[name]
        finally:
            self.running.discard(name)
            self.log.append(f"end {name}")

    def index(self, entry: str) -> int:
        return self.log.index(entry)


def run(
    depends_on: Mapping[str, list[str]],
    stops: Callable[[str], Awaitable[None]],
    kill_now: asyncio.Event | None = None,
) -> dict[str, BaseException]:
    async def main() -> dict[str, BaseException]:
        return await asyncio.wait_for(stop_in_reverse_order(depends_on, stops, kill_now), 5)

    return asyncio.run(main())


def test_a_service_stops_only_after_its_dependents_finished() -> None:
    async def main() -> None:
        deps = {"db": [], "api": ["db"], "web": ["api"]}
        stops = FakeStops(list(deps))
        errors = await asyncio.wait_for(stop_in_reverse_order(deps, stops), 5)
        assert errors == {}
        assert stops.log == ["start web", "end web", "start api", "end api",
                             "start db", "end db"]

    asyncio.run(main())


def test_a_dependency_waits_for_every_dependent() -> None:
    async def main() -> None:
        deps = {"db": [], "api": ["db"], "worker": ["db"]}
        stops = FakeStops(list(deps), hold={"worker"})
        task = asyncio.create_task(stop_in_reverse_order(deps, stops))
        await asyncio.wait_for(stops.entered["worker"].wait(), 5)
        # api may end, but db must not start while worker is still stopping.
        for _ in range(20):
            await asyncio.sleep(0)
        assert "end api" in stops.log
        assert "start db" not in stops.log
        stops.release["worker"].set()
        assert await asyncio.wait_for(task, 5) == {}
        assert stops.index("start db") > stops.index("end worker")
        assert stops.index("start db") > stops.index("end api")

    asyncio.run(main())


def test_independent_services_stop_concurrently() -> None:
    async def main() -> None:
        deps = {"a": [], "b": [], "c": []}
        stops = FakeStops(list(deps), hold={"a", "b", "c"})
        task = asyncio.create_task(stop_in_reverse_order(deps, stops))
        await asyncio.wait_for(
            asyncio.gather(*(stops.entered[n].wait() for n in deps)), 5
        )
        assert stops.running == {"a", "b", "c"}
        for ev in stops.release.values():
            ev.set()
        assert await asyncio.wait_for(task, 5) == {}

    asyncio.run(main())


def test_kill_now_releases_the_waits() -> None:
    async def main() -> None:
        deps = {"db": [], "api": ["db"]}
        stops = FakeStops(list(deps), hold={"api"})
        kill = asyncio.Event()
        task = asyncio.create_task(stop_in_reverse_order(deps, stops, kill))
        await asyncio.wait_for(stops.entered["api"].wait(), 5)
        for _ in range(10):
            await asyncio.sleep(0)
        assert "start db" not in stops.log
        kill.set()
        await asyncio.wait_for(stops.entered["db"].wait(), 5)
        assert "end api" not in stops.log  # db started while api still stopping
        stops.release["api"].set()
        assert await asyncio.wait_for(task, 5) == {}

    asyncio.run(main())


def test_kill_now_already_set_starts_everything_at_once() -> None:
    async def main() -> None:
        deps = {"db": [], "api": ["db"], "web": ["api"]}
        stops = FakeStops(list(deps), hold=set(deps))
        kill = asyncio.Event()
        kill.set()
        task = asyncio.create_task(stop_in_reverse_order(deps, stops, kill))
        await asyncio.wait_for(asyncio.gather(*(stops.entered[n].wait() for n in deps)), 5)
        assert stops.running == set(deps)
        for ev in stops.release.values():
            ev.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())


def test_errors_are_returned_by_name_and_do_not_block_dependencies() -> None:
    async def main() -> None:
        deps = {"db": [], "api": ["db"]}
        stops = FakeStops(list(deps))
        boom = RuntimeError("api would not die")
        stops.fail["api"] = boom
        errors = await asyncio.wait_for(stop_in_reverse_order(deps, stops), 5)
        assert errors == {"api": boom}
        assert stops.log[-1] == "end db"

    asyncio.run(main())


def test_dependencies_outside_the_set_are_ignored() -> None:
    stops_done: list[str] = []

    async def stop(name: str) -> None:
        stops_done.append(name)

    assert run({"api": ["db"]}, stop) == {}
    assert stops_done == ["api"]


def test_nothing_to_stop() -> None:
    async def stop(name: str) -> None:
        raise AssertionError(name)

    assert run({}, stop) == {}
