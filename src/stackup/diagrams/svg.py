"""A small SVG writer: elements as nested tuples of name, attributes and children,
serialised with every text and attribute value escaped.

Enough for charts made of rectangles, paths and text; nothing here knows about
stackup. `element()` builds, `document()` wraps the parts in a standalone <svg>.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Value = str | int | float


@dataclass(frozen=True)
class Element:
    name: str
    attrs: tuple[tuple[str, Value], ...] = ()
    children: tuple[Element | str, ...] = field(default=())

    def to_xml(self) -> str:
        attrs = "".join(f' {k}="{escape(fmt(v), quote=True)}"' for k, v in self.attrs)
        if not self.children:
            return f"<{self.name}{attrs}/>"
        inner = "".join(
            c.to_xml() if isinstance(c, Element) else escape(c) for c in self.children
        )
        return f"<{self.name}{attrs}>{inner}</{self.name}>"


def attr_name(key: str) -> str:
    """Python keyword arguments to SVG attribute names: `stroke_width` is
    `stroke-width`, `class_` is `class`, `marker_end` is `marker-end`."""
    return key.rstrip("_").replace("_", "-")


def element(name: str, *children: Element | str | None, **attrs: Value | None) -> Element:
    """An element; attributes and children that are None are left out."""
    return Element(
        name,
        tuple((attr_name(k), v) for k, v in attrs.items() if v is not None),
        tuple(c for c in children if c is not None),
    )


def group(children: Iterable[Element | str | None], **attrs: Value | None) -> Element:
    return element("g", *children, **attrs)


def fmt(value: Value) -> str:
    """Numbers with at most two decimals and no trailing zeros: 12, 12.5, 0.33."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return value


def escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;")
    # Control characters other than tab and newline are not allowed in XML 1.0.
    return "".join(c if c >= " " or c in "\t\n" else "\ufffd" for c in text)


def document(width: float, height: float, *children: Element | None, title: str = "") -> str:
    """A standalone SVG file, sized in pixels, that a browser opens as it is."""
    root = element(
        "svg",
        element("title", title) if title else None,
        *children,
        xmlns="http://www.w3.org/2000/svg",
        width=width,
        height=height,
        viewBox=f"0 0 {fmt(width)} {fmt(height)}",
    )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + root.to_xml() + "\n"
