"""A start-up waterfall chart as SVG: one bar per row made of phases (waiting,
starting, ready), arrows from a dependency's point of readiness to the start it
released, and a highlighted critical chain.

Laid out for 5–50 rows: a fixed width, one 24 px row per bar, alternate row shading,
names on the left, each bar's outcome on the right, a time axis with round ticks on
top. Hovering a bar in a browser shows its times (an SVG <title>).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stackup.diagrams.svg import Element, document, element, group

WIDTH = 1000
MARGIN = 16
ROW = 24
BAR = 14
TOP = 104  # title, subtitle, legend and axis labels above the first row
NOTE_WIDTH = 120
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CHAR = 7.2  # average width of a 12 px character, to size the name column

COLOURS = {
    "waiting": "#cbd5e1",
    "starting": "#f59e0b",
    "ready": "#86efac",
}
CRITICAL = "#dc2626"
MILESTONE = "#15803d"
ARROW = "#64748b"
GRID = "#e2e8f0"
STRIPE = "#f8fafc"
TEXT = "#0f172a"
MUTED = "#475569"


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the chart's origin
    end: float
    phase: str  # a key of COLOURS


@dataclass(frozen=True)
class Bar:
    label: str
    segments: list[Segment]
    note: str = ""  # shown right of the plot: "ready +0.55s", "failed"
    critical: bool = False
    milestone: float | None = None  # a point event drawn as a diamond (a task completing)


@dataclass(frozen=True)
class Arrow:
    source: str  # the bar whose phase released the target
    source_time: float
    target: str
    target_time: float
    critical: bool = False


@dataclass
class Chart:
    title: str
    subtitle: str
    bars: list[Bar]
    arrows: list[Arrow]
    end: float  # seconds shown on the axis


def nice_step(span: float, ticks: int = 10) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def tick_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}s"


class Layout:
    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        longest = max((len(b.label) for b in chart.bars), default=4)
        self.left = MARGIN + min(max(longest * CHAR + 16, 80), 260)
        self.right = WIDTH - MARGIN - NOTE_WIDTH
        self.height = TOP + len(chart.bars) * ROW + 2 * MARGIN
        self.rows = {b.label: i for i, b in enumerate(chart.bars)}

    def x(self, t: float) -> float:
        t = min(max(t, 0.0), self.chart.end)
        return self.left + t / self.chart.end * (self.right - self.left)

    def row_top(self, index: int) -> float:
        return TOP + index * ROW

    def mid(self, label: str) -> float:
        return self.row_top(self.rows[label]) + ROW / 2


def render(chart: Chart) -> str:
    lay = Layout(chart)
    parts: list[Element | None] = [
        _defs(),
        element("rect", x=0, y=0, width=WIDTH, height=lay.height, fill="#ffffff"),
        _header(chart),
        _stripes(lay),
        _axis(lay),
        group((_bar(lay, i, b) for i, b in enumerate(chart.bars)), class_="bars"),
        group((_arrow(lay, a) for a in chart.arrows if not a.critical), class_="arrows"),
        # The critical chain's arrows last, so nothing is drawn over them.
        group((_arrow(lay, a) for a in chart.arrows if a.critical), class_="arrows critical"),
    ]
    return document(WIDTH, lay.height, *parts, title=chart.title)


def _text(x: float, y: float, content: str, **attrs: str | float | None) -> Element:
    attrs.setdefault("font_size", 12)
    attrs.setdefault("fill", TEXT)
    return element("text", content, x=x, y=y, font_family=FONT, **attrs)


def _defs() -> Element:
    def marker(ident: str, colour: str) -> Element:
        return element(
            "marker",
            element("path", d="M0,0 L8,4 L0,8 z", fill=colour),
            id=ident, viewBox="0 0 8 8", refX=8, refY=4, markerWidth=7, markerHeight=7,
            orient="auto-start-reverse",
        )

    return element("defs", marker("arrow", ARROW), marker("arrow-critical", CRITICAL))


def _header(chart: Chart) -> Element:
    legend: list[Element] = []
    x = float(MARGIN)
    for phase, colour in COLOURS.items():
        legend.append(element("rect", x=x, y=62, width=14, height=10, fill=colour))
        legend.append(_text(x + 20, 71, phase, fill=MUTED))
        x += 20 + len(phase) * CHAR + 18
    legend.append(element("rect", x=x, y=62, width=14, height=10, fill="none",
                          stroke=CRITICAL, stroke_width=2))
    legend.append(_text(x + 20, 71, "critical chain", fill=CRITICAL))
    x += 20 + 14 * CHAR + 18
    legend.append(element("path", d=f"M{x + 6},60 L{x + 6},70 L{x + 16},70", fill="none",
                          stroke=ARROW, marker_end="url(#arrow)"))
    legend.append(_text(x + 24, 71, "a dependency met, the dependent started", fill=MUTED))
    return group([
        _text(MARGIN, 26, chart.title, font_size=16, font_weight="bold"),
        _text(MARGIN, 46, chart.subtitle, fill=MUTED),
        *legend,
    ], class_="header")


def _stripes(lay: Layout) -> Element:
    rows = [
        element("rect", x=MARGIN, y=lay.row_top(i), width=WIDTH - 2 * MARGIN, height=ROW,
                fill=STRIPE)
        for i in range(len(lay.chart.bars)) if i % 2 == 0
    ]
    return group(rows, class_="stripes")


def _axis(lay: Layout) -> Element:
    step = nice_step(lay.chart.end)
    bottom = lay.row_top(len(lay.chart.bars))
    items: list[Element] = []
    count = int(lay.chart.end / step + 1e-9)
    for i in range(count + 1):
        t = i * step
        x = lay.x(t)
        items.append(element("line", x1=x, y1=TOP - 4, x2=x, y2=bottom, stroke=GRID))
        items.append(_text(x, TOP - 10, tick_label(t, step), text_anchor="middle",
                           fill=MUTED, font_size=11))
    return group(items, class_="axis")


def _bar(lay: Layout, index: int, bar: Bar) -> Element:
    top = lay.row_top(index) + (ROW - BAR) / 2
    colour = CRITICAL if bar.critical else TEXT
    weight = "bold" if bar.critical else None
    items: list[Element | None] = [
        _text(lay.left - 10, top + BAR - 2, bar.label, text_anchor="end", fill=colour,
              font_weight=weight),
    ]
    for seg in bar.segments:
        x1, x2 = lay.x(seg.start), lay.x(seg.end)
        # A phase of a few milliseconds still shows as a sliver.
        width = max(x2 - x1, 1.5 if seg.phase == "starting" else 0.0)
        items.append(element(
            "rect", x=x1, y=top, width=width, height=BAR, fill=COLOURS[seg.phase],
            stroke=CRITICAL if bar.critical and seg.phase != "ready" else None,
            stroke_width=1.5 if bar.critical and seg.phase != "ready" else None,
            class_=f"segment {seg.phase}",
        ))
    if bar.milestone is not None:
        x, y = lay.x(bar.milestone), top + BAR / 2
        items.append(element(
            "path", d=f"M{x:.2f},{y - 6:.2f} L{x + 6:.2f},{y:.2f} L{x:.2f},{y + 6:.2f} "
                      f"L{x - 6:.2f},{y:.2f} z",
            fill=MILESTONE, stroke=CRITICAL if bar.critical else None, class_="milestone",
        ))
    items.append(_text(lay.right + 10, top + BAR - 2, bar.note, fill=colour if bar.critical
                       else MUTED, font_size=11))
    details = "; ".join(
        f"{s.phase} {s.start:.3f}s–{s.end:.3f}s" for s in bar.segments if s.phase != "ready"
    )
    items.append(element("title", f"{bar.label}: {details}; {bar.note}"))
    return group(items, class_="bar critical" if bar.critical else "bar",
                 data_service=bar.label)


def _arrow(lay: Layout, arrow: Arrow) -> Element | None:
    if arrow.source not in lay.rows or arrow.target not in lay.rows:
        return None
    x1, x2 = lay.x(arrow.source_time), lay.x(arrow.target_time)
    y1, y2 = lay.mid(arrow.source), lay.mid(arrow.target)
    down = 1 if y2 > y1 else -1
    start = y1 + down * BAR / 2
    if x2 - x1 < 6:  # released at once: straight down onto the dependent's bar
        d = f"M{x1:.2f},{start:.2f} L{x1:.2f},{y2 - down * BAR / 2:.2f}"
    else:  # down to the dependent's row, then along it to where it started
        d = f"M{x1:.2f},{start:.2f} L{x1:.2f},{y2:.2f} L{x2:.2f},{y2:.2f}"
    colour = CRITICAL if arrow.critical else ARROW
    return element(
        "path", element("title", f"{arrow.target} waited for {arrow.source}"),
        d=d, fill="none", stroke=colour, stroke_width=2 if arrow.critical else 1,
        stroke_opacity=1 if arrow.critical else 0.6,
        marker_end="url(#arrow-critical)" if arrow.critical else "url(#arrow)",
        class_="arrow critical" if arrow.critical else "arrow",
        data_from=arrow.source, data_to=arrow.target,
    )
