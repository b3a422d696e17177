"""Asserts from outside that the MedCor platform is up and right; run it in the stack:

    stackup -f examples/medcor/stack.yaml run --profile proxy -- python examples/medcor/check.py

It reads the ports from the environment `stackup run` gives it (<NAME>_PORT), asks
`stackup status --json` what runs, and checks: every service ready; both backends'
/api/health/ with the database reachable and their seeded rows; CORS preflights (the
frontend's origin accepted, another refused); the frontend's page (on 127.0.0.1, or
with --frontend-on ::1 on ::1 only); through the proxy, when it runs: /api/v1/ →
backend, /api/v2/ → backend2, / → the frontend and its HMR websocket; the voice
server's MCP tools when it runs; with --browser, the page rendered by headless
Chromium, both backends' answers in it. Exits 0, or 1 after printing what failed.
--pids-file writes every process of the stack (service trees included), so a test
can check after `down` that none is left.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STACK = HERE / "stack.yaml"
FOREIGN_ORIGIN = "http://evil.example.com"
PATIENTS = ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
CLINICS = ["MedCor North", "MedCor South"]


class CheckFailed(AssertionError):
    pass


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def port(name: str) -> int:
    return int(os.environ[f"{name.upper().replace('-', '_')}_PORT"])


def request(
    host: str, port_: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port_, timeout=10)
    try:
        conn.request(method, path, headers={"Host": f"localhost:{port_}", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def get_json(host: str, port_: int, path: str) -> dict:
    status, _, body = request(host, port_, path)
    expect(status == 200, f"GET {host}:{port_}{path} answered {status}: {body[:200]!r}")
    return json.loads(body)


def check_status(profiles: set[str]) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "stackup", "-f", str(STACK), "status", "--json"],
        capture_output=True, text=True, timeout=30,
    )
    expect(out.returncode == 0, f"stackup status exited {out.returncode}: {out.stdout}{out.stderr}")
    services = json.loads(out.stdout)["services"]
    not_ready = [f"{s['name']} is {s['state']}" for s in services if not s["ready"]]
    expect(not not_ready, f"not ready: {', '.join(not_ready)}")
    names = {s["name"] for s in services}
    wanted = {"db", "migrate", "backend", "backend2", "frontend"}
    wanted |= {"proxy"} if "proxy" in profiles else set()
    wanted |= {"mcp"} if "voice" in profiles else set()
    expect(wanted <= names, f"status shows {sorted(names)}, expected {sorted(wanted)} among them")
    return services


def check_backend(name: str, api: str, rows_path: str, rows_key: str, wanted: list[str]) -> None:
    health = get_json("127.0.0.1", port(name), "/api/health/")
    expect(health.get("service") == f"medcor_{name}" and health.get("api") == api, f"{health}")
    database = health.get("database", {})
    expect(database.get("reachable") is True, f"{name}: database not reachable: {database}")
    expect("PostgreSQL 15" in database.get("server", ""), f"{name}: database says {database}")
    rows = get_json("127.0.0.1", port(name), rows_path)[rows_key]
    names = [row["name"] for row in rows]
    expect(names == wanted, f"{name}{rows_path}: {names}, expected the seeded {wanted}")
    print(f"ok  {name}: /api/health/ (database reachable: {database['server']}), {rows_path}")


def check_cors(name: str) -> None:
    frontend_origin = f"http://localhost:{port('frontend')}"
    for origin, allowed in ((frontend_origin, True), (FOREIGN_ORIGIN, False)):
        status, headers, _ = request(
            "127.0.0.1", port(name), "/api/health/", "OPTIONS",
            {"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        granted = headers.get("access-control-allow-origin")
        if allowed:
            expect(status == 200 and granted == origin, f"{name}: preflight from {origin}: "
                   f"{status}, Access-Control-Allow-Origin {granted!r}")
        else:
            expect(granted is None, f"{name}: preflight from {origin} was allowed ({granted!r})")
    print(f"ok  {name}: CORS preflight from {frontend_origin} accepted, from {FOREIGN_ORIGIN} not")


def serves_page(host: str, port_: int) -> bool:
    try:
        status, _, body = request(host, port_, "/")
    except OSError:
        return False
    return status == 200 and b"<title>MedCor</title>" in body and b"/@vite/client" in body


def check_frontend(frontend_on: str | None) -> None:
    frontend = port("frontend")
    on = {host: serves_page(host, frontend) for host in ("127.0.0.1", "::1")}
    expect(any(on.values()), f"the frontend serves no page on port {frontend}")
    if frontend_on is not None:
        others = [h for h, ok in on.items() if ok and h != frontend_on]
        expect(on[frontend_on] and not others,
               f"the frontend should serve on {frontend_on} only, serves on {on}")
    served = ", ".join(h for h, ok in on.items() if ok)
    print(f"ok  frontend: serves its page on port {frontend} ({served})")


def check_proxy() -> None:
    proxy = port("proxy")
    v1 = get_json("127.0.0.1", proxy, "/api/v1/health/")
    expect(v1.get("service") == "medcor_backend", f"/api/v1/health/ reached {v1}")
    v2 = get_json("127.0.0.1", proxy, "/api/v2/health/")
    expect(v2.get("service") == "medcor_backend2", f"/api/v2/health/ reached {v2}")
    tenants = get_json("127.0.0.1", proxy, "/api/v2/tenants/")["tenants"]
    expect([t["name"] for t in tenants] == CLINICS, f"/api/v2/tenants/: {tenants}")
    expect(serves_page("127.0.0.1", proxy), "the proxy's / does not serve the frontend's page")
    # Vite's HMR client opens a websocket to the page's own origin: through nginx here.
    _, _, client = request("127.0.0.1", proxy, "/@vite/client")
    token = re.search(rb'wsToken = "([^"]+)"', client)
    expect(token, "no HMR token in /@vite/client")
    with socket.create_connection(("127.0.0.1", proxy), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /?token={token.group(1).decode()} HTTP/1.1\r\nHost: localhost:{proxy}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: vite-hmr\r\n"
            f"Origin: http://localhost:{proxy}\r\n\r\n".encode()
        )
        answer = b""
        while b'"connected"' not in answer and len(answer) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    expect(answer.startswith(b"HTTP/1.1 101"), f"HMR websocket through the proxy: {answer[:200]!r}")
    expect(b'"connected"' in answer, f"no HMR hello through the proxy: {answer[:300]!r}")
    print(f"ok  proxy on {proxy}: /api/v1/ → backend, /api/v2/ → backend2, / → frontend + HMR")


def check_mcp() -> None:
    import asyncio

    sys.path.insert(0, str(HERE / "mcp"))
    from quiet import quiet_authlib

    quiet_authlib()
    from fastmcp import Client

    async def call() -> tuple[list[str], object, object]:
        async with Client(f"http://127.0.0.1:{port('mcp')}/mcp") as client:
            tools = [t.name for t in await client.list_tools()]
            clinics = (await client.call_tool("list_clinics", {})).data
            count = (await client.call_tool("count_patients", {"clinic": "north"})).data
            return tools, clinics, count

    tools, clinics, count = asyncio.run(call())
    expect({"list_clinics", "count_patients"} <= set(tools), f"MCP tools: {tools}")
    expect(clinics == CLINICS and count == 2, f"MCP answered {clinics}, {count}")
    print(f"ok  mcp: tools {tools} answer from backend2 ({clinics}, north has {count})")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def rendered(url: str) -> str:
    browser = chromium()
    assert browser is not None
    with tempfile.TemporaryDirectory(prefix="medcor-chromium-") as profile:
        out = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
    expect(out.returncode == 0, f"chromium exited {out.returncode}: {out.stderr[-500:]}")
    return out.stdout


def check_browser(proxied: bool) -> None:
    urls = [f"http://localhost:{port('frontend')}/"]
    if proxied:
        urls.append(f"http://localhost:{port('proxy')}/")
    for url in urls:
        dom = rendered(url)
        for section in ("v1-health", "v1-patients", "v2-health", "v2-tenants"):
            state = re.search(rf'id="{section}" data-state="(\w+)"', dom)
            expect(state and state.group(1) == "ok",
                   f"{url}: {section} is {state.group(1) if state else 'missing'}:\n{dom[-1500:]}")
        for text in (*PATIENTS, *CLINICS, '"reachable": true'):
            expect(text in dom, f"{url}: {text!r} not rendered:\n{dom[-1500:]}")
        print(f"ok  browser: {url} rendered both backends' answers (fetched by Chromium)")


def write_pids(services: list[dict], path: Path) -> None:
    import psutil

    processes = []
    for service in services:
        if not service.get("pid"):
            continue
        try:
            root = psutil.Process(service["pid"])
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in family:
            try:
                processes.append({
                    "service": service["name"], "pid": proc.pid,
                    "create_time": proc.create_time(), "name": proc.name(),
                })
            except psutil.NoSuchProcess:
                continue
    ports = [s["port"] for s in services if s.get("port")]
    path.write_text(json.dumps({"processes": processes, "ports": ports}, indent=1))
    print(f"ok  recorded {len(processes)} processes of the stack in {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="append", default=[], help="profiles the stack runs")
    parser.add_argument("--frontend-on", choices=["127.0.0.1", "::1"], help="expect only here")
    parser.add_argument("--browser", action="store_true", help="also render the page in Chromium")
    parser.add_argument("--pids-file", type=Path, help="write the stack's processes here")
    args = parser.parse_args()
    profiles = set(args.profile)
    try:
        services = check_status(profiles)
        print(f"ok  status: {len(services)} services ready")
        check_backend("backend", "v1", "/api/patients/", "patients", PATIENTS)
        check_backend("backend2", "v2", "/api/tenants/", "tenants", CLINICS)
        check_cors("backend")
        check_cors("backend2")
        check_frontend(args.frontend_on)
        if "proxy" in profiles:
            check_proxy()
        if "voice" in profiles:
            check_mcp()
        if args.browser:
            expect(chromium(), "--browser: chromium is not installed (apt-get install chromium)")
            check_browser("proxy" in profiles)
        if args.pids_file:
            write_pids(services, args.pids_file)
    except CheckFailed as failed:
        print(f"FAIL {failed}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
