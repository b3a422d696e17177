"""The CI examples in examples/ci/ cannot rot: this reads the GitHub Actions workflow
and the GitLab CI file and runs every command they run, in order and with their
failure rules, on a project made of the repo's demo stack and the example's tests.

Only the install step is left out (the test venv, first on PATH, stands in for it;
the test checks that what it leaves out is only that). The demo stack is moved onto
free ports with the stack file's own `port_offset`, so the commands run unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.integration.test_demo import free_offset

CI = ROOT / "examples" / "ci"
GITLAB_KEYWORDS = {"default", "stages", "variables", "include", "workflow", "cache", "image"}


def project(stackup, root: Path | None = None, offset: int | None = None) -> Path:
    """The demo stack and the example's tests, as a user's repo would hold them."""
    root = root or stackup.dir
    stack = (ROOT / "stack.yaml").read_text()
    offset = free_offset() if offset is None else offset
    (root / "stack.yaml").write_text(stack + f"\nport_offset: {offset}\n")
    shutil.copytree(ROOT / "examples" / "demo", root / "examples" / "demo")
    shutil.copytree(CI / "tests", root / "tests")
    return root


def shell_args(stackup, script: str) -> tuple[list[str], dict[str, str]]:
    venv_bin = Path(sys.executable).parent  # stackup and pytest, as the install step left them
    env = {**stackup.env, "CI": "true", "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    # GitHub's default shell for `run:` and GitLab's for each script: bash, stop on error
    return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env


def shell(stackup, script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args, env = shell_args(stackup, script)
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )


def github_jobs() -> dict[str, Any]:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    return workflow["jobs"]


@pytest.mark.parametrize("job", list(github_jobs()))
def test_github_actions_job(stackup, job: str) -> None:
    root = project(stackup)
    steps = github_jobs()[job]["steps"]
    failed = False
    ran = []
    for step in steps:
        if "uses" in step:
            continue  # an action: checkout, setup-python, cache, upload-artifact
        if step.get("id") == "install":
            assert "pip install" in step["run"]
            continue
        assert "${{" not in step["run"], "expressions need a runner"
        if failed and step.get("if") != "always()":
            continue
        done = shell(stackup, step["run"], root)
        ran.append(step["run"])
        failed = failed or done.returncode != 0
        assert done.returncode == 0, f"{step['run']}\n{done.stdout}\n{done.stderr}"
    assert ran, "the job runs nothing"
    for step in steps:
        if step.get("uses", "").startswith("actions/upload-artifact"):
            assert step.get("if") == "always()"
            kept = json.loads((root / step["with"]["path"]).read_text())
            assert kept["supervisor"]["running"] is True
            assert all(s["ready"] for s in kept["services"])
            assert {s["name"] for s in kept["services"]} >= {"db", "backend", "frontend"}
    assert not stackup.leftovers()


def gitlab_jobs() -> dict[str, Any]:
    doc = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    jobs = {}
    for name, job in doc.items():
        if name in GITLAB_KEYWORDS or name.startswith("."):
            continue
        base = doc[job["extends"]] if "extends" in job else {}
        jobs[name] = {**base, **job}
    return jobs


@pytest.mark.parametrize("job", list(gitlab_jobs()))
def test_gitlab_ci_job(stackup, job: str) -> None:
    root = project(stackup)
    spec = gitlab_jobs()[job]
    # before_script is the install: the test venv stands in for it
    assert any("pip install" in line for line in spec["before_script"])
    assert "cache" in spec and ".venv/" in spec["cache"]["paths"]
    script = shell(stackup, "\n".join(spec["script"]), root)
    assert script.returncode == 0, f"{script.stdout}\n{script.stderr}"
    if "after_script" in spec:  # a shell of its own, run whatever the script did
        after = shell(stackup, "\n".join(spec["after_script"]), root)
        assert after.returncode == 0, f"{after.stdout}\n{after.stderr}"
    for path in spec.get("artifacts", {}).get("paths", []):
        assert spec["artifacts"]["when"] == "always"
        kept = json.loads((root / path).read_text())
        assert all(s["ready"] for s in kept["services"])
    assert not stackup.leftovers()


def test_the_examples_tests_fail_without_a_stack(stackup) -> None:
    """The example's tests really need the stack: without one they fail."""
    root = project(stackup)
    done = shell(stackup, "pytest -q tests/", root)
    assert done.returncode != 0


def test_two_jobs_at_once_on_one_runner_both_pass(stackup) -> None:
    """A runner running two jobs at once: two checkouts of one repo, the same ports in
    their stack files. The examples' `--port-offset auto` moves the second stack."""
    offset = free_offset()
    steps = github_jobs()["run"]["steps"]
    step = next(s["run"] for s in steps if "stackup run" in s.get("run", ""))
    assert "--port-offset auto" in step
    jobs = []
    for name in ("job-a", "job-b"):
        root = stackup.dir / name
        root.mkdir()
        project(stackup, root, offset)
        args, env = shell_args(stackup, step)
        jobs.append(subprocess.Popen(args, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        results = [job.communicate(timeout=50) for job in jobs]
    finally:
        for job in jobs:
            if job.poll() is None:
                job.kill()
                job.wait()
    for job, (out, err) in zip(jobs, results, strict=True):
        assert job.returncode == 0, f"{out}\n{err}"
    chosen = {re.search(r"--port-offset auto: offset ([-+]\d+)", err).group(1)
              for _, err in results}
    assert len(chosen) == 2, results  # the two stacks ran side by side on their own ports
    assert not stackup.leftovers()
