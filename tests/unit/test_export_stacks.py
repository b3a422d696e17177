"""Stacks shared by the export tests (no tests here: named test_export* to sit with them)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from stackup.config import load_stack
from stackup.config.model import Stack

ROOT = Path(__file__).resolve().parents[2]
SPEC_EXAMPLE = ROOT / "tests" / "stacks" / "spec_example" / "stack.yaml"
SPEC_SECRETS = ("dev-not-secret-123", "hunter22")  # from spec_example/.env

RICH_ENVIRON = {"GH_TOKEN": "ghp_process_tok"}
RICH_SECRETS = (
    "s3cr3tpw",  # .env DB_PASSWORD, also inside DATABASE_URL and a command
    "sk_live_abcdef",  # stack env STRIPE_API_KEY
    "sess-value-1",  # service env SESSION_SECRET
    "ghp_process_tok",  # process env, referred to by a command
    "inlinepw9",  # a password written straight into a URL
    "svc-file-tok",  # a service env_file
)

RICH_YAML = """
name: Demo App
env:
  DATABASE_URL: postgresql://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app
  STRIPE_API_KEY: sk_live_abcdef
  PRICE: "5$$ or 10%"
  LEGACY_URL: mysql://root:inlinepw9@10.0.0.1/db
services:
  db:
    command: postgres --password=${DB_PASSWORD}
    port: 5432
    health: {command: [pg_isready, "--password=${DB_PASSWORD}"], interval: 500ms}
    user: postgres
    restart: on-failure
    max_restarts: 3
    stop_signal: SIGINT
    stop_timeout: 2.5
  web:
    command: [serve, "--token=${GH_TOKEN}", "a b"]
    cwd: web
    port: 8080
    env: {SESSION_SECRET: sess-value-1, GREETING: "it's \\"quoted\\" \\\\ back"}
    env_file: web.env
    health: {http: {path: /healthz, status: 204}}
    depends_on: [db]
    restart: always
    description: The web front
  worker:
    command: |
      echo start
      run-worker --db "$$DATABASE_URL"
    health: {log: "ready"}
    depends_on: {db: {condition: started}}
    profiles: [bg]
  task:
    oneshot: true
    command: echo 100% && printf '%s' "$$HOME"
    depends_on: {worker: {condition: healthy}}
"""


def rich_stack(tmp_path: Path) -> Stack:
    """Secrets from every source, and values that need escaping in every format."""
    (tmp_path / "web").mkdir(parents=True)
    (tmp_path / ".env").write_text("DB_PASSWORD=s3cr3tpw\nDB_PORT=5432\n")
    (tmp_path / "web.env").write_text("WEB_TOKEN=svc-file-tok\n")
    (tmp_path / "stack.yaml").write_text(textwrap.dedent(RICH_YAML))
    return load_stack(tmp_path / "stack.yaml", environ=RICH_ENVIRON)


def with_images(stack: Stack) -> Stack:
    """The stack with an `image:` on every service (the kubernetes export needs one)."""
    stack.services = {
        name: dataclasses.replace(svc, image=f"registry.example.com/{stack.name}/{name}:dev")
        for name, svc in stack.services.items()
    }
    return stack
