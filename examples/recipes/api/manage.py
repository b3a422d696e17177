#!/usr/bin/env python
"""Django's command-line utility for the recipes API."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recipes_api.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise SystemExit(
            f"cannot import Django ({exc}): run `make recipes` from the repo root, or "
            "`pip install -r examples/recipes/requirements.txt` into the Python on PATH"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
