"""`stackup init` without `--from`: propose a stack from what the folder holds.

A compose file, a process-compose file or a Procfile describes the stack already and
is read as with `--from`. Otherwise the folder and its direct subfolders are searched
for a Django project (`manage.py`: a `migrate` oneshot, then `runserver`) and for
`package.json` files with a `dev` or `start` script (Vite and Next.js get their port
flags), the frontends depending on the backends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from stackup.errors import UsageError
from stackup.importers.proposal import Proposal, ProposedService, service_name

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
PROCESS_COMPOSE_FILES = ("process-compose.yaml", "process-compose.yml")
_SKIP = {"node_modules", "venv", "env", "__pycache__", "dist", "build"}


def described_by(folder: Path) -> Path | None:
    """The file that already describes the stack, in order of preference."""
    for name in (*COMPOSE_FILES, *PROCESS_COMPOSE_FILES, "Procfile"):
        if (folder / name).is_file():
            return folder / name
    return None


def _candidates(folder: Path) -> list[Path]:
    subfolders = sorted(
        p for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP
    )
    return [folder, *subfolders]


def _name(folder: Path, root: Path, fallback: str, taken: dict) -> str:
    return service_name(fallback if folder == root else folder.name, taken)


def _rel(folder: Path, root: Path) -> str | None:
    rel = os.path.relpath(folder, root)
    return None if rel == "." else rel


def _script(package: Path) -> tuple[str, str] | None:
    try:
        scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return None
    for name in ("dev", "start"):
        if isinstance(scripts.get(name), str):
            return name, scripts[name]
    return None


def from_folder(folder: Path, command: str) -> Proposal:
    root = Path(os.path.abspath(folder))
    proposal = Proposal(source=f"the folder {root.name}/", command=command)
    backends: list[str] = []
    for place in _candidates(root):
        if (place / "manage.py").is_file():
            name = _name(place, root, "backend", proposal.services)
            migrate = proposal.add(
                ProposedService(service_name(f"{name}-migrate", proposal.services),
                                f"{place.name}/manage.py" if place != root else "manage.py")
            )
            migrate.body.update(command="python manage.py migrate", oneshot=True)
            svc = ProposedService(name, migrate.origin)
            svc.body.update(
                command="python manage.py runserver 127.0.0.1:${PORT}",
                port=8000 + 2 * len(backends),
                depends_on=[migrate.name],
            )
            cwd = _rel(place, root)
            if cwd:
                migrate.body["cwd"] = svc.body["cwd"] = cwd
            migrate.notes.append("add the database it migrates, and depend on it")
            proposal.add(svc)
            backends.append(name)
    frontends = 0
    for place in _candidates(root):
        package = place / "package.json"
        found = _script(package) if package.is_file() else None
        if found is None:
            continue
        script, text = found
        name = _name(place, root, "frontend", proposal.services)
        svc = ProposedService(name, f"{os.path.relpath(package, root)} script '{script}'")
        run = "npm run dev" if script == "dev" else "npm start"
        if "vite" in text:
            svc.body.update(command=f"{run} -- --port ${{PORT}} --strictPort", port=5173)
        elif "next" in text:
            svc.body.update(command=f"{run} -- --port ${{PORT}}", port=3000 + frontends)
        else:
            svc.body["command"] = run
            svc.notes.append("its port is not known: add `port:` and pass it on (PORT)")
        cwd = _rel(place, root)
        if cwd:
            svc.body["cwd"] = cwd
        if backends:
            svc.body["depends_on"] = list(backends)
        proposal.add(svc)
        frontends += 1
    if not proposal.services:
        raise UsageError(
            f"nothing to propose in {root}: no compose file, process-compose file, Procfile,"
            " manage.py or package.json with a dev/start script (use `stackup init --from FILE`)"
        )
    return proposal
