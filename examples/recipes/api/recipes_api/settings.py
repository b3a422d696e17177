"""Settings for the recipes API, a development server run by stackup.

Everything that depends on where the stack runs comes from the environment the
stack file sets (examples/recipes/stack.yaml), so that `--port-offset` or a moved
database needs no edit here:

- DATABASE_URL          postgresql://user@host:port/name
- ALLOWED_HOSTS         comma-separated host names this server answers to
- CORS_ALLOWED_ORIGINS  comma-separated origins whose pages may call the API from
                        the browser: the Next.js frontend's `http://localhost:<port>`
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _csv(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise ImproperlyConfigured(f"DATABASE_URL must be postgresql://user@host:port/name: {url}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # A health check that cannot reach the database should say so quickly,
        # not hang for libpq's default of forever.
        "OPTIONS": {"connect_timeout": 2},
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = _csv("ALLOWED_HOSTS", "localhost,127.0.0.1")

# Only the frontend's origin may read the API's answers from a browser. Under
# `stackup up --port-offset N` the frontend moves, and the stack file moves this
# value with it: a hard-coded http://localhost:3000 is the classic CORS error.
CORS_ALLOWED_ORIGINS = _csv("CORS_ALLOWED_ORIGINS", "http://localhost:3000")

INSTALLED_APPS = [
    "corsheaders",
    "recipes",
]

MIDDLEWARE = [
    # First, so that preflight requests are answered before anything else runs.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "recipes_api.urls"
WSGI_APPLICATION = "recipes_api.wsgi.application"

if "DATABASE_URL" not in os.environ:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: run the API through stackup "
        "(stackup -f examples/recipes/stack.yaml up)"
    )
DATABASES = {"default": _database(os.environ["DATABASE_URL"])}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
