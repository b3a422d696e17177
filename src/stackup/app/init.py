"""`stackup init`: write a starting `stack.yaml` (and the schema an editor reads) from
another tool's file or from what the folder holds; never over a file without force."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stackup import render
from stackup.config import load_stack
from stackup.config.json_schema import stack_json_schema
from stackup.errors import ConfigError, UsageError
from stackup.importers import SCHEMA_FILE, propose
from stackup.importers import render as render_stack


@dataclass
class InitResult:
    written: list[Path]
    services: list[str]
    source: str
    notes: int  # how many things did not map (listed in the file's comments)
    kept: list[Path] = field(default_factory=list)  # files left as they were
    problem: str | None = None  # why the new stack does not load yet, if it does not


def init(target: Path, source: Path | None, force: bool) -> InitResult:
    if target.exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    if source is not None and source.resolve() == target.resolve():
        raise UsageError(f"{source} is the file to write; name another with -f")
    proposal = propose(source, target.parent)
    text = render_stack(proposal)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    result = InitResult(
        written=[target],
        services=list(proposal.services),
        source=proposal.source,
        notes=len(proposal.notes) + sum(len(s.notes) for s in proposal.services.values()),
    )
    schema = target.parent / SCHEMA_FILE
    schema_text = render.to_json(stack_json_schema()) + "\n"
    if not schema.exists() or force:
        schema.write_text(schema_text)
        result.written.append(schema)
    elif schema.read_text() != schema_text:
        result.kept.append(schema)
    try:
        load_stack(target)
    except ConfigError as exc:
        result.problem = str(exc)
    return result
