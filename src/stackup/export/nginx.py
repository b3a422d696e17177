"""`stackup export nginx`: one nginx.conf that puts the stack behind one port, by the
services' `routes:` (`/api/v1/` → backend as `/api/`, `/` → frontend).

The file is a complete configuration that runs unprivileged from any folder (pid and
temp files relative to nginx's `-p` prefix, logs to stdout/stderr), so a stack can run
it as one of its services; its `server` block is the site to copy into a system nginx.
Requests are proxied with HTTP/1.1 and the Upgrade headers passed on, so a dev
server's HMR websocket works through it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stackup.config.model import Route, Service, Stack
from stackup.errors import UsageError
from stackup.export.common import Secrets, header

DEFAULT_LISTEN = ("80",)
_LISTEN = re.compile(r"^(?:(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):)?(?P<port>\d{1,5})$")
_ANY = {"0.0.0.0", "::", "[::]"}
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class _Location:
    route: Route
    service: Service


def check_listen(values: Sequence[str]) -> tuple[str, ...]:
    """`--listen` values as nginx's `listen` takes them: `PORT` or `HOST:PORT`."""
    for value in values:
        match = _LISTEN.match(value)
        if not match or not 1 <= int(match.group("port")) <= 65535:
            raise UsageError(
                f"--listen {value!r}: give a port (8080) or host:port (127.0.0.1:8080, [::1]:8080)"
            )
    return tuple(values)


def export_nginx(
    stack: Stack, services: list[str], secrets: Secrets, listen: Sequence[str] = DEFAULT_LISTEN
) -> dict[str, str]:
    del secrets  # routes, hosts and ports hold no secret
    routed = [s for n, s in stack.services.items() if n in services and s.routes and s.port]
    if not routed:
        raise UsageError(
            "no selected service has `routes:`; give the services a proxy serves"
            " `routes: [/path/]` (README: Routes)"
        )
    locations = sorted(
        (_Location(r, s) for s in routed for r in s.routes),
        key=lambda loc: (-len(loc.route.path), loc.route.path),
    )
    comments = [
        *header(stack, "nginx"),
        "A complete nginx configuration; it runs unprivileged from the folder it is in:",
        "  nginx -p FOLDER -c nginx.conf -e stderr -g 'daemon off;'",
        "(pid and temp files go into FOLDER). The `server` block is the site: copy it",
        "into /etc/nginx/sites-enabled/ (with the upstreams) to use a system nginx.",
        "Routes:",
        *(f"  {_describe(loc)}" for loc in locations),
    ]
    lines = [f"# {c}".rstrip() for c in comments]
    lines += [
        "",
        "worker_processes 1;",
        "pid nginx.pid;",
        "error_log stderr;",
        "",
        "events {",
        "    worker_connections 512;",
        "}",
        "",
        "http {",
        "    access_log /dev/stdout;",
        "    client_body_temp_path client_body_temp;",
        "    proxy_temp_path proxy_temp;",
        "    fastcgi_temp_path fastcgi_temp;",
        "    uwsgi_temp_path uwsgi_temp;",
        "    scgi_temp_path scgi_temp;",
        "",
        "    # A websocket (Vite's HMR) asks to upgrade; anything else closes after the answer.",
        "    map $http_upgrade $connection_upgrade {",
        "        default upgrade;",
        "        '' close;",
        "    }",
    ]
    for svc in routed:
        lines += ["", f"    upstream {svc.name} {{"]
        first, *others = _addresses(svc)
        lines.append(f"        server {first} max_fails=0;")
        lines += [f"        server {address} max_fails=0 backup;" for address in others]
        lines.append("    }")
    lines += ["", "    server {"]
    lines += [f"        listen {value};" for value in listen]
    lines += [
        "        server_name _;",
        "        proxy_http_version 1.1;",
        "        proxy_set_header Host $http_host;",
        "        proxy_set_header Upgrade $http_upgrade;",
        "        proxy_set_header Connection $connection_upgrade;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "        proxy_set_header X-Forwarded-Host $http_host;",
        "        # An idle HMR websocket must not be cut after nginx's default 60 s.",
        "        proxy_read_timeout 1h;",
        "        proxy_send_timeout 1h;",
    ]
    for loc in locations:
        lines += ["", f"        location {loc.route.path} {{"]
        lines.append(f"            proxy_pass {_target(loc)};")
        lines.append("        }")
    lines += ["    }", "}"]
    return {"nginx.conf": "\n".join(lines) + "\n"}


def _addresses(svc: Service) -> list[str]:
    """Where nginx connects. A loopback service is tried on 127.0.0.1, then on ::1 (a
    backup: used only when 127.0.0.1 refuses): a dev server on `localhost` listens on
    ::1 only where localhost resolves to it first (Vite)."""
    assert svc.port is not None
    host = svc.host
    if host in _ANY or host in _LOOPBACK:
        return [f"127.0.0.1:{svc.port}", f"[::1]:{svc.port}"]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return [f"{host}:{svc.port}"]


def _target(loc: _Location) -> str:
    # Without a URI part nginx passes the request's URI on untouched; with one it
    # replaces the matched prefix (`/api/v1/x` → `/api/x`).
    base = f"http://{loc.service.name}"
    return base + loc.route.to if loc.route.rewrites else base


def _describe(loc: _Location) -> str:
    where = f"{loc.service.name} ({loc.service.host}:{loc.service.port})"
    if loc.route.rewrites:
        return f"{loc.route.path} -> {where} as {loc.route.to}"
    return f"{loc.route.path} -> {where}"
