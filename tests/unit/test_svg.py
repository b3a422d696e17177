"""The small SVG writer and the waterfall chart built with it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from stackup.diagrams import svg, waterfall

NS = {"s": "http://www.w3.org/2000/svg"}


def test_text_and_attributes_are_escaped_and_parse_back() -> None:
    doc = svg.document(
        100, 50, svg.element("text", 'a < b & "c" > d\x01', x=1, data_note='say "hi" & <go>'),
        title="t & <u>",
    )
    root = ET.fromstring(doc.split("\n", 1)[1])
    text = root.find("s:text", NS)
    assert text is not None
    assert text.text == 'a < b & "c" > d\ufffd'  # a control character is not XML
    assert text.get("data-note") == 'say "hi" & <go>'
    assert root.find("s:title", NS).text == "t & <u>"
    assert root.get("viewBox") == "0 0 100 50"


@pytest.mark.parametrize(("value", "shown"), [
    (12, "12"), (12.0, "12"), (12.5, "12.5"), (1 / 3, "0.33"), (-0.001, "0"), (True, "true"),
    ("1,2", "1,2"),
])
def test_numbers_have_at_most_two_decimals(value: object, shown: str) -> None:
    assert svg.fmt(value) == shown  # type: ignore[arg-type]


def test_keyword_names_become_svg_attribute_names_and_none_is_left_out() -> None:
    el = svg.element("path", None, stroke_width=2, class_="a", marker_end="url(#m)", fill=None)
    assert el.to_xml() == '<path stroke-width="2" class="a" marker-end="url(#m)"/>'


def test_elements_nest() -> None:
    el = svg.group([svg.element("rect", x=0), "text"], id="g")
    assert el.to_xml() == '<g id="g"><rect x="0"/>text</g>'


@pytest.mark.parametrize(("span", "step"), [
    (1.84, 0.2), (0.05, 0.005), (12, 2), (95, 10), (0, 1.0), (1000, 100),
])
def test_ticks_are_round(span: float, step: float) -> None:
    assert waterfall.nice_step(span) == pytest.approx(step)


def chart(n: int, critical: set[str] | None = None) -> waterfall.Chart:
    critical = critical or set()
    bars, arrows = [], []
    for i in range(n):
        name = f"service-{i:02d}"
        bars.append(waterfall.Bar(
            label=name,
            segments=[waterfall.Segment(0, i * 0.1, "waiting"),
                      waterfall.Segment(i * 0.1, i * 0.1 + 0.1, "starting"),
                      waterfall.Segment(i * 0.1 + 0.1, n * 0.1 + 0.2, "ready")],
            note=f"ready +0.10s {i}", critical=name in critical,
        ))
        if i:
            arrows.append(waterfall.Arrow(f"service-{i - 1:02d}", i * 0.1, name, i * 0.1,
                                          critical=name in critical))
    return waterfall.Chart("t", "sub", bars, arrows, end=n * 0.1 + 0.2)


def parse(doc: str) -> ET.Element:
    return ET.fromstring(doc.split("\n", 1)[1])


@pytest.mark.parametrize("n", [5, 50])
def test_every_bar_gets_its_own_row_inside_the_picture(n: int) -> None:
    root = parse(waterfall.render(chart(n)))
    height, width = float(root.get("height")), float(root.get("width"))
    bars = root.findall(".//s:g[@data-service]", NS)
    assert [b.get("data-service") for b in bars] == [f"service-{i:02d}" for i in range(n)]
    tops = []
    for bar in bars:
        rects = bar.findall("s:rect", NS)
        assert {r.get("class") for r in rects} == {
            "segment waiting", "segment starting", "segment ready"}
        ys = {float(r.get("y")) for r in rects}
        assert len(ys) == 1  # the phases of one bar share its row
        tops.append(ys.pop())
        for r in rects:
            left = float(r.get("x"))
            assert left >= 0 and left + float(r.get("width")) <= width
        label = bar.find("s:text", NS)
        assert float(label.get("font-size")) >= 12  # readable at 50 rows too
    gaps = [b - a for a, b in zip(tops, tops[1:], strict=False)]
    assert min(gaps) >= waterfall.BAR  # rows never overlap
    assert max(tops) + waterfall.BAR < height


def test_phases_are_placed_on_the_time_axis_in_proportion() -> None:
    root = parse(waterfall.render(chart(10)))
    bar = root.find(".//s:g[@data-service='service-05']", NS)
    rects = {r.get("class").split()[1]: r for r in bar.findall("s:rect", NS)}
    x = {k: float(r.get("x")) for k, r in rects.items()}
    w = {k: float(r.get("width")) for k, r in rects.items()}
    # waiting 0–0.5 s, starting 0.5–0.6 s on a 1.2 s axis
    assert x["starting"] == pytest.approx(x["waiting"] + w["waiting"], abs=0.02)
    assert w["waiting"] / w["starting"] == pytest.approx(5, rel=0.01)
    assert x["ready"] + w["ready"] == pytest.approx(waterfall.WIDTH - waterfall.MARGIN
                                                    - waterfall.NOTE_WIDTH, abs=0.02)


def test_the_critical_chain_is_drawn_in_its_colour_with_its_own_arrows() -> None:
    root = parse(waterfall.render(chart(6, critical={"service-04", "service-05"})))
    critical_bars = root.findall(".//s:g[@class='bar critical']", NS)
    assert [b.get("data-service") for b in critical_bars] == ["service-04", "service-05"]
    for bar in critical_bars:
        assert bar.find("s:text", NS).get("fill") == waterfall.CRITICAL
    arrows = root.findall(".//s:path[@data-from]", NS)
    assert len(arrows) == 5
    red = [a for a in arrows if a.get("stroke") == waterfall.CRITICAL]
    assert [(a.get("data-from"), a.get("data-to")) for a in red] == [
        ("service-03", "service-04"), ("service-04", "service-05")]
    assert all(a.get("marker-end") == "url(#arrow-critical)" for a in red)


def test_an_arrow_goes_from_the_release_point_down_to_the_dependent_start() -> None:
    bars = [
        waterfall.Bar("db", [waterfall.Segment(0, 1, "starting"),
                             waterfall.Segment(1, 4, "ready")]),
        waterfall.Bar("api", [waterfall.Segment(0, 2, "waiting"),
                              waterfall.Segment(2, 3, "starting")]),
    ]
    c = waterfall.Chart("t", "s", bars, [waterfall.Arrow("db", 1, "api", 2)], end=4)
    lay = waterfall.Layout(c)
    arrow = parse(waterfall.render(c)).find(".//s:path[@data-from='db']", NS)
    assert arrow.get("d") == (
        f"M{lay.x(1):.2f},{lay.mid('db') + waterfall.BAR / 2:.2f} "
        f"L{lay.x(1):.2f},{lay.mid('api'):.2f} L{lay.x(2):.2f},{lay.mid('api'):.2f}"
    )


def test_a_task_completing_is_a_milestone() -> None:
    bars = [waterfall.Bar("migrate", [waterfall.Segment(0, 1, "starting")], milestone=1.0)]
    root = parse(waterfall.render(waterfall.Chart("t", "s", bars, [], end=2)))
    assert len(root.findall(".//s:path[@class='milestone']", NS)) == 1
