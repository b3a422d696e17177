"""CPU % and memory of each service's whole process tree (a shell, the server it runs,
the workers that server forks), sampled by the view about once a second."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import psutil

from stackup.system import processes


class TreeUsage:
    """Keeps each process it has seen, so that psutil's `cpu_percent` measures the time
    since the previous sample (the first sample of a new process counts 0)."""

    def __init__(self) -> None:
        self._known: dict[int, psutil.Process] = {}

    def sample(
        self, roots: Mapping[str, tuple[int, float | None]]
    ) -> dict[str, tuple[float, int]]:
        """{service: (CPU % of one core, summed over its tree; resident bytes)} for each
        root that is still the process the supervisor named (pid and creation time)."""
        usage: dict[str, tuple[float, int]] = {}
        seen: dict[int, psutil.Process] = {}
        for name, (pid, create_time) in roots.items():
            root = processes.same_process(pid, create_time) if create_time else (
                processes.process_or_none(pid)
            )
            if root is None:
                continue
            cpu, memory = 0.0, 0
            for proc in processes.tree(root.pid):
                known = self._known.get(proc.pid)
                if known is None or known != proc:  # new, or a reused pid
                    known = proc
                with contextlib.suppress(psutil.Error):
                    cpu += known.cpu_percent(None)
                    memory += known.memory_info().rss
                    seen[proc.pid] = known
            usage[name] = (cpu, memory)
        self._known = seen  # forget the processes that ended
        return usage
