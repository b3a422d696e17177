"""An external service is not run by the stack: the exports that run processes leave
it out (and what depends on it simply refers to what the target provides), while
`export env` and `export nginx` keep its port and routes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from stackup.config import graph, load_stack
from stackup.export import export

STACK = """
services:
  shared-db:
    external: true
    port: 5433
    routes: [/db-admin/]
  api:
    command: python api.py
    port: 8000
    image: acme/api:1
    routes: [/api/]
    depends_on: [shared-db]
"""


def load(tmp_path: Path):
    path = tmp_path / "stack.yaml"
    path.write_text(textwrap.dedent(STACK))
    stack = load_stack(path, environ={})
    return stack, graph.select(stack)


def test_the_exports_that_run_processes_leave_it_out(tmp_path: Path) -> None:
    stack, selected = load(tmp_path)
    compose = yaml.safe_load(export(stack, "compose", selected)["compose.yaml"])
    assert list(compose["services"]) == ["api"]
    assert "depends_on" not in compose["services"]["api"]
    procfile = export(stack, "procfile", selected)["Procfile"]
    assert "shared-db" not in procfile and "api:" in procfile
    units = export(stack, "systemd", selected)
    assert not any("shared-db" in name for name in units)
    kube = "".join(export(stack, "kubernetes", selected).values())
    assert "shared-db" not in kube


def test_env_and_nginx_keep_its_port_and_routes(tmp_path: Path) -> None:
    stack, selected = load(tmp_path)
    env = "".join(export(stack, "env", selected).values())
    assert "SHARED_DB_PORT=5433" in env
    nginx = export(stack, "nginx", selected)["nginx.conf"]
    assert "/db-admin/" in nginx and "5433" in nginx
