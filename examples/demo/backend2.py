"""demo backend2 — a second Django-like API on $PORT that calls the first one.

    GET /api/health/        200 {"status": "ok"} when backend ($BACKEND_PORT) is healthy
    GET /api/appointments/  appointments from the db, with patient names fetched
                            from backend's /api/patients/

Same CORS handling as backend (CORS_ALLOWED_ORIGINS, OPTIONS preflight).
"""

from __future__ import annotations

import json
import urllib.request

from _common import (
    ApiHandler,
    db_query,
    make_http_server,
    port,
    run_until_signal,
    runserver_banner,
)


def call_backend(path: str):
    url = f"http://127.0.0.1:{port('BACKEND_PORT', 18000)}{path}"
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.load(resp)


class Handler(ApiHandler):
    quiet_paths = ("/api/health/",)

    def do_GET(self) -> None:
        if self.path == "/api/health/":
            try:
                call_backend("/api/health/")
            except (OSError, ValueError) as exc:
                self.send_json(503, {"status": "unavailable", "backend": str(exc)})
                return
            self.send_json(200, {"status": "ok"})
        elif self.path == "/api/appointments/":
            try:
                names = {p["id"]: p["name"] for p in call_backend("/api/patients/")}
                (reply,) = db_query("GET appointments")
            except (OSError, ValueError) as exc:
                self.send_json(502, {"error": f"upstream unavailable: {exc}"})
                return
            appointments = json.loads(reply.removeprefix("VALUE ")) if reply != "NIL" else []
            for a in appointments:
                a["patient"] = names.get(a["patient_id"], "?")
            self.send_json(200, appointments)
        else:
            self.send_json(404, {"detail": "Not found."})

    do_HEAD = do_GET


def main() -> None:
    server = make_http_server(Handler)
    runserver_banner(f"Backend on 127.0.0.1:{port('BACKEND_PORT', 18000)}")
    run_until_signal(server)


if __name__ == "__main__":
    main()
