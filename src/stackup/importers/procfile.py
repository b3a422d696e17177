"""`stackup init --from Procfile`: names and commands, read by honcho's parser (through
`config.procfile`, as the `procfile:` key is), and `PORT` use detected."""

from __future__ import annotations

import os
from pathlib import Path

from stackup.config.procfile import ProcfileError, read_procfile
from stackup.errors import ConfigError
from stackup.importers.proposal import (
    Proposal,
    ProposedService,
    service_name,
    shell_command,
    uses_port,
)

# honcho and foreman give the Nth process PORT=5000 + 100*N.
FIRST_PORT, PORT_STEP = 5000, 100


def from_procfile(path: Path, out_dir: Path, command: str) -> Proposal:
    try:
        entries = read_procfile(path)
    except ProcfileError as exc:
        raise ConfigError(str(exc), path) from None
    if not entries:
        raise ConfigError("no processes in this Procfile (lines like `web: command`)", path)
    proposal = Proposal(source=path.name, command=command)
    cwd = os.path.relpath(path.resolve().parent, out_dir.resolve())
    for index, (raw, line) in enumerate(entries.items()):
        name = service_name(raw, proposal.services)
        svc = ProposedService(name, f"Procfile entry '{raw}'")
        svc.body["command"] = shell_command(line)
        if cwd != ".":
            svc.body["cwd"] = cwd
        if uses_port(line):
            # The port honcho would have given it; the default tcp check waits for it.
            svc.body["port"] = FIRST_PORT + PORT_STEP * index
        if name != raw:
            svc.notes.append(f"renamed from {raw!r}: service names are lowercase a-z, 0-9, - and _")
        proposal.add(svc)
    proposal.notes.append(
        "a Procfile has no start order nor readiness: add depends_on and health where one"
        " process needs another"
    )
    return proposal
