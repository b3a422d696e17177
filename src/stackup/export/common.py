"""What every export format shares: secret values replaced by references, durations.

SPEC: exports never contain a secret value; they refer to the variable instead. So
every text an exporter writes (env values, commands, health checks) goes through
`Secrets.split`, which cuts it into literal pieces and `Ref`s; each format then
renders a `Ref` in its own syntax (`${DB_PASSWORD}` for dotenv, compose, systemd and
sh) and escapes the literal pieces its own way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stackup.config.model import Service, Stack
from stackup.config.secrets import MIN_SECRET_LENGTH, is_secret_key, mask_url_passwords


@dataclass(frozen=True)
class Ref:
    """A reference to the variable `name`, standing where its secret value was."""

    name: str


Segment = str | Ref


class Secrets:
    """The stack's secret values, each mapped to the variable that holds it."""

    def __init__(self, stack: Stack) -> None:
        candidates: dict[str, set[str]] = {}  # value -> names of secret keys holding it
        for name, origins in stack.origins.items():
            if is_secret_key(name):
                for origin in origins:
                    candidates.setdefault(origin.value, set()).add(name)
        envs = [stack.env, *(svc.env for svc in stack.services.values())]
        for env in envs:
            for key, value in env.items():
                if is_secret_key(key):
                    candidates.setdefault(value, set()).add(key)
        stack_keys = set(stack.env)
        self.url_keys: set[str] = set()
        self._index(candidates, stack_keys)
        # A password written straight into a URL (`postgresql://u:pw@h`) under a plain
        # key, that no secret variable holds: the whole value becomes secret and is
        # referred to by its own key (config masks the same case as ****).
        for env in envs:
            for key, value in env.items():
                if not is_secret_key(key) and _url_password(self.split(value, mask=False)):
                    self.url_keys.add(key)
                    candidates.setdefault(value, set()).add(key)
        if self.url_keys:
            self._index(candidates, stack_keys)

    def _index(self, candidates: dict[str, set[str]], stack_keys: set[str]) -> None:
        # One name per value, deterministic: a stack-wide name first (it is in the
        # exported .env), then alphabetical.
        self.names: dict[str, str] = {
            value: min(names, key=lambda n: (n not in stack_keys, n))
            for value, names in candidates.items()
            if len(value) >= MIN_SECRET_LENGTH  # "1" or "no" would garble every output
        }
        longest_first = sorted(self.names, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in longest_first)) if longest_first else None
        )

    def is_secret(self, key: str) -> bool:
        return is_secret_key(key) or key in self.url_keys

    def split(self, text: str, *, mask: bool = True) -> list[Segment]:
        """`text` with every secret value replaced by a Ref to its variable."""
        out: list[Segment] = []
        pos = 0
        if self._pattern is not None:
            for match in self._pattern.finditer(text):
                if match.start() > pos:
                    out.append(text[pos : match.start()])
                out.append(Ref(self.names[match.group()]))
                pos = match.end()
        if pos < len(text):
            out.append(text[pos:])
        # Last resort for a URL password that no variable names: mask it, as config does.
        if not mask:
            return out
        return [mask_url_passwords(s) if isinstance(s, str) else s for s in out]

    def entry(self, key: str, value: str) -> list[Segment]:
        """An environment entry's value: a secret key refers to itself."""
        if self.is_secret(key):
            return [Ref(key)]
        return self.split(value) or [""]


def _url_password(segments: list[Segment]) -> bool:
    return any(isinstance(s, str) and mask_url_passwords(s) != s for s in segments)


def has_ref(segments: list[Segment]) -> bool:
    return any(isinstance(s, Ref) for s in segments)


def render(segments: list[Segment], escape: Callable[[str], str] = str) -> str:
    """Join segments, refs as `${NAME}`, literal pieces through `escape`."""
    return "".join(f"${{{s.name}}}" if isinstance(s, Ref) else escape(s) for s in segments)


def duration(seconds: float) -> str:
    """`2s`, `500ms`, `1500ms`: understood by docker compose and systemd alike."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def service_env(svc: Service) -> dict[str, str]:
    """What stackup gives the process, minus the inherited environment and the
    per-run instance markers."""
    env = dict(svc.env)
    env.setdefault("PYTHONUNBUFFERED", "1")  # as stackup does: output not held back
    return env


def header(stack: Stack, fmt: str) -> list[str]:
    return [f"Generated by `stackup export {fmt}` from {stack.file} (stack {stack.name!r})."]
