"""demo voice — stands in for an optional MCP / voice server on $PORT.

Only started with `stackup up --profile voice` (or `stackup up voice`).

    GET /health   200 {"status": "ok"}
    GET /         what the server would offer: its tools and the API it talks to
"""

from __future__ import annotations

from _common import ApiHandler, make_http_server, port, run_until_signal


class Handler(ApiHandler):
    quiet_paths = ("/health",)

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send_json(200, {"status": "ok"})
        elif self.path == "/":
            self.send_json(
                200,
                {
                    "server": "demo-voice",
                    "tools": ["book_appointment", "list_patients"],
                    "backend": f"http://127.0.0.1:{port('BACKEND_PORT', 18000)}/api/",
                },
            )
        else:
            self.send_json(404, {"detail": "Not found."})

    do_HEAD = do_GET


def main() -> None:
    server = make_http_server(Handler)
    print(f"demo-voice MCP server listening on http://127.0.0.1:{port()}/", flush=True)
    run_until_signal(server)


if __name__ == "__main__":
    main()
