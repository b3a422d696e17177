"""Run the stackup CLI with time marks on its start-up path, without touching `src/`.

    .venv/bin/python benchmarks/_trace_up.py MARKS_FILE [--cprofile OUT] -- stackup-args…

Writes JSON lines `{"t": time.time(), "mark": "...", "service": "..."}` to MARKS_FILE,
flushed at once: the interpreter is up (this script's first statement), the begin and
end of the imports of a few modules (a meta-path hook times their execution, nested
imports included), and the begin and end of each call of the functions on `up`'s path
to a spawn, with the service it is about (wrapped the moment their module has been
executed, before anyone imports them by name).

With `--cprofile OUT` the whole run is profiled (cProfile, main thread: the event loop)
and the stats are written to OUT when SIGUSR1 arrives (the benchmark sends it once the
services are up, so the stop is not in them).
"""

import time

STARTED = time.time()

# Only modules the interpreter has loaded anyway (or nearly free): the marks must not
# move stackup's own import costs (inspect or importlib.abc would add ~20 ms).
import functools  # noqa: E402
import importlib.machinery  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

CO_COROUTINE = 0x80

IMPORTS = {"stackup.cli", "stackup.cli.up", "stackup.config.load", "stackup.app.foreground",
           "stackup.server.supervisor_process", "stackup.config.schema"}
WRAP = {
    "stackup.config.load": ["load_stack"],
    "stackup.app.reclaim": ["prepare_start"],
    "stackup.app.foreground": ["up_foreground"],
    "stackup.server.supervisor_process": ["SupervisorProcess.__init__", "SupervisorProcess.open",
                                          "SupervisorProcess.up"],
    "stackup.server.keeper": ["spawn"],  # forked before the event loop
    "stackup.server.keeper_client": ["KeeperClient.connect", "KeeperClient.spawn"],
    "stackup.server.control": ["serve"],
    "stackup.engine.probes": ["Prober.wait_ready"],
    "stackup.engine.runner": ["ServiceRunner._spawn", "ServiceRunner._owns_port"],
    "stackup.server.statefile": ["write"],
    "stackup.system.preflight": ["check_ports_free"],
}

_out = open(sys.argv[1], "a", buffering=1)  # noqa: SIM115  # lives as long as the process


def mark(name: str, when: float | None = None, service: str = "") -> None:
    t = time.time() if when is None else when
    _out.write(f'{{"t": {t!r}, "mark": "{name}", "service": "{service}"}}\n')


def service_of(args: tuple) -> str:  # type: ignore[type-arg]
    """The service a call is about: `self.name`, `self.service.name`, `self.rt.name`, or
    its first argument's `.name` (KeeperClient.spawn(service, env))."""
    for obj in args[:2]:
        for path in (("name",), ("service", "name"), ("rt", "name")):
            value: object = obj
            for attr in path:
                value = getattr(value, attr, None)
            if isinstance(value, str):
                return value
    return ""


def wrap(owner: object, attr: str, label: str) -> None:
    fn = getattr(owner, attr)

    if fn.__code__.co_flags & CO_COROUTINE:
        @functools.wraps(fn)
        async def awrapper(*a, **k):  # type: ignore[no-untyped-def]
            svc = service_of(a)
            mark(f"{label} begin", service=svc)
            try:
                return await fn(*a, **k)
            finally:
                mark(f"{label} end", service=svc)
        setattr(owner, attr, awrapper)
    else:
        @functools.wraps(fn)
        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            svc = service_of(a)
            mark(f"{label} begin", service=svc)
            try:
                return fn(*a, **k)
            finally:
                mark(f"{label} end", service=svc)
        setattr(owner, attr, wrapper)


class TimedLoader:
    def __init__(self, inner: object, name: str) -> None:
        self.inner, self.name = inner, name

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return self.inner.create_module(spec)

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        timed = self.name in IMPORTS
        if timed:
            mark(f"import {self.name} begin")
        self.inner.exec_module(module)
        if timed:
            mark(f"import {self.name} end")
        for path in WRAP.get(self.name, []):
            owner: object = module
            *parents, attr = path.split(".")
            for p in parents:
                owner = getattr(owner, p)
            wrap(owner, attr, path)


class Finder:
    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name not in IMPORTS and name not in WRAP:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = TimedLoader(spec.loader, name)
        return spec


def main() -> None:
    args = sys.argv[2:]
    prof = None
    if args[:1] == ["--cprofile"]:
        import cProfile

        out, args = args[1], args[2:]
        prof = cProfile.Profile()

        def dump(*_: object) -> None:
            try:
                prof.disable()
                prof.dump_stats(out)
                mark("cprofile dumped")
            except Exception as exc:  # never into the code the signal interrupted
                mark(f"cprofile failed: {type(exc).__name__}")

        signal.signal(signal.SIGUSR1, dump)
    if args[:1] == ["--"]:
        args = args[1:]
    mark("interpreter up", STARTED)
    sys.meta_path.insert(0, Finder())
    sys.argv = ["stackup", *args]
    if prof is not None:
        prof.enable()
    from stackup.cli import main as cli_main

    mark("cli imported")
    cli_main()


if __name__ == "__main__":
    main()
