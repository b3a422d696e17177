"""`stackup timeline` of real starts: the times the supervisor records, the critical
chain through the slow branch, the record kept after `down`, and the demo's SVG
drawn by a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests import tools
from tests.conftest import ROOT, svc
from tests.integration.test_demo import free_offset


def timeline_json(stackup) -> dict:
    done = stackup.run("timeline", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_timeline_names_the_slow_branch_and_outlives_down(stackup, port) -> None:
    p = {name: port() for name in ("db", "slow", "fast", "web")}
    stackup.write(f"""
        name: shop
        services:
          db: {{command: "{svc('--bind-delay 0.2')}", port: {p['db']}}}
          slow: {{command: "{svc('--bind-delay 0.6')}", port: {p['slow']}, depends_on: [db]}}
          fast: {{command: "{svc('--bind-delay 0.05')}", port: {p['fast']}, depends_on: [db]}}
          web:
            command: "{svc('--http')}"
            port: {p['web']}
            health: {{http: /}}
            depends_on: [slow, fast]
        """)
    assert stackup.run("up", "-d").returncode == 0
    running = timeline_json(stackup)
    assert running["running"] is True
    by = {s["name"]: s for s in running["services"]}
    assert [s["name"] for s in running["services"]] == ["db", "slow", "fast", "web"]
    db, slow, fast, web = by["db"], by["slow"], by["fast"], by["web"]
    assert db["waiting_at"] is None  # nothing to wait for
    assert db["started_at"] + 0.2 <= db["ready_at"] <= slow["started_at"]
    for s in (slow, fast, web):
        assert s["waiting_at"] <= db["started_at"] + 0.5  # queued at once, then waited
    assert slow["ready_at"] - slow["started_at"] >= 0.6
    assert fast["ready_at"] < slow["ready_at"] <= web["started_at"] <= web["ready_at"]
    assert web["waited_for"] == "slow" and fast["waited_for"] == "db"
    chain = running["critical_chains"][0]
    assert [link["name"] for link in chain] == ["web", "slow", "db"]
    assert chain[0]["ready_s"] == round(web["ready_at"] - running["origin"], 4)
    assert running["total_s"] >= 0.8

    text = stackup.run("timeline").stdout
    assert re.search(r"^web @\d+\.\d\ds \+\d+\.\d\ds$", text, re.M)
    assert re.search(r"^└─slow @", text, re.M) and re.search(r"^  └─db @", text, re.M)

    assert stackup.run("down").returncode == 0
    after = timeline_json(stackup)  # the last start, recorded after the stop
    assert after["running"] is False
    assert [(s["name"], s["started_at"], s["ready_at"]) for s in after["services"]] == [
        (s["name"], s["started_at"], s["ready_at"]) for s in running["services"]]
    assert after["critical_chains"] == running["critical_chains"]


def test_a_new_start_replaces_the_recorded_one(stackup, port) -> None:
    stackup.write(f"""
        services:
          db: {{command: "{svc()}", port: {port()}}}
        """)
    assert stackup.run("up", "-d").returncode == 0
    first = timeline_json(stackup)["services"][0]
    assert stackup.run("down").returncode == 0
    assert stackup.run("up", "-d").returncode == 0
    second = timeline_json(stackup)["services"][0]
    assert second["started_at"] > first["ready_at"]
    assert stackup.run("down").returncode == 0


def test_nothing_recorded_is_one_line_and_exit_1(stackup) -> None:
    stackup.write("services: {db: {command: 'true'}}\n")
    done = stackup.run("timeline")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "stackup: no start recorded in .stackup/ "
        "(start the stack with `stackup up -d` or `stackup up`)"
    )


def screenshot(svg: Path, png: Path, tmp_path: Path) -> None:
    height = int(float(re.search(r'height="([\d.]+)"', svg.read_text())[1]))
    tools.run_chromium(
        [f"--window-size=1000,{height}", f"--screenshot={png}", svg.as_uri()],
        tmp_path / "profile",
    )


def test_the_demo_timeline_svg_opens_in_a_browser(stackup, tmp_path: Path) -> None:
    from PIL import Image

    shutil.copy(ROOT / "stack.yaml", stackup.dir / "stack.yaml")
    shutil.copytree(ROOT / "examples", stackup.dir / "examples")
    up = stackup.run("up", "-d", "--port-offset", str(free_offset()))
    assert up.returncode == 0, up.stderr
    svg = tmp_path / "timeline.svg"
    done = stackup.run("timeline", "--svg", str(svg))
    assert stackup.run("down").returncode == 0
    assert done.returncode == 0, done.stderr
    assert "critical chain" in done.stdout and "└─" in done.stdout
    chain = [line.strip("└─ ").split(" @")[0] for line in done.stdout.splitlines()
             if re.match(r"^\s*(└─)?[a-z0-9]+ @", line)]
    assert chain[0] == "frontend" and chain[-1] == "db"
    assert f"critical chain: {' ← '.join(chain)}" in svg.read_text()

    png = tmp_path / "timeline.png"
    screenshot(svg, png, tmp_path)
    image = Image.open(png).convert("RGB")
    assert image.width == 1000 and image.height > 200
    counts = {rgb: n for n, rgb in image.getcolors(maxcolors=1 << 24)}
    total = image.width * image.height
    assert counts.get((255, 255, 255), 0) < 0.9 * total, "the screenshot is (nearly) blank"

    def near(colour: str) -> int:
        want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return sum(n for rgb, n in counts.items()
                   if all(abs(a - b) <= 8 for a, b in zip(rgb, want, strict=True)))

    from stackup.diagrams import waterfall

    # every phase and the critical chain are visibly drawn
    for colour in (*waterfall.COLOURS.values(), waterfall.CRITICAL):
        assert near(colour) > 200, f"{colour} hardly appears in the screenshot"
