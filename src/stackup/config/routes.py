"""`routes:`, the URL paths a service serves behind a proxy: interpolated, checked and
turned into `Route`s. Checked here, before anything starts, because `export nginx`
writes them into a config file where a stray `;` or `{` would change its meaning."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from stackup.config.model import Route, Service
from stackup.config.schema import RouteSpec, ServiceSchema
from stackup.config.yamlsource import KeyPath, Source

# The characters of a URL path (RFC 3986 pchar and `/`), less what nginx would read as
# syntax or a variable (`;`, `{`, `}`, `$`, quotes, `#`), and no query string.
_PATH = re.compile(r"^/[A-Za-z0-9._~%!*+,=:@/-]*$")


def build_routes(
    name: str,
    raw: ServiceSchema,
    port: int | None,
    expand: Callable[[str, KeyPath], str],
    source: Source,
) -> tuple[Route, ...]:
    base: KeyPath = ("services", name, "routes")
    if not raw.routes:
        return ()
    if port is None:
        raise source.error(
            "routes need a port: the proxy forwards these paths to the service's port", base
        )
    routes: list[Route] = []
    seen: set[str] = set()
    for index, item in enumerate(raw.routes):
        where: KeyPath = (*base, index)
        if isinstance(item, RouteSpec):
            path = _checked(item.path, (*where, "path"), expand, source)
            to = path if item.to is None else _checked(item.to, (*where, "to"), expand, source)
            if path.endswith("/") != to.endswith("/"):
                raise source.error(
                    f"path {path!r} and to {to!r} must both end with '/' or neither"
                    " (the prefix is replaced as it is)",
                    (*where, "to"),
                )
        else:
            path = to = _checked(item, where, expand, source)
        if path in seen:
            raise source.error(f"route {path} is listed twice", where)
        seen.add(path)
        routes.append(Route(path, to))
    return tuple(routes)


def _checked(
    value: str, key: KeyPath, expand: Callable[[str, KeyPath], str], source: Source
) -> str:
    text = expand(value, key)
    if not _PATH.match(text):
        raise source.error(
            f"a route must be a URL path starting with '/' (letters, digits and -._~%!*+,=:@/"
            f" only), got {text!r}",
            key,
        )
    return text


def check_unique_routes(services: Mapping[str, Service], source: Source) -> None:
    """One path, one service: a proxy cannot send `/api/` to two places."""
    owner: dict[str, str] = {}
    for name, svc in services.items():
        for index, route in enumerate(svc.routes):
            if route.path in owner:
                raise source.error(
                    f"route {route.path} is served by both {owner[route.path]} and {name}",
                    ("services", name, "routes", index),
                )
            owner[route.path] = name
