"""A self-contained SVG of a lineage graph: no Graphviz, no JavaScript, no external fonts.

Node sizes come from estimated text widths, positions from `layout.layered_layout`, left to
right ("LR") or top to bottom ("TB"). A legend of the kinds and statuses present sits on top.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence

from dtflw.lineage.layout import Box, Layout, Point, layered_layout
from dtflw.lineage.nodes import (
    EDGE_COLOUR,
    EXTERNAL_COLOURS,
    KNOWN_STATUSES,
    MUTED_TEXT,
    NOTEBOOK,
    NOTEBOOK_COLOURS,
    STATUS_COLOURS,
    TABLE,
    TABLE_COLOURS,
    TEXT_COLOUR,
    Direction,
    Edge,
    Node,
    check_direction,
    colours,
    edge_indexes,
    short_paths,
    status_text,
)

_MARGIN = 16.0
_PAD_X = 12.0
_MAX_NODE_WIDTH = 300.0
_MIN_NODE_WIDTH = 84.0
_TITLE_CHAR = 7.4  # estimated width of a 12px bold sans-serif character
_MONO_CHAR = 6.1  # width of a 10px monospace character
_SMALL_CHAR = 6.2  # estimated width of a 11px sans-serif character
_CYLINDER_RY = 6.0
_LEGEND_HEIGHT = 20.0  # one row of the legend
_LEGEND_ROW_GAP = 4.0
_LEGEND_MIN_WIDTH = 480.0  # the legend wraps only when wider than this and the drawing
_AUTO_RATIO = 2.0  # "auto" goes top to bottom when left to right is this many times wider than tall

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SANS = "Helvetica, Arial, sans-serif"
_MONO = "Menlo, Consolas, 'DejaVu Sans Mono', monospace"


# ---- node sizes -------------------------------------------------------------------------------
def _fit(text: str, width: float, per_char: float, keep_tail: bool) -> str:
    """`text` shortened with an ellipsis to fit `width` pixels (keeping its end for paths)."""
    room = max(4, int(width / per_char + 1e-6))
    if len(text) <= room:
        return text
    return "…" + text[-(room - 1) :] if keep_tail else text[: room - 1] + "…"


def _node_lines(node: Node, short: Mapping[str, str]) -> tuple[str, str | None]:
    """What a node shows: its label and a second line (table path or notebook status)."""
    if node.kind == TABLE:
        return node.label, short[node.id]
    return node.label, status_text(node.status) if node.status else None


def _node_size(node: Node, lines: tuple[str, str | None]) -> tuple[float, float]:
    title, second = lines
    text = max(len(title) * _TITLE_CHAR, len(second or "") * (_MONO_CHAR if node.kind == TABLE else _SMALL_CHAR))
    width = min(_MAX_NODE_WIDTH, max(_MIN_NODE_WIDTH, text + 2 * _PAD_X))
    if node.kind == TABLE:
        return width, 2 * _CYLINDER_RY + 40.0
    return width, 46.0 if second else 34.0


def _lines_and_sizes(nodes: Sequence[Node]) -> tuple[list[tuple[str, str | None]], list[tuple[float, float]]]:
    short = short_paths(nodes)
    lines = [_node_lines(n, short) for n in nodes]
    return lines, [_node_size(n, text) for n, text in zip(nodes, lines)]


def auto_direction(nodes: Sequence[Node], edges: Sequence[Edge]) -> Direction:
    """Top to bottom when the left-to-right drawing would be over `_AUTO_RATIO` times wider than tall."""
    if not nodes:
        return "LR"
    _, sizes = _lines_and_sizes(nodes)
    flat = layered_layout(len(nodes), edge_indexes(nodes, edges), sizes, "LR")
    return "TB" if flat.width > _AUTO_RATIO * flat.height else "LR"


# ---- SVG pieces -------------------------------------------------------------------------------
def _x(text: str) -> str:
    """Text escaped for XML content and attributes (characters XML forbids become U+FFFD)."""
    return html.escape(_INVALID_XML.sub("\ufffd", text), quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _route_path(points: Sequence[Point], vertical: bool) -> str:
    """Curves between layers, straight runs through the layers a long edge crosses.

    The curves leave and enter along the layer axis: horizontally left to right, vertically
    top to bottom.
    """
    parts = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for i, ((x0, y0), (x1, y1)) in enumerate(zip(points, points[1:])):
        if i % 2:
            parts.append(f"L{_n(x1)},{_n(y1)}")
        elif vertical:
            dy = (y1 - y0) / 2
            parts.append(f"C{_n(x0)},{_n(y0 + dy)} {_n(x1)},{_n(y1 - dy)} {_n(x1)},{_n(y1)}")
        else:
            dx = (x1 - x0) / 2
            parts.append(f"C{_n(x0 + dx)},{_n(y0)} {_n(x1 - dx)},{_n(y1)} {_n(x1)},{_n(y1)}")
    return " ".join(parts)


def _cylinder(
    x: float, y: float, w: float, h: float, fill: str, stroke: str, dashed: bool, css_class: str = "shape"
) -> str:
    """A table: outline with an elliptic top and bottom, plus the front rim of the top."""
    rx, ry = w / 2, _CYLINDER_RY
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    outline = (
        f"M{_n(x)},{_n(y + ry)} L{_n(x)},{_n(y + h - ry)} A{_n(rx)},{_n(ry)} 0 0 0 {_n(x + w)},{_n(y + h - ry)} "
        f"L{_n(x + w)},{_n(y + ry)} A{_n(rx)},{_n(ry)} 0 0 0 {_n(x)},{_n(y + ry)} Z"
    )
    rim = f"M{_n(x)},{_n(y + ry)} A{_n(rx)},{_n(ry)} 0 0 0 {_n(x + w)},{_n(y + ry)}"
    return (
        f'<path class="{css_class}" d="{outline}" fill="{fill}" stroke="{stroke}" stroke-width="1.3"{dash}/>'
        f'<path d="{rim}" fill="none" stroke="{stroke}" stroke-width="1.3"{dash}/>'
    )


def _box(x: float, y: float, w: float, h: float, fill: str, stroke: str, css_class: str = "shape") -> str:
    return (
        f'<rect class="{css_class}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="5" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.3"/>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    size: float,
    family: str = _SANS,
    colour: str = TEXT_COLOUR,
    weight: str = "normal",
    anchor: str = "middle",
) -> str:
    bold = ' font-weight="600"' if weight == "bold" else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-family="{_x(family)}" font-size="{_n(size)}"{bold} '
        f'fill="{colour}" text-anchor="{anchor}">{_x(text)}</text>'
    )


def _svg_node(node: Node, box: Box, lines: tuple[str, str | None]) -> str:
    x, y, w, h = box
    fill, stroke = colours(node)
    title, second = lines
    room = w - 2 * _PAD_X
    cx = x + w / 2
    classes = f"node {node.kind}" + (f" {node.status.replace(' ', '_')}" if node.status else "")
    classes += " external" if node.external else ""
    tip = f"{node.label}\n{node.path}" + (f"\nstatus: {status_text(node.status)}" if node.status else "")
    parts = [f'<g class="{classes}" data-id="{_x(node.id)}"><title>{_x(tip)}</title>']
    if node.kind == TABLE:
        parts.append(_cylinder(x, y, w, h, fill, stroke, node.external))
        body = y + 2 * _CYLINDER_RY
        parts.append(_text(cx, body + 16, _fit(title, room, _TITLE_CHAR, False), 12, weight="bold"))
        parts.append(_text(cx, body + 30, _fit(second or "", room, _MONO_CHAR, True), 10, _MONO, MUTED_TEXT))
    else:
        parts.append(_box(x, y, w, h, fill, stroke))
        first_line = y + h / 2 + 4.2 - (7 if second else 0)
        parts.append(_text(cx, first_line, _fit(title, room, _TITLE_CHAR, True), 12, weight="bold"))
        if second:
            parts.append(_text(cx, first_line + 15, _fit(second, room, _SMALL_CHAR, False), 11, colour=MUTED_TEXT))
    parts.append("</g>")
    return "".join(parts)


def _legend(nodes: Sequence[Node], y: float, right: float) -> tuple[str, float, float]:
    """Kinds and the statuses present, in rows that end before `right` (each row holds at least
    one item); returns the SVG, the width it needs (right margin included) and its height."""
    items: list[tuple[str, str]] = [("box", "notebook"), ("table", "table")]
    if any(n.external for n in nodes):
        items.append(("external", "external input"))
    present = {n.status for n in nodes if n.status}
    items += [(s, status_text(s)) for s in KNOWN_STATUSES if s in present]
    parts, x, top, width = ['<g class="legend">'], _MARGIN, y, 0.0
    for kind, text in items:
        size = 24 + len(text) * _SMALL_CHAR
        if x > _MARGIN and x + size > right - _MARGIN:
            x, y = _MARGIN, y + _LEGEND_HEIGHT + _LEGEND_ROW_GAP
        if kind == "table" or kind == "external":
            fill, stroke = EXTERNAL_COLOURS if kind == "external" else TABLE_COLOURS
            parts.append(_cylinder(x, y + 1, 14, 16, fill, stroke, kind == "external", "legend-icon"))
        else:
            fill, stroke = STATUS_COLOURS.get(kind, NOTEBOOK_COLOURS)
            parts.append(_box(x, y + 3, 18, 12, fill, stroke, "legend-icon"))
        parts.append(_text(x + 24, y + 13, text, 11, colour=MUTED_TEXT, anchor="start"))
        width = max(width, x + size + _MARGIN)
        x += size + 16
    parts.append("</g>")
    return "".join(parts), width, y + _LEGEND_HEIGHT - top


# ---- the drawing ------------------------------------------------------------------------------
def svg(nodes: Sequence[Node], edges: Sequence[Edge], direction: str = "LR") -> str:
    """The SVG of `nodes` and `edges`, layers left to right ("LR") or top to bottom ("TB")."""
    vertical = check_direction(direction) == "TB"
    if not nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="48" viewBox="0 0 240 48">'
            + _text(120, 28, "No notebooks declared", 12, colour=MUTED_TEXT)
            + "</svg>\n"
        )
    lines, sizes = _lines_and_sizes(nodes)
    flat: Layout = layered_layout(len(nodes), edge_indexes(nodes, edges), sizes, direction)
    legend, legend_width, legend_height = _legend(nodes, _MARGIN, max(flat.width + 2 * _MARGIN, _LEGEND_MIN_WIDTH))
    top = _MARGIN + legend_height + 12
    layout = flat.moved(_MARGIN, top)
    width, height = max(layout.width + 2 * _MARGIN, legend_width), top + layout.height + _MARGIN
    digest = hashlib.sha1("\n".join(n.id for n in nodes).encode("utf-8", "replace")).hexdigest()[:10]
    marker = f"dtflw-arrow-{digest}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="Lineage graph">',
        f"<title>Lineage: {sum(n.kind == NOTEBOOK for n in nodes)} notebooks, "
        f"{sum(n.kind == TABLE for n in nodes)} tables</title>",
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOUR}"/></marker></defs>',
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
        legend,
        '<g class="edges">',
    ]
    for edge, route in zip(edges, layout.routes):
        out.append(
            f'<path class="edge" data-source="{_x(edge.source)}" data-target="{_x(edge.target)}" '
            f'd="{_route_path(route, vertical)}" fill="none" stroke="{EDGE_COLOUR}" stroke-width="1.4" '
            f'marker-end="url(#{marker})"/>'
        )
    out.append('</g><g class="nodes">')
    out += [_svg_node(n, box, text) for n, box, text in zip(nodes, layout.boxes, lines)]
    out.append("</g></svg>\n")
    return "\n".join(out)
