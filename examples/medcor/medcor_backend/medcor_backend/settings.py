"""Settings of medcor_backend, all from the environment the stack gives it.

DATABASE_URL, DJANGO_ALLOWED_HOSTS and CORS_ALLOWED_ORIGINS come from stack.yaml, where
the frontend's origin is built from ${FRONTEND_PORT}: it follows --port-offset.
"""

import os
from urllib.parse import unquote, urlsplit


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": 3},
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "medcor-dev-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = _split(os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"))
CORS_ALLOWED_ORIGINS = _split(os.environ.get("CORS_ALLOWED_ORIGINS", ""))

INSTALLED_APPS = ["corsheaders", "clinic"]
MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "medcor_backend.urls"
DATABASES = {"default": _database(os.environ["DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
