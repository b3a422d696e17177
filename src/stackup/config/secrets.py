"""Masking of secret values in every output stackup prints or writes.

A key looks secret when its name contains PASSWORD, PASSWD, SECRET or TOKEN, or ends
in KEY, in any case. Its value is masked wherever it appears, also inside another
value (the password inside a DATABASE_URL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stackup.config.model import Stack

MASK = "****"
MIN_SECRET_LENGTH = 3  # masking "1" or "no" everywhere would garble all output
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY$", re.IGNORECASE)
# scheme://user:password@host — a password written straight into a URL.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)@")


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(stack: Stack) -> set[str]:
    """Values of secret-looking keys in any env of the stack (files, stack, services,
    and process variables the file refers to)."""
    values: set[str] = set()
    for name, origins in stack.origins.items():
        if is_secret_key(name):
            values.update(origin.value for origin in origins)
    for service in stack.services.values():
        values.update(v for k, v in service.env.items() if is_secret_key(k))
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value inside `text` by ****, longest first (so a secret
    that contains a shorter one is masked whole)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_url_passwords(text: str) -> str:
    """Mask `password` in `scheme://user:password@host`, even when no key named it."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)


def mask_value(key: str, value: str, secrets: Iterable[str]) -> str:
    """How `config` shows one env entry."""
    if is_secret_key(key) and value:
        return MASK
    return mask_url_passwords(mask_text(value, secrets))
