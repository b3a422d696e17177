"""`watch:` patterns (which changed paths count), the debouncer (a burst is one call),
and FileWatch on a real folder with watchfiles."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from stackup import globs
from stackup.system.filewatch import Debouncer, FileWatch, Rules, merge_roots


def test_path_patterns() -> None:
    assert globs.path_matches("/p/config/*.toml", "/p/config/a.toml")
    assert not globs.path_matches("/p/config/*.toml", "/p/config/sub/a.toml")
    assert globs.path_matches("/p/src/**/*.py", "/p/src/a.py")
    assert globs.path_matches("/p/src/**/*.py", "/p/src/x/y/a.py")
    assert not globs.path_matches("/p/src/**/*.py", "/p/src/x/a.pyc")
    assert globs.path_matches("/p/a?.[ch]", "/p/ab.c")
    assert not globs.path_matches("/p/a?.[!ch]", "/p/ab.c")


def test_where_a_pattern_is_watched() -> None:
    assert globs.glob_base("/p/config/*.toml") == "/p/config"
    assert not globs.spans_folders("/p/config/*.toml")
    assert globs.spans_folders("/p/src/**/*.py")
    assert globs.spans_folders("/p/*/settings.py")


def test_default_and_own_ignores(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    rules = Rules.of([str(tmp_path / "app")], ["*.log", "app/generated/"], str(tmp_path))
    root = tmp_path / "app"
    counted = [root / "views.py", root / "sub" / "models.py", root / "sub" / "settings.toml"]
    ignored = [
        root / "node_modules" / "x.js", root / "__pycache__" / "v.cpython-311.pyc",
        root / "x.pyc", root / ".git" / "index", root / ".views.py.swp", root / "views.py~",
        root / "4913", root / ".#views.py", root / "server.log", root / "generated" / "api.py",
        tmp_path / "elsewhere.py",
    ]
    for path in counted:
        assert rules.accepts(str(path)), path
    for path in ignored:
        assert not rules.accepts(str(path)), path


def test_a_project_under_an_ignored_name_is_still_watched(tmp_path: Path) -> None:
    root = tmp_path / "node_modules" / "project"  # the folder above is not the project's
    (root / "app").mkdir(parents=True)
    rules = Rules.of([str(root / "app")], [], str(root))
    assert rules.accepts(str(root / "app" / "x.py"))


def test_roots_folders_recursive_files_and_flat_globs_by_their_folder(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "worker.py").write_text("")
    rules = Rules.of(
        [str(tmp_path / "app"), str(tmp_path / "config" / "*.toml"), str(tmp_path / "worker.py")],
        [], str(tmp_path),
    )
    assert rules.roots() == [
        (str(tmp_path / "app"), True), (str(tmp_path / "config"), False), (str(tmp_path), False),
    ]
    assert rules.accepts(str(tmp_path / "worker.py"))
    assert not rules.accepts(str(tmp_path / "other.py"))
    recursive, flat = merge_roots([*rules.roots(), (str(tmp_path / "app" / "sub"), True)])
    assert recursive == [str(tmp_path / "app")]
    assert flat == sorted([str(tmp_path), str(tmp_path / "config")])


def test_debouncer_turns_a_burst_into_one_call() -> None:
    async def main() -> list[tuple[float, set[str]]]:
        fired: list[tuple[float, set[str]]] = []
        loop = asyncio.get_running_loop()
        debouncer = Debouncer(0.1, lambda paths: fired.append((loop.time(), paths)))
        began = loop.time()
        for i in range(5):
            debouncer.add({f"/p/{i}"})
            await asyncio.sleep(0.03)
        last = loop.time()
        while not fired and loop.time() - began < 2:
            await asyncio.sleep(0.01)
        fired.append((last, set()))
        return fired

    fired = asyncio.run(main())
    (when, paths), (last, _) = fired
    assert paths == {f"/p/{i}" for i in range(5)}
    assert 0.05 <= when - last < 0.5  # after the quiet spell, not after each change


def test_file_watch_sees_a_save_by_rename_in_a_real_folder(tmp_path: Path) -> None:
    target = tmp_path / "stack.yaml"
    target.write_text("a")

    async def main() -> set[str]:
        seen: set[str] = set()
        errors: list[BaseException] = []
        watch = FileWatch([], [str(tmp_path)], seen.update, errors.append,
                          prefilter=lambda p: p == str(target))
        watch.start()
        try:
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                # What editors do: write a new file, rename it over the old one.
                (tmp_path / ".stack.yaml.tmp").write_text("b")
                os.replace(tmp_path / ".stack.yaml.tmp", target)
                (tmp_path / "unrelated.txt").write_text("c")
                await asyncio.sleep(0.2)
        finally:
            began = time.monotonic()
            await watch.close()
            assert time.monotonic() - began < 2  # stops within a step, not a timeout
        assert not errors
        return seen

    assert asyncio.run(main()) == {str(target)}
