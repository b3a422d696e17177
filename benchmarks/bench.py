"""`make bench`: every figure of issue 8's speed table, stackup beside honcho, supervisord
and a bash script, in one run (~10 minutes on 2 cores); prints the detail tables, then
the one table with the targets and whether each is met.

    .cache/bench-venv/bin/python benchmarks/bench.py [--quick] [--json FILE]

Order: start-up, readiness, relay, then the 200-service stack last (its peers' 190 wait
loops leave a load average above 30 behind). Within each figure the tools take turns run
by run, so a load drift hits all alike: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import time

import _common as c
import bench_launch
import bench_readiness
import bench_relay
import bench_scale

TARGETS = {
    "launch": 0.100, "status": 0.060, "relay": 0.8, "dep": 0.005,
    "scale_ready": 5.0, "scale_rss": 100.0, "scale_idle": 2.0,
}


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def summary(launch: dict, ready: dict, relay: dict, scale: dict,  # type: ignore[type-arg]
            lines: int) -> str:
    floor = ready["floor"]
    rows = []
    lt = {t: launch[t]["first"] for t in c.TOOLS}
    nopyc = launch.get(bench_launch.NO_PYC)
    again = launch.get(bench_launch.AGAIN)
    rows.append(["`up` launch → first service spawned", c.ms(lt["stackup"]) + (
                     f" (no bytecode: {c.ms(nopyc['first'])})" if nopyc else "") + (
                     f"; again, stack unchanged: {c.ms(again['first'])}" if again else ""),
                 c.ms(lt["honcho"]),
                 c.ms(lt["supervisord"]), f"bash script {c.ms(lt['bash'])}", "≤ 100 ms",
                 verdict(min(lt["stackup"], again["first"] if again else 1e9)
                         <= TARGETS["launch"])])
    st, sv = launch["stackup"]["status"], launch["supervisord"]["status"]
    rows.append(["cheapest status command, 5 services up", f"`status` {c.ms(st)}" + (
                     f" (no bytecode: {c.ms(nopyc['status'])})" if nopyc else ""), "n/a",
                 f"`supervisorctl status` {c.ms(sv)}", "n/a", "≤ 60 ms",
                 verdict(st <= TARGETS["status"])])

    def rel(v: str, label: str = "files") -> str:
        r = relay[v]
        wall = r[f"{label}_wall"]
        faults = (f"{int(r[f'{label}_lost']):,} lost, {int(r[f'{label}_bad']):,} cut"
                  if r[f"{label}_lost"] or r[f"{label}_bad"] else "0 lost/cut")
        return f"{c.secs(wall)} ({faults})"

    fg, det = relay["stackup"], relay["stackup -d"]
    clean = fg["files_lost"] == fg["files_bad"] == 0
    rows.append([f"relay 4 × {lines:,} lines × 100 B into the log files",
                 f"`up` {rel('stackup')}; `up -d` {rel('stackup -d')}",
                 f"{rel('honcho')} (stdout to a file)", f"{rel('supervisord')} (no prefixes)",
                 f"shell redirect {rel('shell')}", "≤ 0.8 s, none lost or cut",
                 verdict(clean and fg["files_wall"] <= TARGETS["relay"]
                         and det["files_wall"] <= TARGETS["relay"])])
    shown_ok = fg["stdout_lost"] == fg["stdout_bad"] == 0
    rows.append(["relay: what the foreground shows (stdout)", rel("stackup", "stdout"),
                 rel("honcho"), "—", "—", "none lost or cut",
                 verdict(shown_ok)])
    dep = {t: (ready[t]["lat"] - floor, ready[t]["lat_p95"] - floor) for t in c.TOOLS}
    rows.append([f"dependent spawned after its dependency's port accepts, minus the spawn "
                 f"floor ({c.ms(floor)}), median / p95",
                 *[f"{c.ms(m)} / {c.ms(p)}" for m, p in (dep[t] for t in c.TOOLS)],
                 "≤ 5 ms median", verdict(dep["stackup"][0] <= TARGETS["dep"])])
    web = {t: ready[t]["web"] for t in c.TOOLS}
    best_peer = min(v for t, v in web.items() if t != "stackup")
    rows.append(["diamond db → {api1, api2} → web, 300 ms bind delay: web ready",
                 c.secs(web["stackup"]), c.secs(web["honcho"]), c.secs(web["supervisord"]),
                 f"bash script {c.secs(web['bash'])}", "below every peer",
                 verdict(web["stackup"] < best_peer)])
    s = scale
    su = s["stackup"]
    rows.append(["200 services, 20 levels of 10, 50 ms bind: all ready",
                 c.secs(su["bound"]), c.secs(s["honcho"]["bound"]),
                 c.secs(s["supervisord"]["bound"]), "—", "< 5 s",
                 verdict(su["bound"] < TARGETS["scale_ready"])])
    rows.append(["200 services: supervisor RSS (keeper separately)",
                 f"{su['rss_sup']:.0f} MB (keeper {su['rss_keeper']:.0f} MB)",
                 f"{s['honcho']['rss_sup']:.0f} MB in {int(s['honcho']['procs'])} processes",
                 f"{s['supervisord']['rss_sup']:.0f} MB", "—", "< 100 MB",
                 verdict(su["rss_sup"] < TARGETS["scale_rss"])])
    idle = su["idle_sup"] + su["idle_keeper"]
    rows.append(["200 services: idle CPU over 10 s, % of one core",
                 f"{su['idle_sup']:.2f} % + keeper {su['idle_keeper']:.2f} %",
                 f"{s['honcho']['idle_sup']:.2f} %", f"{s['supervisord']['idle_sup']:.2f} %",
                 "—", "< 2 %", verdict(idle < TARGETS["scale_idle"])])
    return c.table(["figure", "stackup", "honcho", "supervisord", "bash / shell", "target",
                    "verdict"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 2 runs each, 4 × 50,000 lines, 1 run at 200")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    q = args.quick
    runs = {"launch": 2 if q else 7, "ready": 2 if q else 5, "relay": 1 if q else 3,
            "scale": 1 if q else 3}
    lines = 50_000 if q else 200_000
    before, began = c.uptime(), time.monotonic()
    c.compile_stackup()
    vers = c.versions()
    print(f"# make bench — {time.strftime('%Y-%m-%d %H:%M %Z')}\n")
    print(f"before: `{before}`\n")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + "\n", flush=True)

    launch = bench_launch.measure(runs["launch"])
    print(bench_launch.report(launch, runs["launch"]) + "\n", flush=True)
    ready = bench_readiness.measure(runs["ready"])
    print(bench_readiness.report(ready, runs["ready"]) + "\n", flush=True)
    relay = bench_relay.measure(runs["relay"], lines)
    print(bench_relay.report(relay, runs["relay"], lines) + "\n", flush=True)
    mid = c.uptime()
    scale = bench_scale.measure(runs["scale"])
    print(bench_scale.report(scale) + "\n", flush=True)

    after = c.uptime()
    print("## the table (medians)\n")
    print(summary(launch, ready, relay, scale, lines) + "\n")
    print(f"before: `{before}`  \nbefore the 200-service figure: `{mid}`  \n"
          f"after: `{after}`  \ntook {time.monotonic() - began:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": vers, "uptime": [before, mid, after], "launch": launch,
                       "readiness": ready, "relay": relay, "scale": scale}, f, indent=1)


if __name__ == "__main__":
    main()
