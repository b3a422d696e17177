"""stackup: a dev-stack process supervisor."""

__version__ = "0.1.0"
