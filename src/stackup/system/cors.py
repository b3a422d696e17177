"""A CORS preflight, as a browser sends it before a cross-origin call: OPTIONS with
`Origin` and `Access-Control-Request-Method`, answered by the server's CORS policy."""

from __future__ import annotations

import http.client
from dataclasses import dataclass


@dataclass(frozen=True)
class PreflightAnswer:
    status: int | None  # None when the request could not be made
    allow_origin: str | None  # the Access-Control-Allow-Origin header, if any
    error: str = ""

    def allows(self, origin: str) -> bool:
        """What a browser decides: an ok status and this origin (or `*`) allowed."""
        return (
            self.status is not None and 200 <= self.status < 300
            and self.allow_origin is not None
            and self.allow_origin.strip().rstrip("/") in (origin.rstrip("/"), "*")
        )

    def describe(self) -> str:
        if self.status is None:
            return self.error
        if not 200 <= self.status < 300:
            return f"answered {self.status}"
        if self.allow_origin is None:
            return f"answered {self.status} without Access-Control-Allow-Origin"
        return f"answered Access-Control-Allow-Origin: {self.allow_origin}"


def preflight(
    host: str, port: int, path: str, origin: str, method: str = "GET", timeout: float = 2.0
) -> PreflightAnswer:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("OPTIONS", path, headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "User-Agent": "stackup-doctor",
        })
        response = conn.getresponse()
        response.read()
        return PreflightAnswer(response.status, response.getheader("Access-Control-Allow-Origin"))
    except (OSError, http.client.HTTPException) as exc:
        return PreflightAnswer(None, None, f"no answer ({exc.__class__.__name__}: {exc})")
    finally:
        conn.close()


def serves_page(host: str, port: int, path: str = "/", timeout: float = 2.0) -> bool:
    """Does the server answer a browser's GET with a web page (2xx, text/html)? What
    tells a frontend, whose origin the browser sends, from an API that calls another
    server to server and needs no CORS."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "text/html", "User-Agent": "stackup-doctor"})
        response = conn.getresponse()
        response.read(65536)
        kind = response.getheader("Content-Type") or ""
        return 200 <= response.status < 300 and "text/html" in kind.lower()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
