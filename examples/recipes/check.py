#!/usr/bin/env python3
"""Checks a running recipes stack from outside, the way a user and a browser see it.

    stackup -f examples/recipes/stack.yaml run [--port-offset N] -- python examples/recipes/check.py

`stackup run` brings the stack up, runs this with the stack's environment (every
`<NAME>_PORT`, `DATABASE_URL`), then takes the stack down. Each check prints an `ok:`
line; the first one that fails prints `FAIL:` and exits 1.

With chromium on PATH (or `CHROMIUM=/path/to/chromium`) it also loads the page in a
headless browser and checks that the recipes the browser fetched from the API are
shown, and that the same page opened from an origin the API does not allow shows the
error instead: CORS as the browser enforces it. `RECIPES_CHECK_BROWSER=require` makes
a missing chromium a failure. `RECIPES_CHECK_REPORT=FILE` writes the stack's
processes and listening ports as JSON, for a caller that checks after `down` that
none is left (tests/e2e/test_recipes.py).
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
STACK = HERE / "stack.yaml"
SEED = json.loads((HERE / "api" / "recipes" / "seed.json").read_text())
HTTP_TIMEOUT = 30.0
BROWSER_DEADLINE = 90.0


class CheckFailed(Exception):
    pass


def ok(message: str) -> None:
    print(f"ok: {message}", flush=True)


def expect(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def env_port(name: str) -> int:
    value = os.environ.get(name)
    expect(value, f"{name} is not set: run this through `stackup run` (see the docstring)")
    return int(value)


def request(
    method: str, url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; 4xx/5xx answers are returned, not raised."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as response:
            status, got, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, body = error.code, error.headers, error.read()
    except OSError as error:
        raise CheckFailed(f"{method} {url}: {error}") from None
    return status, {k.lower(): v for k, v in got.items()}, body


def get_json(url: str) -> tuple[int, object]:
    status, _, body = request("GET", url)
    try:
        return status, json.loads(body)
    except ValueError:
        raise CheckFailed(f"GET {url} answered {status} without JSON: {body[:200]!r}") from None


# -- the stack as stackup sees it --------------------------------------------------------


def stackup_command() -> list[str]:
    if importlib.util.find_spec("stackup") is not None:
        return [sys.executable, "-m", "stackup"]
    found = shutil.which("stackup")
    expect(found, "stackup is neither importable by this Python nor on PATH")
    return [str(found)]


def check_status() -> dict:
    result = subprocess.run(
        [*stackup_command(), "-f", str(STACK), "status", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    try:
        status = json.loads(result.stdout)
    except ValueError:
        raise CheckFailed(f"stackup status --json printed no JSON: {result.stderr.strip()}"
                          ) from None
    expect(status["supervisor"]["running"], "no supervisor is running the stack")
    not_ready = [f"{s['name']} ({s['state']}: {s['reason']})" for s in status["services"]
                 if not s["ready"]]
    expect(not not_ready, f"not ready: {', '.join(not_ready)}")
    expect(result.returncode == 0, f"stackup status exited {result.returncode}")
    names = [s["name"] for s in status["services"]]
    ok(f"stackup status: all {len(names)} services ready ({', '.join(names)})")
    return status


# -- the API -----------------------------------------------------------------------------


def check_health(api: str) -> None:
    status, body = get_json(f"{api}/api/health/")
    expect(status == 200, f"/api/health/ answered {status}: {body}")
    database = body.get("database", {})
    expect(body.get("status") == "ok" and database.get("reachable") is True,
           f"/api/health/ does not report the database reachable: {body}")
    expect(database.get("vendor") == "postgresql", f"/api/health/ is not on PostgreSQL: {body}")
    ok(f"/api/health/: database reachable (PostgreSQL {database.get('server_version')}, "
       f"database {database.get('name')})")


def database_slugs() -> set[str]:
    try:
        import psycopg
    except ImportError:
        raise CheckFailed("psycopg is missing: pip install -r examples/recipes/requirements.txt"
                          ) from None
    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=10) as conn:
        return {row[0] for row in conn.execute("SELECT slug FROM recipes_recipe")}


def check_recipes(api: str) -> None:
    status, body = get_json(f"{api}/api/recipes/")
    expect(status == 200, f"/api/recipes/ answered {status}: {body}")
    got = {r["slug"]: r for r in body["results"]}
    seeded = {r["slug"]: r for r in SEED["recipes"]}
    expect(set(got) == set(seeded),
           f"/api/recipes/ returned {sorted(got)}, the seed has {sorted(seeded)}")
    for slug, row in seeded.items():
        expect(got[slug]["title"] == row["title"] and got[slug]["author"] == row["author"],
               f"/api/recipes/ {slug}: {got[slug]} differs from the seed {row}")
    in_db = database_slugs()
    expect(in_db == set(got), f"the database holds {sorted(in_db)}, the API said {sorted(got)}")
    ok(f"/api/recipes/: the {len(got)} seeded recipes, as stored in PostgreSQL")


def check_profile(api: str) -> None:
    counts: dict[str, int] = {}
    for row in SEED["recipes"]:
        counts[row["author"]] = counts.get(row["author"], 0) + 1
    name = max(counts, key=counts.__getitem__)
    seeded = next(p for p in SEED["profiles"] if p["username"] == name)
    status, body = get_json(f"{api}/api/users/profile/{name}/")
    expect(status == 200, f"/api/users/profile/{name}/ answered {status}: {body}")
    expect(body["display_name"] == seeded["display_name"],
           f"profile {name}: {body['display_name']!r}, the seed says {seeded['display_name']!r}")
    mine = {r["slug"] for r in SEED["recipes"] if r["author"] == name}
    expect({r["slug"] for r in body["recipes"]} == mine,
           f"profile {name} lists {body['recipes']}, the seed has {sorted(mine)}")
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    status, body = get_json(f"{api}/api/users/profile/{nobody}/")
    expect(status == 404, f"/api/users/profile/{nobody}/ answered {status}, not 404: {body}")
    ok(f"/api/users/profile/{name}/: {seeded['display_name']}, {len(mine)} recipes; "
       "an unknown user is 404")


def check_allowed_hosts(api: str) -> None:
    status, _, _ = request("GET", f"{api}/api/health/", {"Host": "evil.example"})
    expect(status == 400, f"a request for Host evil.example answered {status}, not 400")
    ok("ALLOWED_HOSTS: a request for another host name is refused (400)")


def preflight(url: str, origin: str) -> tuple[int, dict[str, str]]:
    status, headers, _ = request("OPTIONS", url, {
        "Origin": origin, "Access-Control-Request-Method": "GET",
    })
    return status, headers


def check_cors(api: str, frontend_port: int) -> None:
    url = f"{api}/api/recipes/"
    origin = f"http://localhost:{frontend_port}"
    status, headers = preflight(url, origin)
    allowed = headers.get("access-control-allow-origin")
    methods = headers.get("access-control-allow-methods", "")
    expect(status == 200 and allowed == origin and "GET" in methods,
           f"the preflight from {origin} was not accepted: {status}, "
           f"Access-Control-Allow-Origin {allowed!r}, methods {methods!r}")
    _, got, _ = request("GET", url, {"Origin": origin})
    expect(got.get("access-control-allow-origin") == origin,
           f"GET from {origin} has Access-Control-Allow-Origin "
           f"{got.get('access-control-allow-origin')!r}")
    ok(f"CORS: a preflight from the frontend's origin {origin} is accepted")
    # A frontend on the wrong port is the everyday mistake; a foreign site the obvious one.
    for other in (f"http://localhost:{frontend_port + 1}", "https://evil.example"):
        status, headers = preflight(url, other)
        expect("access-control-allow-origin" not in headers,
               f"the preflight from {other} was accepted: Access-Control-Allow-Origin "
               f"{headers.get('access-control-allow-origin')!r}")
        ok(f"CORS: a preflight from {other} is refused (no Access-Control-Allow-Origin)")


# -- the frontend ------------------------------------------------------------------------


def check_page(frontend: str, api: str) -> None:
    status, _, body = request("GET", f"{frontend}/")
    page = body.decode(errors="replace")
    expect(status == 200, f"GET {frontend}/ answered {status}")
    expect("<h1>Recipes</h1>" in page, f"{frontend}/ is not the recipes page: {page[:300]!r}")
    expect(api in page, f"{frontend}/ does not hand the browser the API's address {api}")
    # The recipes must come from the browser's own fetch, not the server's rendering:
    # otherwise the browser check below would not be about CORS at all.
    rendered = [r["title"] for r in SEED["recipes"] if html.escape(r["title"]) in page]
    expect(not rendered, f"the server rendered recipes into the page: {rendered}")
    ok(f"Next.js serves {frontend}/, pointing the browser at {api}")


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def dump_dom(chromium: str, url: str) -> str:
    """The page's DOM after its scripts ran, from a fresh headless browser; every process
    the browser started is gone when this returns."""
    marker = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="recipes-chromium-") as profile:
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-breakpad",
             f"--user-data-dir={profile}",
             # Virtual time stands still while a fetch is in flight, so the DOM is dumped
             # once the page's own request has been answered (or refused).
             "--virtual-time-budget=10000", "--dump-dom", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={**os.environ, "RECIPES_CHECK_BROWSER_RUN": marker},
            start_new_session=True,
        )
        try:
            out, err = browser.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            out, err = b"", b"timed out after 60s"
        finally:
            end_browser(browser, marker)
    if browser.returncode != 0:
        raise CheckFailed(f"chromium exited {browser.returncode} on {url}: "
                          f"{err.decode(errors='replace')[-500:]}")
    return out.decode(errors="replace")


def end_browser(browser: subprocess.Popen[bytes], marker: str) -> None:
    """Kill what this browser run left (its crash handler leaves the group): only
    processes carrying this run's marker, which we started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(browser.pid, signal.SIGKILL)
    browser.wait(10)
    try:
        import psutil
    except ImportError:
        return
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("RECIPES_CHECK_BROWSER_RUN") == marker:
                proc.kill()
        except (psutil.Error, OSError):
            continue


