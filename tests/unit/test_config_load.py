"""load_stack on valid stacks: the SPEC example, precedence, env files, Procfile,
port offsets, health defaults, dependency conditions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stackup.config import ConfigError, Stack, load_stack

SPEC_EXAMPLE = Path(__file__).resolve().parents[1] / "stacks" / "spec_example" / "stack.yaml"


def write(folder: Path, body: str, name: str = "stack.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def load(folder: Path, body: str, **kwargs: object) -> Stack:
    kwargs.setdefault("environ", {})
    return load_stack(write(folder, body), **kwargs)  # type: ignore[arg-type]


# --- the SPEC example ------------------------------------------------------------


def test_spec_example_resolves() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={})
    assert stack.name == "medcor"
    assert stack.file == SPEC_EXAMPLE
    assert list(stack.services) == ["db", "migrate", "backend", "backend2", "frontend", "mcp"]
    ports = {name: svc.port for name, svc in stack.services.items()}
    assert ports == {
        "db": 5432,
        "migrate": None,
        "backend": 8000,
        "backend2": 8002,
        "frontend": 5000,
        "mcp": 8080,
    }
    db, migrate, backend = (stack.services[n] for n in ("db", "migrate", "backend"))
    backend2, frontend = stack.services["backend2"], stack.services["frontend"]
    assert db.command == "postgres -D .stackup/pgdata -p 5432 -k /tmp"
    assert db.health.kind == "command"
    assert db.health.command == "pg_isready -h 127.0.0.1 -p 5432"
    assert migrate.oneshot and migrate.health.kind == "none"
    assert migrate.cwd == SPEC_EXAMPLE.parent / "medcor_backend2"
    assert db.cwd == SPEC_EXAMPLE.parent
    assert backend.health.kind == "http" and backend.health.path == "/api/health/"
    assert backend.health.port == 8000
    assert frontend.health.kind == "tcp" and frontend.health.port == 5000
    assert backend2.command == "python manage.py runserver 127.0.0.1:8002"
    assert backend2.env["CORS_ALLOWED_ORIGINS"] == "http://localhost:5000"
    assert [(d.name, d.condition) for d in backend2.depends_on] == [
        ("migrate", "completed"),
        ("backend", "healthy"),
    ]
    assert [(d.name, d.condition) for d in frontend.depends_on] == [
        ("backend", "healthy"),
        ("backend2", "healthy"),
    ]
    assert [(d.name, d.condition) for d in migrate.depends_on] == [("db", "healthy")]
    # every service sees every port, and its own as PORT
    for svc in stack.services.values():
        assert svc.env["DB_PORT"] == "5432"
        assert svc.env["MCP_PORT"] == "8080"
        assert svc.env["DATABASE_URL"] == "postgresql://medcor@127.0.0.1:5432/medcor"
        assert svc.env.get("PORT") == (str(svc.port) if svc.port else None)
    # the .env beside it was read (env_file: .env)
    assert db.env["DB_PASSWORD"] == "hunter22"


def test_spec_example_db_port_from_process_env_applies_everywhere() -> None:
    stack = load_stack(SPEC_EXAMPLE, environ={"DB_PORT": "6543"})
    db = stack.services["db"]
    assert db.port == 6543
    assert db.command == "postgres -D .stackup/pgdata -p 6543 -k /tmp"
    assert db.health.command == "pg_isready -h 127.0.0.1 -p 6543"
    for svc in stack.services.values():
        assert svc.env["DB_PORT"] == "6543"
        assert svc.env["DATABASE_URL"] == "postgresql://medcor@127.0.0.1:6543/medcor"


def test_spec_example_profiles() -> None:
    assert "mcp" not in load_stack(SPEC_EXAMPLE, environ={}).default_services()
    stack = load_stack(SPEC_EXAMPLE, profiles=["voice"], environ={})
    assert stack.active_profiles == ("voice",)
    assert "mcp" in stack.default_services()


def test_spec_example_port_offset_argument() -> None:
    stack = load_stack(SPEC_EXAMPLE, port_offset=100, environ={})
    assert stack.port_offset == 100
    assert stack.services["backend"].port == 8100
    assert stack.services["db"].port == 5532
    assert stack.services["frontend"].env["BACKEND_PORT"] == "8100"
    assert stack.services["backend2"].env["CORS_ALLOWED_ORIGINS"] == "http://localhost:5100"


# --- defaults -----------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "myproj"
    folder.mkdir()
    stack = load(folder, "services:\n  web:\n    command: [python, -m, http.server]\n")
    web = stack.services["web"]
    assert stack.name == "myproj"
    assert stack.port_offset == 0 and stack.active_profiles == ()
    assert web.command == ["python", "-m", "http.server"]
    assert web.cwd == folder and web.host == "127.0.0.1" and web.port is None
    assert web.health.kind == "none"
    assert (web.restart, web.stop_timeout, web.oneshot, web.profiles) == ("no", 10.0, False, ())
    assert web.line == 2


def test_health_defaults_and_forms(tmp_path: Path) -> None:
    stack = load(
        tmp_path,
        """
        services:
          a: {command: run, port: 8001}
          b:
            command: run
            port: 8002
            health: {http: {path: /ready, status: 204, port: 9002}, interval: 250ms}
          c:
            command: run
            host: 0.0.0.0
            health: {tcp: {port: "${B_PORT}", host: localhost}, start_timeout: 2m}
          d:
            command: run
            port: 8004
            health: {log: "listening on \\\\d+", timeout: 3, retries: 5}
          e:
            command: run
            port: 8005
            health: false
          f:
            command: run
            health: {command: [check, "${F_ARG:-x}"]}
        """,
    )
    a, b, c, d, e, f = (stack.services[n].health for n in "abcdef")
    assert (a.kind, a.port, a.host, a.interval, a.timeout, a.retries, a.start_timeout) == (
        "tcp",
        8001,
        "127.0.0.1",
        2.0,
        1.0,
        3,
        60.0,
    )
    assert (b.kind, b.path, b.status, b.port, b.interval) == ("http", "/ready", 204, 9002, 0.25)
    assert (c.kind, c.port, c.host, c.start_timeout) == ("tcp", 8002, "localhost", 120.0)
    assert (d.kind, d.pattern, d.timeout, d.retries) == ("log", r"listening on \d+", 3.0, 5)
    assert e.kind == "none"
    assert (f.kind, f.command) == ("command", ["check", "x"])


def test_depends_on_list_uses_completed_for_oneshots(tmp_path: Path) -> None:
    stack = load(
        tmp_path,
        """
        services:
          db: {command: run}
          setup: {command: run, oneshot: true}
          app:
            command: run
            depends_on: [db, setup]
          worker:
            command: run
            depends_on: {db: {condition: started}, setup: , app: {}}
        """,
    )
    app, worker = stack.services["app"], stack.services["worker"]
    assert [(d.name, d.condition) for d in app.depends_on] == [
        ("db", "healthy"),
        ("setup", "completed"),
    ]
    assert [(d.name, d.condition) for d in worker.depends_on] == [
        ("db", "started"),
        ("setup", "completed"),
        ("app", "healthy"),
    ]


# --- interpolation and precedence ---------------------------------------------------


def test_interpolation_precedence(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FROM_FILE=file\nSHARED=file\nBOTH=file\n")
    stack = load(
        tmp_path,
        """
        env:
          SHARED: stack
          STACK_ONLY: stack-${FROM_FILE}
          BOTH: stack
          PROC: stack
          WEB_PORT: stack
        services:
          web:
            command: "echo ${SHARED} ${STACK_ONLY} ${BOTH} ${PROC} ${WEB_PORT} ${PORT} $$PORT"
            port: 7000
            env:
              MINE: "${PROC}-${PORT}"
              BOTH: service
        """,
        environ={"PROC": "process", "BOTH": "process"},
    )
    web = stack.services["web"]
    # interpolation: port vars > process env > env files > stack env
    assert web.command == "echo file stack-file process process 7000 7000 $PORT"
    # the service environment: port vars > service env > service env_file > stack env > files
    assert web.env["MINE"] == "process-7000"
    assert web.env["BOTH"] == "service"
    assert web.env["SHARED"] == "stack"
    assert web.env["PROC"] == "stack"  # the file beats the shell
    assert web.env["FROM_FILE"] == "file"
    assert web.env["WEB_PORT"] == "7000" and web.env["PORT"] == "7000"
    assert "PYTHONUNBUFFERED" not in web.env  # the runtime adds it


def test_interpolation_in_lists_cwd_host_and_defaults(tmp_path: Path) -> None:
    stack = load(
        tmp_path,
        """
        env:
          SUB: sub
          A: "${B}-a"
          B: b
        services:
          api:
            command: [serve, --port, "${PORT}", "--db=${DB_PORT}", "${MISSING:-dflt}"]
            cwd: ./${SUB}/dir
            host: ${HOST:-localhost}
            port: ${API_PORT:-9000}
            description: api on ${PORT}
            env: {CHAIN: "${A}"}
          db:
            command: run
            port: 5432
        """,
    )
    api = stack.services["api"]
    assert api.command == ["serve", "--port", "9000", "--db=5432", "dflt"]
    assert api.cwd == tmp_path / "sub" / "dir"
    assert api.host == "localhost"
    assert api.description == "api on 9000"
    assert api.env["CHAIN"] == "b-a" and api.env["A"] == "b-a"


def test_port_fields_see_process_env_files_and_stack_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FILE_PORT=7001\n")
    stack = load(
        tmp_path,
        """
        env: {STACK_PORT: "7002"}
        services:
          a: {command: run, port: "${FILE_PORT}"}
          b: {command: run, port: "${STACK_PORT}"}
          c: {command: run, port: "${PROC_PORT}"}
        """,
        environ={"PROC_PORT": "7003"},
    )
    assert [s.port for s in stack.services.values()] == [7001, 7002, 7003]
    assert stack.services["a"].env["C_PORT"] == "7003"


def test_port_offset_from_file_and_argument(tmp_path: Path) -> None:
    body = """
        port_offset: ${OFFSET:-10}
        services:
          web: {command: "run ${PORT}", port: 8000}
          api: {command: run, port: 8001, env: {URL: "http://x:${WEB_PORT}"}}
        """
    stack = load(tmp_path, body)
    assert stack.port_offset == 10
    assert stack.services["web"].port == 8010
    assert stack.services["web"].command == "run 8010"
    assert stack.services["api"].env["URL"] == "http://x:8010"
    assert load(tmp_path, body, environ={"OFFSET": "20"}).services["api"].port == 8021
    overridden = load(tmp_path, body, port_offset=1000)
    assert overridden.port_offset == 1000 and overridden.services["web"].port == 9000


def test_name_with_dash_gives_underscored_port_variable(tmp_path: Path) -> None:
    stack = load(tmp_path, "services:\n  my-api: {command: run, port: 8000}\n")
    assert stack.services["my-api"].env["MY_API_PORT"] == "8000"


def test_clashing_port_variable_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both set MY_API_PORT"):
        load(
            tmp_path,
            "services:\n  my-api: {command: run, port: 8000}\n"
            "  my_api: {command: run, port: 8001}\n",
        )


# --- env files ----------------------------------------------------------------------


def test_default_env_file_is_read_only_when_present(tmp_path: Path) -> None:
    body = "services:\n  web: {command: run}\n"
    assert "X" not in load(tmp_path, body).services["web"].env
    (tmp_path / ".env").write_text("X=1\n")
    assert load(tmp_path, body).services["web"].env["X"] == "1"


def test_listed_env_files_replace_the_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT=yes\n")
    (tmp_path / "one.env").write_text("A=one\nB=one\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "two.env").write_text("B=two\nC=${A}-two\n")
    (tmp_path / "svc.env").write_text("B=svc\nS=${PROC}\n")
    stack = load(
        tmp_path,
        """
        env_file: [one.env, conf/two.env]
        services:
          web:
            command: run
            env_file: svc.env
          other:
            command: run
        """,
        environ={"PROC": "p"},
    )
    web, other = stack.services["web"], stack.services["other"]
    assert "DEFAULT" not in web.env
    assert (web.env["A"], web.env["C"]) == ("one", "one-two")
    assert web.env["B"] == "svc" and web.env["S"] == "p"
    assert other.env["B"] == "two" and "S" not in other.env


def test_single_env_file_string(tmp_path: Path) -> None:
    (tmp_path / "only.env").write_text("export ONLY='quoted value'\n")
    stack = load(tmp_path, "env_file: only.env\nservices:\n  web: {command: run}\n")
    assert stack.services["web"].env["ONLY"] == "quoted value"


@pytest.mark.parametrize(
    ("body", "line", "key"),
    [
        ("env_file: gone.env\nservices:\n  web: {command: run}\n", 1, "env_file"),
        (
            "services:\n  web:\n    command: run\n    env_file: gone.env\n",
            4,
            "services.web.env_file",
        ),
    ],
)
def test_missing_listed_env_file_is_an_error(
    tmp_path: Path, body: str, line: int, key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, body)
    assert (info.value.line, info.value.key) == (line, key)
    assert "env file not found" in str(info.value) and "gone.env" in str(info.value)


# --- Procfile -------------------------------------------------------------------------


def test_procfile_supplies_commands(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: gunicorn app -b :${PORT}\nworker: celery worker\n")
    stack = load(
        tmp_path,
        """
        procfile: Procfile
        services:
          web: {port: 8000}
          worker:
          beat: {command: celery beat}
        """,
    )
    assert stack.services["web"].command == "gunicorn app -b :8000"
    assert stack.services["worker"].command == "celery worker"
    assert stack.services["beat"].command == "celery beat"


def test_missing_procfile_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Procfile not found") as info:
        load(tmp_path, "procfile: Procfile\nservices:\n  web: {}\n")
    assert info.value.key == "procfile" and info.value.line == 1


def test_undefined_variable_in_procfile_names_the_entry(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("web: serve ${NOPE}\n")
    with pytest.raises(ConfigError, match="in Procfile entry 'web': variable NOPE") as info:
        load(tmp_path, "procfile: Procfile\nservices:\n  web: {}\n")
    assert info.value.key == "services.web" and info.value.line == 3


# --- errors are ConfigError only -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "services: [a, b]\n",
        "services:\n  a: 5\n",
        "services:\n  a: {command: run, depends_on: db}\n",
        "services:\n  a: {command: run, health: yes-please}\n",
        "services:\n  a: {command: run, env: [A=1]}\n",
        "? [a, b]\n: 1\nservices: {a: {command: run}}\n",
        "a: !!python/object:os.system x\n",
        "services:\n  a: {command: ''}\n",
        "services:\n  a: {command: run, cwd: '${X'}\n",
        "version: 1\n---\nversion: 1\n",
        "\t\n",
    ],
)
def test_odd_input_gives_config_error(tmp_path: Path, body: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, body)
    assert "\n" not in str(info.value)


def test_a_procfile_naming_a_process_twice_is_refused_even_under_python_O(tmp_path):
    """honcho's own check is an `assert`: `python -O` drops it, and the second command
    would silently win. stackup's check says where, with or without -O."""
    import subprocess
    import sys

    (tmp_path / "Procfile").write_text("web: serve one\nworker: work\nweb: serve two\n")
    (tmp_path / "stack.yaml").write_text("procfile: Procfile\nservices:\n  web: {}\n")
    for flags in ([], ["-O"]):
        result = subprocess.run(
            [sys.executable, *flags, "-m", "stackup", "-f", str(tmp_path / "stack.yaml"),
             "config"], capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 2, (flags, result.stdout)
        assert "Procfile" in result.stderr and ":3 names process 'web' again (first on line 1)" \
            in result.stderr, (flags, result.stderr)
