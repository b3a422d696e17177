"""`routes:`: the forms a service may write, what they resolve to, and where they show
(`config`, `ports` as text, JSON and Markdown). Invalid routes: tests/config_corpus/4x."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from stackup.cli import main
from stackup.config import load_stack
from stackup.config.model import Route

STACK = """
    services:
      api:
        command: serve
        port: 8000
        routes:
          - {path: /api/v1/, to: /api/}
          - /admin/
          - {path: "${PREFIX:-/v1}/docs/"}
      web:
        command: serve
        port: 5000
        routes: /
      worker:
        command: work
"""


def write(tmp_path: Path, text: str = STACK) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_route_forms_resolve(tmp_path: Path) -> None:
    stack = load_stack(write(tmp_path), environ={})
    assert stack.services["api"].routes == (
        Route("/api/v1/", "/api/"),
        Route("/admin/", "/admin/"),
        Route("/v1/docs/", "/v1/docs/"),  # interpolated, like every other string
    )
    assert stack.services["web"].routes == (Route("/", "/"),)  # a lone string is a list of one
    assert stack.services["worker"].routes == ()


def test_route_describes_its_rewrite() -> None:
    assert Route("/api/v1/", "/api/").rewrites
    assert Route("/api/v1/", "/api/").describe() == "/api/v1/ → /api/"
    assert not Route("/", "/").rewrites
    assert Route("/", "/").describe() == "/"


def test_routes_interpolate_from_the_environment(tmp_path: Path) -> None:
    stack = load_stack(write(tmp_path), environ={"PREFIX": "/beta"})
    assert stack.services["api"].routes[2] == Route("/beta/docs/", "/beta/docs/")


def test_config_and_ports_show_routes(tmp_path: Path) -> None:
    file = str(write(tmp_path))
    runner = CliRunner()
    config = json.loads(runner.invoke(main, ["-f", file, "config", "--json"]).stdout)
    assert config["services"]["api"]["routes"][0] == {"path": "/api/v1/", "to": "/api/"}
    assert config["services"]["worker"]["routes"] == []

    rows = json.loads(runner.invoke(main, ["-f", file, "ports", "--json"]).stdout)
    by_name = {r["service"]: r for r in rows}
    assert by_name["web"]["routes"] == [{"path": "/", "to": "/"}]
    assert by_name["api"]["routes"][1] == {"path": "/admin/", "to": "/admin/"}

    text = runner.invoke(main, ["-f", file, "ports"]).stdout
    assert "ROUTES" in text.splitlines()[0]
    assert "/api/v1/ → /api/, /admin/, /v1/docs/" in text

    markdown = runner.invoke(main, ["-f", file, "ports", "--markdown"]).stdout
    assert "| Service | Port | URL | Routes | Description | Profiles |" in markdown
    assert "| web | 5000 | localhost:5000 | / |  |  |" in markdown
