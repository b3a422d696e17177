"""The command line as a person meets it, against real stacks: state per stack file
and per project, a symlinked stack file, commands from a subfolder, `ports` of a
running stack, what a held port says, `run` refusing a missing command, completion
in a real bash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psutil

from tests.conftest import PY, SVC, is_gone, kill_group_and_wait, poll, svc

BIN = str(Path(sys.executable).parent)  # where the venv's `stackup` script is


def one_service(name: str, port: int, extra: str = "") -> str:
    return f"""
        services:
          {name}:
            command: {svc()}
            port: {port}
            {extra}
        """


def status(stackup, *args: str, env: dict[str, str] | None = None) -> dict:
    result = stackup.run(*args, "status", "--json", env=env)
    return json.loads(result.stdout)


def pids(status_json: dict) -> dict[str, int | None]:
    return {s["name"]: s["pid"] for s in status_json["services"]}


def test_two_stack_files_in_one_folder_never_share_state(stackup, port):
    stackup.write(one_service("a", port()))
    stackup.write(one_service("b", port()), name="other.yaml")
    assert stackup.run("up", "-d").returncode == 0
    other_up = stackup.run("-f", "other.yaml", "up", "-d")
    assert other_up.returncode == 0, other_up.stderr
    mine, theirs = status(stackup), status(stackup, "-f", "other.yaml")
    assert list(pids(mine)) == ["a"] and list(pids(theirs)) == ["b"]
    assert mine["supervisor"]["pid"] != theirs["supervisor"]["pid"]
    assert (stackup.dir / ".stackup" / "projects" / "other" / "state.json").is_file()
    # the global option after the command, as people type it
    assert stackup.run("down", "-f", "other.yaml").returncode == 0
    poll(lambda: is_gone(pids(theirs)["b"]))
    assert psutil.pid_exists(pids(mine)["a"])
    assert stackup.run("status").returncode == 0  # a is still up and ready
    assert stackup.run("down").returncode == 0
    poll(lambda: is_gone(pids(mine)["a"]))


def test_a_project_runs_a_second_copy_of_the_same_file(stackup, port):
    first, second = port(), port()
    stackup.write(one_service("api", first))
    assert stackup.run("up", "-d").returncode == 0
    copy = stackup.run("-p", "two", "up", "-d", "--port-offset", str(second - first))
    assert copy.returncode == 0, copy.stderr
    one = status(stackup)
    two = status(stackup, env={"STACKUP_PROJECT": "two"})
    assert [s["port"] for s in one["services"]] == [first]
    assert [s["port"] for s in two["services"]] == [second]
    assert pids(one)["api"] != pids(two)["api"] and all(s["ready"] for s in two["services"])
    table = stackup.run("status", "-p", "two").stdout
    assert table.startswith(f"stack {stackup.dir.name} (project two): supervisor pid")
    assert stackup.run("-p", "two", "down").returncode == 0
    poll(lambda: is_gone(pids(two)["api"]))
    assert psutil.pid_exists(pids(one)["api"])
    assert stackup.run("down").returncode == 0


def test_a_project_name_used_by_another_file_is_refused(stackup, port):
    stackup.write(one_service("a", port()))
    stackup.write(one_service("b", port()), name="other.yaml")
    assert stackup.run("-p", "shared", "up", "-d").returncode == 0
    for folder in (".stackup", ".stackup/projects", ".stackup/projects/shared"):
        assert (stackup.dir / folder).stat().st_mode & 0o777 == 0o700, folder
    try:
        for args in (["status"], ["down"], ["up", "-d"]):
            result = stackup.run("-f", "other.yaml", "-p", "shared", *args)
            assert result.returncode == 2, (args, result.stderr)
            assert "holds the state of" in result.stderr and "stack.yaml" in result.stderr
            assert "-p NAME" in result.stderr
        assert status(stackup, "-p", "shared")["services"][0]["ready"]  # untouched
    finally:
        assert stackup.run("-p", "shared", "down").returncode == 0


def test_a_symlinked_stack_file_is_found_the_same_way_by_every_command(
    stackup, port, tmp_path
):
    real = tmp_path / "real"
    real.mkdir()
    (real / "stack.yaml").write_text(one_service("api", port()))
    work = stackup.dir / "work"
    work.mkdir()
    (work / "stack.yaml").symlink_to(real / "stack.yaml")
    assert stackup.run("up", "-d", cwd=work).returncode == 0
    running = json.loads(stackup.run("status", "--json", cwd=work).stdout)
    assert running["supervisor"]["running"] and running["services"][0]["ready"]
    assert (work / ".stackup" / "state.json").is_file()
    assert not (real / ".stackup").exists()
    assert stackup.run("down", cwd=work).returncode == 0
    poll(lambda: is_gone(running["services"][0]["pid"]))


def test_commands_find_the_stack_from_a_subfolder(stackup, port):
    stackup.write(one_service("api", port()))
    sub = stackup.dir / "src" / "pkg"
    sub.mkdir(parents=True)
    assert stackup.run("up", "-d", cwd=sub).returncode == 0
    assert (stackup.dir / ".stackup" / "state.json").is_file()
    assert not (sub / ".stackup").exists()
    found = json.loads(stackup.run("status", "--json", cwd=stackup.dir).stdout)
    assert found["services"][0]["ready"]
    assert stackup.run("down", cwd=sub).returncode == 0
    poll(lambda: is_gone(found["services"][0]["pid"]))


def test_ports_shows_the_ports_the_running_stack_uses(stackup, port):
    in_file, moved = port(), port()
    stackup.write(f"""
        services:
          api:
            command: {svc("--http")}
            port: ${{API_PORT:-{in_file}}}
            health: {{http: /healthz/}}
            description: the API
        """)
    assert stackup.run("up", "-d", env={"API_PORT": str(moved)}).returncode == 0
    try:
        service_pid = status(stackup)["services"][0]["pid"]
        table = stackup.run("ports").stdout  # no API_PORT here: the file says in_file
        row = next(line for line in table.splitlines() if line.startswith("api"))
        assert str(moved) in row and str(in_file) not in row
        assert f"http://localhost:{moved}/ " in row  # its root, not /healthz/
        holder = int(re.search(r"api \(pid (\d+)\)", row).group(1))
        assert holder in {p.pid for p in [psutil.Process(service_pid),
                                          *psutil.Process(service_pid).children(True)]}
        rows = json.loads(stackup.run("ports", "--json").stdout)
        assert rows[0]["port"] == moved and rows[0]["held_by_service"] == "api"
        markdown = stackup.run("ports", "--markdown").stdout
        assert "| Held by |" in markdown and f"| api (pid {holder}) |" in markdown
    finally:
        assert stackup.run("down").returncode == 0
    stopped = stackup.run("ports").stdout
    assert str(in_file) in stopped and "free" in stopped


def test_a_held_port_says_how_to_free_it_or_move_the_stack(stackup, port):
    p = port()
    squatter = subprocess.Popen([PY, str(SVC), "--port", str(p)], start_new_session=True)
    try:
        poll(lambda: any(c.laddr.port == p for c in psutil.Process(squatter.pid).net_connections()))
        stackup.write(f"""
            services:
              api: {{command: "{svc()}", port: "${{API_PORT:-{p}}}"}}
            """)
        result = stackup.run("up")
        assert result.returncode == 3
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1
        assert f"port {p} (api) is held by pid {squatter.pid}" in line
        assert f"nothing was started: stop it (`kill {squatter.pid}`)" in line
        offset = int(re.search(r"`--port-offset (\d+)`", line).group(1))
        moved = int(re.search(r"`API_PORT=(\d+)`", line).group(1))
        assert offset > 0 and moved != p
        # and the advice works: the moved stack starts beside the squatter
        assert stackup.run("up", "-d", env={"API_PORT": str(moved)}).returncode == 0
        assert stackup.run("down").returncode == 0
    finally:
        kill_group_and_wait(squatter)


def test_down_says_how_to_stop_a_foreign_process_on_a_stack_port(stackup, port):
    p = port()
    stackup.write(f"""
        services:
          api: {{command: "{svc()} --port 0", port: {p}, health: false}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    squatter = subprocess.Popen([PY, str(SVC), "--port", str(p)], start_new_session=True)
    try:
        poll(lambda: any(c.laddr.port == p for c in psutil.Process(squatter.pid).net_connections()))
        result = stackup.run("down")
        assert result.returncode == 0
        assert (
            f"which stackup did not start; left alone (`kill {squatter.pid}` stops it)"
            in result.stderr
        )
        assert squatter.poll() is None
    finally:
        kill_group_and_wait(squatter)


def test_run_refuses_a_missing_command_before_starting_anything(stackup, port, tmp_path):
    touched = tmp_path / "touched"
    stackup.write(f"""
        services:
          api: {{command: "{svc(f'--touch {touched}')}", port: {port()}}}
        """)
    missing = stackup.run("run", "--", "no-such-command-xyz", "--flag")
    assert missing.returncode == 127
    assert missing.stderr == (
        "stackup: command not found: no-such-command-xyz (nothing was started)\n"
    )
    not_executable = stackup.dir / "script.sh"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    cannot = stackup.run("run", "./script.sh")
    assert cannot.returncode == 126
    assert "cannot run ./script.sh: Permission denied (nothing was started)" in cannot.stderr
    assert not touched.exists()
    assert not (stackup.dir / ".stackup" / "state.json").exists()


def test_run_leaves_options_after_the_command_to_the_command(stackup, port):
    stackup.write(one_service("api", port()))
    result = stackup.run("run", "sh", "-c", 'echo "got $0 $1"; exit 7', "--port-offset", "5")
    assert result.returncode == 7, result.stderr
    assert "got --port-offset 5" in result.stdout


def test_a_failure_with_one_line_of_output_says_line(stackup, port):
    stackup.write(f"""
        services:
          early: {{command: "echo boom; exit 3", port: {port()}}}
        """)
    result = stackup.run("up")
    assert result.returncode == 1
    assert "stackup: last 1 line of early:" in result.stderr


def complete(stackup, words: str, cwd: Path | None = None) -> list[str]:
    """What Tab offers in a real bash that loaded `stackup completion bash`."""
    script = (
        'eval "$(stackup completion bash)"; '
        f"COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); "
        '[[ "{words}" == *" " ]] && COMP_CWORD=${{#COMP_WORDS[@]}}; '
        '_stackup_completion stackup; printf "%s\\n" "${COMPREPLY[@]}"'
    ).replace("{words}", words)
    env = {**stackup.env, "PATH": f"{BIN}{os.pathsep}{stackup.env['PATH']}"}
    out = subprocess.run(["bash", "-c", script], cwd=cwd or stackup.dir, env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_bash_completes_commands_options_and_service_names(stackup, port):
    stackup.write(f"""
        services:
          backend: {{command: "{svc()}", port: {port()}}}
          backend2: {{command: "{svc()}", port: {port()}}}
          db: {{command: "{svc()}", port: {port()}}}
        """)
    stackup.write("services:\n  worker: {command: run}\n", name="other.yaml")
    assert complete(stackup, "stackup st") == ["status"]
    assert "--profile" in complete(stackup, "stackup up --pro")
    assert complete(stackup, "stackup up b") == ["backend", "backend2"]
    assert complete(stackup, "stackup logs --file other.yaml w") == ["worker"]
    assert complete(stackup, "stackup -f other.yaml down w") == ["worker"]
    assert complete(stackup, "stackup export s") == ["systemd"]
    # A running stack completes what its supervisor knows, even once the file breaks.
    assert stackup.run("up", "-d", "db").returncode == 0
    try:
        (stackup.dir / "stack.yaml").write_text("services: [broken\n")
        assert complete(stackup, "stackup restart d") == ["db"]
    finally:
        assert stackup.run("down").returncode == 0
