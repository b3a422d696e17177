"""`stackup export nginx`: the config it writes for the services' routes, checked as
text here and by a real `nginx -t` when nginx is installed; that it really routes is
tests/integration/test_nginx_proxy.py."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from stackup.cli import main
from stackup.config import load_stack
from stackup.config.graph import select
from stackup.errors import UsageError
from stackup.export import export

STACK = """
    name: medcor
    env:
      DB_PASSWORD: hunter22secret
    services:
      db:
        command: postgres --password=${DB_PASSWORD}
        port: 5432
      backend:
        command: serve
        port: 8000
        routes: [{path: /api/v1/, to: /api/}]
      backend2:
        command: serve
        port: 8002
        host: 10.1.2.3
        routes: [{path: /api/v2/, to: /api/}, /static/]
      frontend:
        command: vite
        port: 5000
        host: localhost
        routes: [/]
      mcp:
        command: mcp
        port: 8080
        host: "fd00::1"
        profiles: [voice]
        routes: [/mcp]
"""


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(STACK))
    return path


def conf(file: Path, *, offset: int = 0, listen: tuple[str, ...] = (), names=()) -> str:
    stack = load_stack(file, environ={}, port_offset=offset)
    files = export(stack, "nginx", select(stack, list(names)), listen=listen)
    assert list(files) == ["nginx.conf"]
    return files["nginx.conf"]


def block(text: str, opening: str) -> str:
    start = text.index(opening)
    return text[start : text.index("}", start) + 1]


def test_upstreams_locations_and_rewrites(file: Path) -> None:
    text = conf(file)
    assert block(text, "upstream backend {") == (
        "upstream backend {\n"
        "        server 127.0.0.1:8000 max_fails=0;\n"
        "        server [::1]:8000 max_fails=0 backup;\n"
        "    }"
    )
    assert "server 10.1.2.3:8002 max_fails=0;" in block(text, "upstream backend2 {")
    assert "[::1]" not in block(text, "upstream backend2 {")  # not a loopback service
    # A rewrite replaces the prefix; without one the request's URI goes on untouched.
    assert "proxy_pass http://backend/api/;" in block(text, "location /api/v1/ {")
    assert "proxy_pass http://backend2/api/;" in block(text, "location /api/v2/ {")
    assert "proxy_pass http://backend2;" in block(text, "location /static/ {")
    assert "proxy_pass http://frontend;" in block(text, "location / {")
    assert "listen 80;" in text  # the default, as in production
    # Services without routes, and those left out of the selection, are not in it.
    assert "upstream db" not in text and "upstream mcp" not in text
    # Longest prefixes first, so the file reads in the order nginx matches.
    order = [text.index(f"location {p} {{") for p in ("/api/v1/", "/api/v2/", "/static/", "/")]
    assert order == sorted(order)


def test_websockets_are_passed_through(file: Path) -> None:
    text = conf(file)
    assert "map $http_upgrade $connection_upgrade {" in text
    server = text[text.index("    server {") :]
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $http_host;",
        "proxy_read_timeout 1h;",
    ):
        assert line in server


def test_ports_follow_the_offset_and_listen_is_repeatable(file: Path) -> None:
    text = conf(file, offset=100, listen=("127.0.0.1:8188", "[::1]:8188"))
    assert "server 127.0.0.1:8100 max_fails=0;" in text
    assert "server 127.0.0.1:5100 max_fails=0;" in text
    assert "listen 127.0.0.1:8188;\n        listen [::1]:8188;" in text
    assert "listen 80;" not in text


def test_a_named_service_is_included_with_an_ipv6_host(file: Path) -> None:
    text = conf(file, names=("mcp",))
    assert "server [fd00::1]:8080 max_fails=0;" in text
    assert "location /mcp {" in text
    assert "upstream backend " not in text  # only mcp and what it depends on


def test_no_secret_is_written(file: Path) -> None:
    assert "hunter22secret" not in conf(file)


def test_refusals(file: Path) -> None:
    stack = load_stack(file, environ={})
    with pytest.raises(UsageError, match="no selected service has `routes:`"):
        export(stack, "nginx", ["db"])
    with pytest.raises(UsageError, match="--listen is for `export nginx` only"):
        export(stack, "env", ["db"], listen=("8080",))
    for bad in ("80;", "host:", "99999", "a b:80"):
        with pytest.raises(UsageError, match="--listen"):
            export(stack, "nginx", select(stack), listen=(bad,))


def test_cli_writes_it(file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["-f", str(file), "export", "nginx", "--listen", "8088", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "listen 8088;" in (out / "nginx.conf").read_text()
    bad = CliRunner().invoke(main, ["-f", str(file), "export", "nginx", "--listen", "x"])
    assert bad.exit_code == 2 and bad.stderr.startswith("stackup: --listen 'x'")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
def test_nginx_accepts_it(file: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(conf(file, listen=("127.0.0.1:8088",), names=("mcp",)))
    (prefix / "all.conf").write_text(conf(file, listen=("127.0.0.1:8088",)))
    for name in ("nginx.conf", "all.conf"):
        result = subprocess.run(
            ["nginx", "-t", "-p", str(prefix), "-c", name, "-e", "stderr"],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert "test is successful" in result.stderr
