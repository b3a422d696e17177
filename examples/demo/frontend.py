"""demo frontend — stands in for a Vite dev server on $PORT.

Serves frontend/index.html with the backends' ports filled in at serve time
(%BACKEND_PORT% and %BACKEND2_PORT%, from the environment stackup provides), the
way a Vite app reads `import.meta.env`. The page then calls both APIs from the
browser, which is where a wrong port or a missing CORS origin shows up.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from _common import make_http_server, port, run_until_signal

STARTED = time.monotonic()
INDEX = Path(__file__).with_name("frontend") / "index.html"
API_PORTS = {"BACKEND_PORT": 18000, "BACKEND2_PORT": 18002}  # defaults when run by hand


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.split("?")[0] not in ("/", "/index.html"):
            self.reply(404, b"Not found\n", "text/plain")
            return
        html = INDEX.read_text(encoding="utf-8")
        for var, default in API_PORTS.items():
            html = html.replace(f"%{var}%", str(port(var, default)))
        self.reply(200, html.encode(), "text/html; charset=utf-8")

    do_HEAD = do_GET

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # like Vite, don't log every request


def main() -> None:
    server = make_http_server(Handler)
    p = port()
    ms = round((time.monotonic() - STARTED) * 1000)
    print(f"\n  DEMO-VITE v0.1  ready in {ms} ms\n", flush=True)
    print(f"  ➜  Local:   http://localhost:{p}/")
    print("  ➜  Network: use --host to expose")
    apis = "  ".join(f"{var}={port(var, default)}" for var, default in API_PORTS.items())
    print(f"  ➜  APIs:    {apis}", flush=True)
    run_until_signal(server)


if __name__ == "__main__":
    main()