def page_state(dom: str) -> str | None:
    # The list's element (app/recipe-list.js) says how the browser's fetch went.
    match = re.search(r'id="recipes"[^>]*?data-state="(\w+)"', dom)
    return match.group(1) if match else None


def browser_view(chromium: str, url: str) -> tuple[str, str]:
    """Load `url` until the page settled (the list loaded or failed), within a deadline:
    a first load may still be waiting on a compile."""
    deadline = time.monotonic() + BROWSER_DEADLINE
    while True:
        dom = dump_dom(chromium, url)
        state = page_state(dom)
        if state in ("loaded", "error"):
            return state, dom
        if time.monotonic() > deadline:
            raise CheckFailed(f"the page at {url} did not settle (state {state!r}): {dom[-500:]}")
        time.sleep(0.5)


def loopback_v6_serves(port: int) -> bool:
    try:
        with socket.create_connection(("::1", port), timeout=2):
            return True
    except OSError:
        return False


def check_browser(frontend_port: int) -> None:
    chromium = find_chromium()
    if chromium is None:
        expect(os.environ.get("RECIPES_CHECK_BROWSER") != "require",
               "chromium not found (Debian: apt install chromium), and "
               "RECIPES_CHECK_BROWSER=require")
        print("skipped: the browser checks (no chromium on PATH; Debian: apt install chromium)")
        return
    url = f"http://localhost:{frontend_port}/"
    state, dom = browser_view(chromium, url)
    expect(state == "loaded", f"in the browser, {url} failed to load the recipes: "
                              f"{re.sub(r'<[^>]+>', '', dom)[-400:]}")
    missing = [r["title"] for r in SEED["recipes"] if html.escape(r["title"]) not in dom]
    expect(not missing, f"in the browser, {url} does not show {missing}")
    ok(f"browser: {url} shows the {len(SEED['recipes'])} recipes it fetched from the API")
    if not loopback_v6_serves(frontend_port):
        print("skipped: the refused-origin browser check (the frontend does not answer on ::1)")
        return
    other = f"http://[::1]:{frontend_port}/"
    state, dom = browser_view(chromium, other)
    expect(state == "error", f"in the browser, {other} (an origin the API does not allow) "
                             f"loaded the recipes anyway: state {state!r}")
    ok(f"browser: the same page opened as {other}, an origin the API does not allow, "
       "is refused the recipes")


