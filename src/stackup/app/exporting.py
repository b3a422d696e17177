"""`stackup export FORMAT`: print the files `stackup.export` renders, or write them."""

from __future__ import annotations

from pathlib import Path

from stackup.config.model import Stack
from stackup.errors import UsageError


def as_text(files: dict[str, str]) -> str:
    """One file as it is; several one after another under `# ==> name <==` headers."""
    if len(files) == 1:
        return next(iter(files.values()))
    return "\n".join(f"# ==> {name} <==\n{content}" for name, content in files.items())


def write(stack: Stack, files: dict[str, str], folder: Path, force: bool) -> list[Path]:
    """Write the files; never over the stack's own env files (the export holds only
    references to the secrets they contain), nor over anything else without --force."""
    own_env_files = {
        Path(o.detail).resolve()
        for origins in stack.origins.values()
        for o in origins
        if o.source in ("env file", "service env file") and o.detail
    }
    targets = [folder / name for name in files]
    for path in targets:
        if path.resolve() in own_env_files:
            raise UsageError(f"{path} is an env file of this stack; export somewhere else")
        if path.exists() and not force:
            raise UsageError(f"{path} exists; use --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in zip(targets, files.values(), strict=True):
        path.write_text(content)
    return targets
