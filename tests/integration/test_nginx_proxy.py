"""`stackup export nginx` really routes: a stack whose proxy service runs a real nginx
on the config a oneshot exported from inside the stack (under a port offset, so the
child `stackup` must resolve the ports the stack really runs on), and requests sent
through it reach the right service with the right path."""

from __future__ import annotations

import http.client
import json
import shutil

import psutil
import pytest

from tests.conftest import PY, poll, svc

NGINX = shutil.which("nginx")
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx not installed (apt-get install nginx-light; .ci/run installs it)"
)
OFFSET = 7


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_exported_nginx_routes_requests_to_the_stack(stackup, port):
    # Ports as written in the file; the stack runs them OFFSET higher.
    api1, api2, web, proxy = (port() - OFFSET for _ in range(4))
    stackup.write(f"""
        services:
          api1:
            command: {svc("--http", "--http-name", "api1")}
            port: {api1}
            health: {{http: /}}
            routes:
              - {{path: /api/v1/, to: /api/}}
          api2:
            command: {svc("--http", "--http-name", "api2")}
            port: ${{API2_PORT:-{api2}}}
            health: {{http: /}}
            routes: [{{path: /api/v2/, to: /api/}}, /static/]
          web:
            # Listens on ::1 only, as Vite does where localhost resolves to ::1 first.
            command: {svc("--http", "--http-name", "web", "--host", "::1")}
            port: {web}
            host: localhost
            health: {{http: /}}
            routes: [/]
          proxy-config:
            oneshot: true
            command: >-
              {PY} -m stackup export nginx --listen 127.0.0.1:${{PROXY_PORT}} -o nginx --force
              && nginx -t -q -p nginx -c nginx.conf -e stderr
          proxy:
            command: nginx -p nginx -c nginx.conf -e stderr -g 'daemon off;'
            port: {proxy}
            health: {{http: /api/v1/}}
            depends_on: [proxy-config, api1, api2, web]
        """)
    try:
        result = stackup.run("up", "-d", "--port-offset", str(OFFSET), timeout=60)
        assert result.returncode == 0, result.stderr
        proxy_port = proxy + OFFSET

        config = (stackup.dir / "nginx" / "nginx.conf").read_text()
        assert f"server 127.0.0.1:{api1 + OFFSET} max_fails=0;" in config  # offset seen once
        assert f"server 127.0.0.1:{api2 + OFFSET} max_fails=0;" in config
        assert f"listen 127.0.0.1:{proxy_port};" in config

        assert get(proxy_port, "/api/v1/health/") == (200, "api1 /api/health/ 200\n")
        assert get(proxy_port, "/api/v2/tenants/?x=1") == (200, "api2 /api/tenants/?x=1 200\n")
        assert get(proxy_port, "/static/app.js") == (200, "api2 /static/app.js 200\n")
        assert get(proxy_port, "/") == (200, "web / 200\n")  # reached on ::1
        assert get(proxy_port, "/patients/7") == (200, "web /patients/7 200\n")
        # The Host header is passed on (Django's ALLOWED_HOSTS, Vite's host check see it).
        assert get(proxy_port, "/", {"Host": "localhost:1234"})[0] == 200

        status = json.loads(stackup.run("status", "--json").stdout)
        master = psutil.Process(next(s["pid"] for s in status["services"] if s["name"] == "proxy"))
        family = [master, *master.children(recursive=True)]
        assert any("worker process" in " ".join(p.cmdline()) for p in family)
    finally:
        down = stackup.run("down", timeout=60)  # also when an assertion failed
    assert down.returncode == 0, down.stderr
    # nginx rewrites its processes' environ (its title), so stackup's markers are not
    # what finds the workers: the process tree is, and nothing of it is left.
    poll(lambda: all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in family))