# -- the report for the caller -----------------------------------------------------------


def write_report(status: dict, path: str) -> None:
    """Every process of the stack (each service's whole tree) and every port it listens
    on, so that the caller can check after `down` that all of them are gone."""
    import psutil

    services = {}
    for svc in status["services"]:
        if not svc["pid"]:
            continue
        root = psutil.Process(svc["pid"])
        family = [root, *root.children(recursive=True)]
        members, listening = [], set()
        for proc in family:
            try:
                with proc.oneshot():
                    members.append({"pid": proc.pid, "create_time": proc.create_time(),
                                    "name": proc.name(), "cmdline": proc.cmdline(),
                                    "username": proc.username()})
                    listening.update(c.laddr.port for c in proc.net_connections("tcp")
                                     if c.status == psutil.CONN_LISTEN)
            except psutil.NoSuchProcess:
                continue
        services[svc["name"]] = {"port": svc["port"], "processes": members,
                                 "listening": sorted(listening)}
    Path(path).write_text(json.dumps({"services": services}, indent=2))
    ok(f"wrote the stack's processes and ports to {path}")


def main() -> int:
    api_port, frontend_port = env_port("API_PORT"), env_port("FRONTEND_PORT")
    api, frontend = f"http://localhost:{api_port}", f"http://localhost:{frontend_port}"
    try:
        status = check_status()
        if os.environ.get("RECIPES_CHECK_REPORT"):
            write_report(status, os.environ["RECIPES_CHECK_REPORT"])
        check_health(api)
        check_recipes(api)
        check_profile(api)
        check_allowed_hosts(api)
        check_cors(api, frontend_port)
        check_page(frontend, api)
        check_browser(frontend_port)
    except CheckFailed as failure:
        print(f"FAIL: {failure}", flush=True)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
