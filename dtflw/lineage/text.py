"""Text renderings of a lineage graph: Mermaid, Graphviz DOT, and PNG through Graphviz's `dot`.

Renderers take the graph's nodes and edges (not the graph), so they never import `graph`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from dtflw.errors import DtflwError, InvalidArgumentError
from dtflw.lineage.nodes import (
    EDGE_COLOUR,
    EXTERNAL_COLOURS,
    STATUS_COLOURS,
    TABLE,
    TABLE_COLOURS,
    TEXT_COLOUR,
    Edge,
    Node,
    check_direction,
    colours,
    short_paths,
    status_text,
)


# ---- Mermaid ----------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: anything unusual becomes an entity code `#N;`."""
    return "".join(ch if ch.isalnum() or ch in " _-./:*,@" else f"#{ord(ch)};" for ch in text)


def mermaid(nodes: Sequence[Node], edges: Sequence[Edge], direction: str = "LR") -> str:
    """A Mermaid `flowchart LR` (or `TB`): notebooks as boxes, tables as cylinders, status classes."""
    direction = check_direction(direction)
    ids = {n.id: f"n{i}" for i, n in enumerate(nodes)}
    short = short_paths(nodes)
    lines = [f"flowchart {direction}"]
    classes: dict[str, list[str]] = {}
    for node in nodes:
        text = _mermaid_text(node.label)
        if node.kind == TABLE:
            lines.append(f'    {ids[node.id]}[("{text}<br/>{_mermaid_text(short[node.id])}")]')
            classes.setdefault("external" if node.external else "table", []).append(ids[node.id])
        else:
            lines.append(f'    {ids[node.id]}["{text}"]')
            if node.status is not None and node.status in STATUS_COLOURS:
                classes.setdefault(node.status, []).append(ids[node.id])
    lines += [f"    {ids[e.source]} --> {ids[e.target]}" for e in edges]
    styles = {"table": (*TABLE_COLOURS, ""), "external": (*EXTERNAL_COLOURS, ",stroke-dasharray:4 3")}
    styles.update({s: (*c, "") for s, c in STATUS_COLOURS.items()})
    for name, (fill, stroke, extra) in styles.items():
        if name in classes:
            lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:{TEXT_COLOUR}{extra}")
            lines.append(f"    class {','.join(classes[name])} {name}")
    return "\n".join(lines) + "\n"


# ---- DOT --------------------------------------------------------------------------------------
def _dot_string(*lines: str) -> str:
    """A quoted DOT string; several lines are joined with DOT's centred line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n") for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def dot(nodes: Sequence[Node], edges: Sequence[Edge], direction: str = "LR") -> str:
    """A Graphviz DOT digraph (`rankdir` LR or TB): boxes, cylinders, filled by status."""
    direction = check_direction(direction)
    short = short_paths(nodes)
    lines = [
        "digraph lineage {",
        f'    graph [rankdir={direction}, nodesep=0.3, ranksep=0.6, fontname="Helvetica"];',
        '    node [fontname="Helvetica", fontsize=11, style=filled, penwidth=1.3];',
        f'    edge [color="{EDGE_COLOUR}", arrowsize=0.7];',
    ]
    for node in nodes:
        fill, stroke = colours(node)
        if node.kind == TABLE:
            shape, label, tooltip = "cylinder", _dot_string(node.label, short[node.id]), node.path
            style = "filled,dashed" if node.external else "filled"
        else:
            shape, label, style = "box", _dot_string(node.label), "filled,rounded"
            tooltip = node.path + (f" ({status_text(node.status)})" if node.status else "")
        lines.append(
            f"    {_dot_string(node.id)} [label={label}, shape={shape}, style={_dot_string(style)}, "
            f'fillcolor="{fill}", color="{stroke}", tooltip={_dot_string(tooltip)}];'
        )
    lines += [f"    {_dot_string(e.source)} -> {_dot_string(e.target)};" for e in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_png(dot_source: str, target: Path) -> None:
    """Render DOT to PNG with Graphviz's `dot` binary."""
    program = shutil.which("dot")
    if program is None:
        raise InvalidArgumentError(
            f"Cannot save '{target}': PNG output needs Graphviz, and its 'dot' program is not on PATH. "
            "Install Graphviz (apt-get install graphviz, brew install graphviz, conda install graphviz) "
            "or save as .svg or .html, which need nothing extra."
        )
    try:
        done = subprocess.run(
            [program, "-Tpng", "-o", str(target)],
            input=dot_source.encode("utf-8"),
            capture_output=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DtflwError(f"Graphviz 'dot' could not render '{target}': {error}") from error
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        raise DtflwError(f"Graphviz 'dot' could not render '{target}': {detail}")
