"""Every compose and kubernetes export is valid by the target's own schema: the Compose
Specification's JSON Schema (vendored in tests/schemas/) and the Kubernetes API
schemas that kubernetes-validate ships, in strict mode (no unknown field)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from stackup.config import Stack, load_stack
from stackup.export import export
from tests.unit.test_export_stacks import ROOT, SPEC_EXAMPLE, rich_stack, with_images

COMPOSE_SCHEMA = ROOT / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
KUBERNETES_VERSION = "1.37.0"


def _demo(tmp_path: Path) -> Stack:
    return load_stack(ROOT / "stack.yaml", environ={}, profiles=("voice",))


def _spec(tmp_path: Path) -> Stack:
    return load_stack(SPEC_EXAMPLE, environ={})


def _demo_with_images(tmp_path: Path) -> Stack:
    return with_images(_demo(tmp_path))


def _rich_with_images(tmp_path: Path) -> Stack:
    return with_images(rich_stack(tmp_path))


def _repo_examples() -> list[Path]:
    return sorted((ROOT / "examples").rglob("stack.yaml"))


STACKS: dict[str, Callable[[Path], Stack]] = {
    "demo": _demo,
    "demo-with-images": _demo_with_images,
    "spec_example": _spec,
    "rich": rich_stack,
    "rich-with-images": _rich_with_images,
}


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))


@pytest.mark.parametrize("make", STACKS.values(), ids=STACKS.keys())
def test_compose_export_is_valid_compose(
    make: Callable[[Path], Stack], tmp_path: Path, compose_validator: jsonschema.Draft7Validator
) -> None:
    stack = make(tmp_path)
    doc = yaml.safe_load(export(stack, "compose", list(stack.services))["compose.yaml"])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in compose_validator.iter_errors(doc)]
    assert not errors, "\n".join(errors)


def test_compose_uses_image_where_given(tmp_path: Path) -> None:
    stack = _demo_with_images(tmp_path)
    doc = yaml.safe_load(export(stack, "compose", list(stack.services))["compose.yaml"])
    backend = doc["services"]["backend"]
    assert backend["image"] == "registry.example.com/demo/backend:dev"
    assert "build" not in backend and "working_dir" not in backend
    plain = yaml.safe_load(export(_demo(tmp_path), "compose", ["backend"])["compose.yaml"])
    assert "image" not in plain["services"]["backend"] and plain["services"]["backend"]["build"]


def _validate_kubernetes(text: str) -> int:
    count = 0
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = f"{doc['kind']} {doc['metadata']['name']}"
            path = ".".join(str(p) for p in exc.path)
            raise AssertionError(f"{where}: {path}: {exc.message}") from None
        count += 1
    return count


KUBERNETES_STACKS = {k: v for k, v in STACKS.items() if k.endswith("with-images")}
KUBERNETES_STACKS["spec_example-with-images"] = lambda tmp: with_images(_spec(tmp))


@pytest.mark.parametrize("make", KUBERNETES_STACKS.values(), ids=KUBERNETES_STACKS.keys())
def test_kubernetes_export_is_valid_kubernetes(
    make: Callable[[Path], Stack], tmp_path: Path
) -> None:
    stack = make(tmp_path)
    text = export(stack, "kubernetes", list(stack.services))["kubernetes.yaml"]
    assert _validate_kubernetes(text) >= 2 + len(stack.services)


def test_the_validator_refuses_an_unknown_field() -> None:
    """Strict mode is on: a manifest with a field Kubernetes does not know fails."""
    bad = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, nmespace: y}\n"
    with pytest.raises(AssertionError, match="nmespace"):
        _validate_kubernetes(bad)


@pytest.mark.parametrize("path", _repo_examples(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repo_examples_export_valid_compose_and_kubernetes(
    path: Path, compose_validator: jsonschema.Draft7Validator
) -> None:
    # A fixed, minimal environment: exports must not depend on the test's own, but a
    # real stack may read ${PATH} or ${HOME} (examples/recipes puts PostgreSQL on PATH).
    stack = load_stack(path, environ={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/dev"})
    doc = yaml.safe_load(export(stack, "compose", list(stack.services))["compose.yaml"])
    assert not list(compose_validator.iter_errors(doc))
    stack = with_images(stack)
    _validate_kubernetes(export(stack, "kubernetes", list(stack.services))["kubernetes.yaml"])
