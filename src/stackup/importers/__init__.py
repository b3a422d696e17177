"""Readers of other tools' files for `stackup init`: each turns one format into a
`Proposal` (the content of a starting `stack.yaml` and notes on what did not map).

Formats: a Procfile, a docker compose file, a process-compose file, or (without a
file) what a project folder holds. Nothing here writes files.
"""

from __future__ import annotations

from pathlib import Path

from stackup.config.yamlsource import read_source
from stackup.errors import ConfigError, UsageError
from stackup.importers.compose import from_compose
from stackup.importers.folder import (
    COMPOSE_FILES,
    PROCESS_COMPOSE_FILES,
    described_by,
    from_folder,
)
from stackup.importers.process_compose import from_process_compose
from stackup.importers.procfile import from_procfile
from stackup.importers.proposal import Proposal
from stackup.importers.writer import MODELINE, SCHEMA_FILE, render

__all__ = ["MODELINE", "SCHEMA_FILE", "Proposal", "format_of", "propose", "render"]


def format_of(path: Path) -> str:
    """`procfile`, `compose` or `process-compose`: by the file's name, else by content."""
    name = path.name.lower()
    if name in PROCESS_COMPOSE_FILES or "process-compose" in name:
        return "process-compose"
    if name in COMPOSE_FILES or "compose" in name:
        return "compose"
    if name.startswith("procfile"):
        return "procfile"
    if path.suffix.lower() in (".yaml", ".yml"):
        data = read_source(path).data  # a YAML file that does not parse says so here
        if "processes" in data:
            return "process-compose"
        if "services" in data:
            return "compose"
        raise ConfigError(
            "neither a compose file (services:) nor a process-compose file (processes:)", path
        )
    return "procfile"


def propose(source: Path | None, out_dir: Path) -> Proposal:
    """A proposal from `source`, or (None) from what `out_dir` holds."""
    if source is None:
        found = described_by(out_dir)
        if found is None:
            return from_folder(out_dir, "stackup init")
        proposal = propose(found, out_dir)
        proposal.command = "stackup init"
        return proposal
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    command = f"stackup init --from {source}"
    fmt = format_of(source)
    if fmt == "compose":
        return from_compose(source, out_dir, command)
    if fmt == "process-compose":
        return from_process_compose(source, out_dir, command)
    return from_procfile(source, out_dir, command)
