"""locations: the one place that says where a stack's state lives, and the search
for stack.yaml from a subfolder."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackup import locations


def test_default_project_is_the_stackup_folder(tmp_path: Path) -> None:
    assert locations.state_dir(tmp_path / "stack.yaml") == tmp_path / ".stackup"


def test_another_file_is_a_project_of_its_own(tmp_path: Path) -> None:
    assert locations.project_name(tmp_path / "ci.yaml") == "ci"
    assert locations.state_dir(tmp_path / "ci.yaml") == tmp_path / ".stackup/projects/ci"


def test_an_explicit_project_wins(tmp_path: Path) -> None:
    assert locations.state_dir(tmp_path / "stack.yaml", "two") == (
        tmp_path / ".stackup/projects/two"
    )
    assert locations.state_dir(tmp_path / "ci.yaml", "two") == tmp_path / ".stackup/projects/two"


def test_projects_never_meet_the_default_projects_files(tmp_path: Path) -> None:
    # A file named logs.yaml must not land in .stackup/logs/, where the default
    # project's log files are.
    for name in ("logs.yaml", "state.yaml", "supervisor.yaml", "pgdata.yaml"):
        folder = locations.state_dir(tmp_path / name)
        assert folder.parent == tmp_path / ".stackup" / "projects"


def test_a_symlinked_stack_file_keeps_its_state_beside_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "stack.yaml").write_text("services: {}\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "stack.yaml").symlink_to(real / "stack.yaml")
    assert locations.state_dir(work / "stack.yaml") == work / ".stackup"


def test_stack_file_is_found_in_a_folder_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stack.yaml").write_text("services: {}\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert locations.find_stack_file(sub) == tmp_path / "stack.yaml"
    monkeypatch.chdir(tmp_path)
    # In the current folder it is named as the user would: messages say stack.yaml:7:
    assert locations.find_stack_file(tmp_path) == Path("stack.yaml")


def test_the_nearest_stack_file_wins(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services: {}\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "stack.yaml").write_text("services: {}\n")
    (inner / "deeper").mkdir()
    assert locations.find_stack_file(inner / "deeper") == inner / "stack.yaml"


def test_project_names_are_folder_safe() -> None:
    for good in ("two", "ci-2", "a_b", "0"):
        assert locations.PROJECT_NAME.match(good)
    for bad in ("", "Two", "../x", "a/b", ".hidden", "-x"):
        assert not locations.PROJECT_NAME.match(bad)
