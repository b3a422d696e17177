"""The stack file: loading, validation, interpolation and the resolved model.

The names below are loaded on first use (PEP 562): importing `stackup.config.model`
(plain dataclasses) must not pay for pydantic, which only loading a stack file needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackup.config.load import load_stack
    from stackup.config.model import Dependency, HealthCheck, Service, Stack, ValueOrigin
    from stackup.errors import ConfigError

_EXPORTS = {
    "load_stack": "stackup.config.load",
    "Dependency": "stackup.config.model",
    "HealthCheck": "stackup.config.model",
    "Service": "stackup.config.model",
    "Stack": "stackup.config.model",
    "ValueOrigin": "stackup.config.model",
    "ConfigError": "stackup.errors",
}

__all__ = [
    "ConfigError",
    "Dependency",
    "HealthCheck",
    "Service",
    "Stack",
    "ValueOrigin",
    "load_stack",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stackup.config' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
