from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from stackup.config import load_stack
from stackup.config.explain import stack_to_dict
from stackup.config.secrets import (
    is_secret_key,
    mask_text,
    mask_url_passwords,
    secret_values,
)
from stackup.config.stackfile import stack_to_yaml


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "password",
        "MYSQL_PASSWD",
        "client_secret",
        "GITHUB_TOKEN",
        "API_KEY",
        "apikey",
        "SECRET",
        "Access_Token_Url",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["KEYBOARD", "DB_PORT", "MONKEYS", "USER", "PATH", "KEY_ID"])
def test_plain_names(name: str) -> None:
    assert not is_secret_key(name)


def test_mask_text_longest_first() -> None:
    assert mask_text("a hunter2 b hunter22", {"hunter2", "hunter22"}) == "a **** b ****"
    assert mask_text("nothing here", {"secret"}) == "nothing here"
    assert mask_text("x", set()) == "x"


def test_mask_url_passwords() -> None:
    assert (
        mask_url_passwords("postgresql://me:pw123@db:5432/x and http://host:80/path")
        == "postgresql://me:****@db:5432/x and http://host:80/path"
    )


def _stack(tmp_path: Path):  # noqa: ANN202
    (tmp_path / ".env").write_text("DB_PASSWORD=s3cr3tpw\nSHORT_TOKEN=ab\n")
    (tmp_path / "stack.yaml").write_text(
        textwrap.dedent(
            """
            env:
              DATABASE_URL: postgresql://app:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/app
              STRIPE_API_KEY: sk_live_abcdef
            services:
              db:
                command: postgres --password=${DB_PASSWORD}
                port: 5432
              web:
                command: [serve, "--token=${GH_TOKEN}"]
                env: {SESSION_SECRET: sess-value-1}
            """
        )
    )
    return load_stack(tmp_path / "stack.yaml", environ={"GH_TOKEN": "ghp_process_tok"})


def test_secret_values_come_from_every_env(tmp_path: Path) -> None:
    values = secret_values(_stack(tmp_path))
    assert {"s3cr3tpw", "sk_live_abcdef", "sess-value-1", "ghp_process_tok"} <= values
    assert "ab" not in values  # too short to mask everywhere


def test_config_output_masks_secrets_everywhere(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    data = stack_to_dict(stack)
    text = json.dumps(data)
    for secret in ("s3cr3tpw", "sk_live_abcdef", "sess-value-1", "ghp_process_tok"):
        assert secret not in text
    db = data["services"]["db"]
    assert db["env"]["DB_PASSWORD"] == "****"
    assert db["env"]["DATABASE_URL"] == "postgresql://app:****@127.0.0.1:5432/app"
    assert db["command"] == "postgres --password=****"
    assert data["services"]["web"]["command"] == ["serve", "--token=****"]
    written = stack_to_yaml(stack)
    for secret in ("s3cr3tpw", "sk_live_abcdef", "sess-value-1", "ghp_process_tok"):
        assert secret not in written
    as_file = yaml.safe_load(written)
    assert as_file["services"]["db"]["command"] == "postgres --password=****"
    # and unmasked on request
    raw = stack_to_dict(stack, mask=False)
    assert raw["services"]["db"]["env"]["DB_PASSWORD"] == "s3cr3tpw"
    assert "s3cr3tpw" in raw["services"]["db"]["env"]["DATABASE_URL"]
