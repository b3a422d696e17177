"""stackup.export: dispatch, the shared secret→reference helper, and the masking
rule checked on every format (SPEC: no secret value in any output)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup.config import load_stack
from stackup.config.graph import select
from stackup.config.model import Stack
from stackup.errors import UsageError
from stackup.export import FORMATS, export
from stackup.export.common import Ref, Secrets, duration
from tests.unit.test_export_stacks import (
    RICH_ENVIRON,
    RICH_SECRETS,
    SPEC_EXAMPLE,
    SPEC_SECRETS,
    rich_stack,
    with_images,
)

# nginx writes routes, hosts and ports only: no environment or command a secret could be
# in (tests/unit/test_export_nginx.py checks it writes none).
ENV_FORMATS = tuple(f for f in FORMATS if f != "nginx")


@pytest.fixture
def spec() -> Stack:
    return load_stack(SPEC_EXAMPLE, environ={})


def test_formats_and_filenames(spec: Stack) -> None:
    assert FORMATS == ("procfile", "compose", "systemd", "env", "kubernetes", "nginx")
    selection = select(spec)
    assert list(export(spec, "procfile", selection)) == ["Procfile"]
    assert list(export(spec, "env", selection)) == [".env"]
    assert list(export(spec, "compose", selection)) == ["compose.yaml"]
    assert list(export(with_images(spec), "kubernetes", selection)) == ["kubernetes.yaml"]
    assert list(export(spec, "systemd", selection)) == [
        "medcor-db.service",
        "medcor-migrate.service",
        "medcor-backend.service",
        "medcor-backend2.service",
        "medcor-frontend.service",
        "medcor.target",
    ]


def test_unknown_format_is_a_usage_error(spec: Stack) -> None:
    with pytest.raises(UsageError, match=r"unknown export format 'k8s' \(choose from procfile"):
        export(spec, "k8s", select(spec))


def test_unknown_service_is_a_usage_error(spec: Stack) -> None:
    with pytest.raises(UsageError, match="no such service: nope"):
        export(spec, "env", ["nope"])


def test_selection_limits_the_services(spec: Stack) -> None:
    files = export(spec, "systemd", select(spec, ["backend"]))
    assert sorted(files) == ["medcor-backend.service", "medcor-db.service", "medcor.target"]
    procfile = export(spec, "procfile", ["db", "mcp"])["Procfile"]
    names = [line.split(":")[0] for line in procfile.splitlines() if not line.startswith("#")]
    assert names == ["db", "mcp"]


@pytest.mark.parametrize("fmt", ENV_FORMATS)
def test_spec_example_secrets_appear_nowhere(spec: Stack, fmt: str) -> None:
    files = export(with_images(spec), fmt, list(spec.services))
    for name, content in files.items():
        for secret in SPEC_SECRETS:
            assert secret not in content, f"{secret!r} leaked into {fmt} {name}"


@pytest.mark.parametrize("fmt", ENV_FORMATS)
def test_rich_stack_secrets_appear_nowhere(tmp_path: Path, fmt: str) -> None:
    stack = with_images(rich_stack(tmp_path))
    files = export(stack, fmt, list(stack.services))
    for name, content in files.items():
        for secret in RICH_SECRETS:
            assert secret not in content, f"{secret!r} leaked into {fmt} {name}"


@pytest.mark.parametrize("fmt", ENV_FORMATS)
def test_every_format_refers_to_the_secret_variables(tmp_path: Path, fmt: str) -> None:
    stack = with_images(rich_stack(tmp_path))
    text = "\n".join(export(stack, fmt, list(stack.services)).values())
    # Kubernetes expands `$(NAME)`, from a variable the container defines before
    assert ("$(DB_PASSWORD)" if fmt == "kubernetes" else "${DB_PASSWORD}") in text


def test_secrets_split_into_references(tmp_path: Path) -> None:
    secrets = Secrets(rich_stack(tmp_path))
    assert secrets.split("postgresql://app:s3cr3tpw@h/x") == [
        "postgresql://app:",
        Ref("DB_PASSWORD"),
        "@h/x",
    ]
    assert secrets.split("--token=ghp_process_tok") == ["--token=", Ref("GH_TOKEN")]
    assert secrets.split("nothing here") == ["nothing here"]
    assert secrets.entry("DB_PASSWORD", "s3cr3tpw") == [Ref("DB_PASSWORD")]
    assert secrets.entry("SHORT_TOKEN", "ab") == [Ref("SHORT_TOKEN")]  # the key rule, any length


def test_url_password_without_a_variable_refers_to_its_own_key(tmp_path: Path) -> None:
    secrets = Secrets(rich_stack(tmp_path))
    assert secrets.is_secret("LEGACY_URL")
    assert not secrets.is_secret("DATABASE_URL")  # its password is DB_PASSWORD's value
    assert secrets.entry("LEGACY_URL", "mysql://root:inlinepw9@10.0.0.1/db") == [Ref("LEGACY_URL")]
    # Written elsewhere, and not the whole value: masked as config does.
    assert secrets.split("mysql://u:other99@h") == ["mysql://u:****@h"]


def test_duration() -> None:
    assert duration(2) == "2s"
    assert duration(0.5) == "500ms"
    assert duration(2.5) == "2500ms"
    assert duration(60.0) == "60s"


def test_rich_environ_is_what_the_stack_saw(tmp_path: Path) -> None:
    stack = rich_stack(tmp_path)
    assert stack.services["web"].command[1] == "--token=" + RICH_ENVIRON["GH_TOKEN"]
