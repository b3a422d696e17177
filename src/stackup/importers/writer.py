"""A `Proposal` as the text of a `stack.yaml`: the schema modeline, a header saying
where it came from, what did not map as comments, then the keys."""

from __future__ import annotations

from typing import Any

import yaml

from stackup.importers.proposal import Proposal

SCHEMA_FILE = "stack.schema.json"
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (`[db, migrate]`, an argv) and conditions
    (`{condition: healthy}`), the rest in blocks, as people write stack files."""


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(_is_scalar(v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = set(data) == {"condition"}  # a dependency's condition
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)


def _dump(data: Any, indent: int = 0) -> str:
    text = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
        allow_unicode=True,
    )
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def render(proposal: Proposal) -> str:
    out = [
        MODELINE,
        f"# Written by `{proposal.command}`"
        + ("" if "--from" in proposal.command else f" from {proposal.source}")
        + ": a starting point.",
        "# Check the commands, ports and checks, then `stackup up`. README: stack.yaml reference.",
    ]
    if proposal.notes:
        out.append(f"#\n# From {proposal.source}, not mapped (more above each service):")
        out += [f"# - {_one_line(note)}" for note in proposal.notes]
    out.append("")
    out.append("version: 1")
    if proposal.name:
        out.append(_dump({"name": proposal.name}).rstrip("\n"))
    if proposal.env:
        out.append(_dump({"env": proposal.env}).rstrip("\n"))
    out.append("services:")
    for index, service in enumerate(proposal.services.values()):
        if index:
            out.append("")
        out.append(f"  # from {service.origin}")
        out += [f"  # note: {_one_line(note)}" for note in service.notes]
        out.append(_dump({service.name: service.ordered()}, indent=2).rstrip("\n"))
    return "\n".join(out) + "\n"
