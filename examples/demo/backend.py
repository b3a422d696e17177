"""demo backend — stands in for a Django API (`manage.py runserver`) on $PORT.

    GET /api/health/    200 {"status": "ok"} once the db ($DB_PORT) answers, else 503
    GET /api/patients/  the patients stored in the db (empty until migrate has run)

Browsers may call it from the frontend: CORS headers allow the origins listed in
CORS_ALLOWED_ORIGINS (comma-separated), and OPTIONS preflights are answered.
"""

from __future__ import annotations

import json

from _common import (
    ApiHandler,
    db_query,
    make_http_server,
    port,
    run_until_signal,
    runserver_banner,
)


class Handler(ApiHandler):
    quiet_paths = ("/api/health/",)

    def do_GET(self) -> None:
        if self.path == "/api/health/":
            try:
                db_query("PING")
            except OSError as exc:
                self.send_json(503, {"status": "unavailable", "db": str(exc)})
                return
            self.send_json(200, {"status": "ok"})
        elif self.path == "/api/patients/":
            try:
                (reply,) = db_query("GET patients")
            except OSError as exc:
                self.send_json(503, {"error": f"database unavailable: {exc}"})
                return
            patients = json.loads(reply.removeprefix("VALUE ")) if reply != "NIL" else []
            self.send_json(200, patients)
        else:
            self.send_json(404, {"detail": "Not found."})

    do_HEAD = do_GET


def main() -> None:
    server = make_http_server(Handler)
    runserver_banner(f"Database on 127.0.0.1:{port('DB_PORT', 15432)}")
    run_until_signal(server)


if __name__ == "__main__":
    main()
