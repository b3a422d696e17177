"""The stack file: loading, validation, interpolation and the resolved model."""

from stackup.config.load import load_stack
from stackup.config.model import Dependency, HealthCheck, Service, Stack, ValueOrigin
from stackup.errors import ConfigError

__all__ = [
    "ConfigError",
    "Dependency",
    "HealthCheck",
    "Service",
    "Stack",
    "ValueOrigin",
    "load_stack",
]
