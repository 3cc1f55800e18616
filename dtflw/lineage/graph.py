"""The lineage graph of a flow: notebooks and the tables they read and write.

Built statically from declared `NotebookSpec`s (no cluster needed) and, after a run, coloured by
each notebook's status. Renders as Mermaid, Graphviz DOT, a self-contained SVG drawn by a small
layered layout of our own (no Graphviz, no JavaScript) and HTML for `displayHTML` / Jupyter.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from dtflw.errors import DtflwError, InvalidArgumentError
from dtflw.model.dag import task_keys
from dtflw.model.results import FlowRunResult
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import RunStatus

NOTEBOOK = "notebook"
TABLE = "table"

# fill, stroke per status; statuses not listed here ("running", "pending", "not run") look plain.
STATUS_COLOURS: Mapping[str, tuple[str, str]] = {
    RunStatus.SUCCEEDED.value: ("#d3f9d8", "#2f9e44"),
    RunStatus.SKIPPED.value: ("#e9ecef", "#868e96"),
    RunStatus.FAILED.value: ("#ffe3e3", "#e03131"),
    RunStatus.UPSTREAM_FAILED.value: ("#ffe8cc", "#f76707"),
}
PLAIN_STATUSES = ("running", "pending", "not run")
KNOWN_STATUSES = (*STATUS_COLOURS, *PLAIN_STATUSES)
_NOTEBOOK_COLOURS = ("#ffffff", "#495057")
_TABLE_COLOURS = ("#e7f5ff", "#1c7ed6")
_EXTERNAL_COLOURS = ("#f8f9fa", "#74c0fc")
_EDGE_COLOUR = "#868e96"
_TEXT_COLOUR = "#212529"
_MUTED_TEXT = "#495057"

SAVE_SUFFIXES = (".html", ".mmd", ".dot", ".svg", ".png")


# ---- the graph --------------------------------------------------------------------------------
@attrs.frozen
class Node:
    """A notebook (`nb:<task key>`) or a table (`tbl:<absolute path>`)."""

    id: str
    kind: str  # NOTEBOOK | TABLE
    label: str  # notebook: declared path; table: name it is published (or read) under
    path: str  # notebook: workspace path; table: absolute path
    status: str | None = None  # notebooks only
    external: bool = False  # a table no notebook of the flow writes


@attrs.frozen
class Edge:
    """Data flow: table -> notebook for an input, notebook -> table for an output."""

    source: str
    target: str


def _check_graph(graph: LineageGraph, _attr: Any, _value: Any) -> None:
    ids = [n.id for n in graph.nodes]
    if len(set(ids)) != len(ids):
        raise InvalidArgumentError("Lineage graph node ids must be unique.")
    known = set(ids)
    for edge in graph.edges:
        if edge.source not in known or edge.target not in known:
            raise InvalidArgumentError(f"Lineage graph edge {edge.source!r} -> {edge.target!r} names an unknown node.")


@attrs.frozen
class LineageGraph:
    """Notebooks and tables of a flow, linked by reads and writes; renders in several formats."""

    nodes: tuple[Node, ...] = attrs.field(converter=tuple)
    edges: tuple[Edge, ...] = attrs.field(converter=tuple, validator=_check_graph)

    def node(self, node_id: str) -> Node:
        """The node with id `node_id` (`nb:<task key>` or `tbl:<path>`)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def notebooks(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == NOTEBOOK)

    @property
    def tables(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == TABLE)

    def to_mermaid(self) -> str:
        """A Mermaid `flowchart LR`: notebooks as boxes, tables as cylinders, status classes."""
        return _mermaid(self)

    def to_dot(self) -> str:
        """A Graphviz DOT digraph: notebooks as boxes, tables as cylinders, filled by status."""
        return _dot(self)

    def to_svg(self) -> str:
        """A self-contained SVG laid out left to right by our own layered layout."""
        return _svg(self)

    def _repr_html_(self) -> str:
        """Inline SVG in a scrollable box: `displayHTML(graph._repr_html_())` and Jupyter."""
        return (
            '<div class="dtflw-lineage" style="overflow:auto;max-width:100%;background:#ffffff;'
            'border:1px solid #dee2e6;border-radius:6px;padding:4px">'
            "<style>.dtflw-lineage svg{max-width:none;height:auto}"
            ".dtflw-lineage .node:hover>:first-child{stroke-width:2.5}</style>"
            f"{self.to_svg()}</div>"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the graph in the format its suffix names (.html, .mmd, .dot, .svg, .png).

        PNG is rendered by Graphviz's `dot`, which must be on PATH; the others need nothing.
        """
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise InvalidArgumentError(f"save() needs a file path, got {path!r}.")
        target = Path(path)
        suffix = target.suffix.lower()
        writers: dict[str, Callable[[], str]] = {
            ".html": self._html_page,
            ".mmd": self.to_mermaid,
            ".dot": self.to_dot,
            ".svg": self.to_svg,
        }
        if suffix == ".png":
            _render_png(self.to_dot(), target)
        elif suffix in writers:
            target.write_text(writers[suffix](), encoding="utf-8")
        else:
            raise InvalidArgumentError(
                f"Cannot save the lineage graph to '{target}': unknown suffix {suffix or '(none)'!r}. "
                f"Supported: {', '.join(SAVE_SUFFIXES)} (.png needs Graphviz)."
            )
        return target

    def _html_page(self) -> str:
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>dtflw lineage</title></head>\n'
            f"<body>{self._repr_html_()}</body></html>\n"
        )


# ---- building ---------------------------------------------------------------------------------
def build_lineage(
    specs: Sequence[NotebookSpec],
    keys: Mapping[int, str] | None = None,
    statuses: Mapping[int, str | None] | None = None,
) -> LineageGraph:
    """The lineage of declared notebooks; `keys` and `statuses` are keyed by declaration index.

    Each table is one node per absolute path, whoever writes or reads it; inputs that no notebook
    of the flow writes (raw files) are table nodes too. Optional inputs that resolved to nothing
    are left out. `keys` defaults to `task_keys(specs)`.
    """
    specs = _check_specs(specs)
    keys = _check_keys(specs, task_keys(specs) if keys is None else keys)
    statuses = _check_statuses(specs, {} if statuses is None else statuses)
    writers: dict[str, str] = {}  # table path -> alias of its first writer
    readers: dict[str, list[str]] = {}  # table path -> input names, for unwritten tables
    for spec in specs:
        for out in spec.outputs:
            writers.setdefault(out.path, out.alias)
        for inp in spec.inputs:
            if inp.path:
                names = readers.setdefault(inp.path, [])
                if inp.name not in names:
                    names.append(inp.name)
    nodes: dict[str, Node] = {}
    edges: dict[Edge, None] = {}

    def table(path: str) -> str:
        node_id = f"tbl:{path}"
        if node_id not in nodes:
            label = writers.get(path) or ", ".join(readers.get(path, ()))
            nodes[node_id] = Node(node_id, TABLE, label, path, external=path not in writers)
        return node_id

    for spec in specs:
        notebook = f"nb:{keys[spec.index]}"
        reads = [table(inp.path) for inp in spec.inputs if inp.path]
        nodes[notebook] = Node(notebook, NOTEBOOK, spec.path, spec.abs_path, statuses.get(spec.index))
        edges.update((Edge(t, notebook), None) for t in reads)
        edges.update((Edge(notebook, table(out.path)), None) for out in spec.outputs)
    return LineageGraph(tuple(nodes.values()), tuple(edges))


def statuses_of(result: FlowRunResult) -> dict[int, str]:
    """Statuses by declaration index from a `FlowRunResult`, for `build_lineage(statuses=...)`."""
    return {i: s.value for i, s in result.statuses().items()}


def _check_specs(specs: Any) -> list[NotebookSpec]:
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Iterable):
        raise InvalidArgumentError(f"build_lineage() needs a sequence of NotebookSpec, got {type(specs).__name__}.")
    specs = list(specs)
    seen: set[int] = set()
    for spec in specs:
        if not isinstance(spec, NotebookSpec):
            raise InvalidArgumentError(
                f"build_lineage() needs NotebookSpec items, got {type(spec).__name__}: {spec!r}."
            )
        if spec.index in seen:
            raise InvalidArgumentError(f"Two notebook specs share declaration index {spec.index}.")
        seen.add(spec.index)
    return specs


def _check_keys(specs: Sequence[NotebookSpec], keys: Any) -> Mapping[int, str]:
    if not isinstance(keys, Mapping):
        raise InvalidArgumentError(f"keys must map declaration index to task key, got {type(keys).__name__}.")
    owner: dict[str, str] = {}
    for spec in specs:
        key = keys.get(spec.index)
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(
                f"keys has no task key (a non-empty string) for notebook '{spec.path}' "
                f"(index {spec.index}), got {key!r}."
            )
        if key in owner:
            raise InvalidArgumentError(f"Notebooks '{owner[key]}' and '{spec.path}' have the same task key {key!r}.")
        owner[key] = spec.path
    return keys


def _check_statuses(specs: Sequence[NotebookSpec], statuses: Any) -> Mapping[int, str | None]:
    if not isinstance(statuses, Mapping):
        raise InvalidArgumentError(f"statuses must map declaration index to status, got {type(statuses).__name__}.")
    indexes = {s.index for s in specs}
    for index, status in statuses.items():
        if index not in indexes:
            raise InvalidArgumentError(
                f"statuses names declaration index {index!r}, but no notebook has it (indexes: {sorted(indexes)})."
            )
        if status is not None and status not in KNOWN_STATUSES:
            raise InvalidArgumentError(
                f"Unknown status {status!r} for index {index}; expected one of {', '.join(KNOWN_STATUSES)} or None."
            )
    return statuses


# ---- shared rendering helpers -----------------------------------------------------------------
def _colours(node: Node) -> tuple[str, str]:
    """(fill, stroke) of a node: tables by kind, notebooks by status."""
    if node.kind == TABLE:
        return _EXTERNAL_COLOURS if node.external else _TABLE_COLOURS
    return STATUS_COLOURS.get(node.status or "", _NOTEBOOK_COLOURS)


def _short_paths(nodes: Sequence[Node]) -> dict[str, str]:
    """Table paths without the folder every table shares (the storage root), for second lines."""
    tables = [n for n in nodes if n.kind == TABLE]
    folders = [n.path.split("/")[:-1] for n in tables]
    common = 0
    if folders:
        shortest = min(folders, key=len)
        while common < len(shortest) and all(f[common] == shortest[common] for f in folders):
            common += 1
    return {n.id: "/".join(n.path.split("/")[common:]) or n.path for n in tables}


def _status_text(status: str) -> str:
    return status.replace("_", " ")


# ---- Mermaid ----------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: anything unusual becomes an entity code `#N;`."""
    return "".join(ch if ch.isalnum() or ch in " _-./:*,@" else f"#{ord(ch)};" for ch in text)


def _mermaid(graph: LineageGraph) -> str:
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    short = _short_paths(graph.nodes)
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {}
    for node in graph.nodes:
        text = _mermaid_text(node.label)
        if node.kind == TABLE:
            lines.append(f'    {ids[node.id]}[("{text}<br/>{_mermaid_text(short[node.id])}")]')
            classes.setdefault("external" if node.external else "table", []).append(ids[node.id])
        else:
            lines.append(f'    {ids[node.id]}["{text}"]')
            if node.status in STATUS_COLOURS:
                classes.setdefault(node.status, []).append(ids[node.id])
    lines += [f"    {ids[e.source]} --> {ids[e.target]}" for e in graph.edges]
    styles = {"table": (*_TABLE_COLOURS, ""), "external": (*_EXTERNAL_COLOURS, ",stroke-dasharray:4 3")}
    styles.update({s: (*c, "") for s, c in STATUS_COLOURS.items()})
    for name, (fill, stroke, extra) in styles.items():
        if name in classes:
            lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:{_TEXT_COLOUR}{extra}")
            lines.append(f"    class {','.join(classes[name])} {name}")
    return "\n".join(lines) + "\n"


# ---- DOT --------------------------------------------------------------------------------------
def _dot_string(*lines: str) -> str:
    """A quoted DOT string; several lines are joined with DOT's centred line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n") for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def _dot(graph: LineageGraph) -> str:
    short = _short_paths(graph.nodes)
    lines = [
        "digraph lineage {",
        '    graph [rankdir=LR, nodesep=0.3, ranksep=0.6, fontname="Helvetica"];',
        '    node [fontname="Helvetica", fontsize=11, style=filled, penwidth=1.3];',
        f'    edge [color="{_EDGE_COLOUR}", arrowsize=0.7];',
    ]
    for node in graph.nodes:
        fill, stroke = _colours(node)
        if node.kind == TABLE:
            shape, label, tooltip = "cylinder", _dot_string(node.label, short[node.id]), node.path
            style = "filled,dashed" if node.external else "filled"
        else:
            shape, label, style = "box", _dot_string(node.label), "filled,rounded"
            tooltip = node.path + (f" ({_status_text(node.status)})" if node.status else "")
        lines.append(
            f"    {_dot_string(node.id)} [label={label}, shape={shape}, style={_dot_string(style)}, "
            f'fillcolor="{fill}", color="{stroke}", tooltip={_dot_string(tooltip)}];'
        )
    lines += [f"    {_dot_string(e.source)} -> {_dot_string(e.target)};" for e in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_png(dot_source: str, target: Path) -> None:
    """Render DOT to PNG with Graphviz's `dot` binary."""
    dot = shutil.which("dot")
    if dot is None:
        raise InvalidArgumentError(
            f"Cannot save '{target}': PNG output needs Graphviz, and its 'dot' program is not on PATH. "
            "Install Graphviz (apt-get install graphviz, brew install graphviz, conda install graphviz) "
            "or save as .svg or .html, which need nothing extra."
        )
    try:
        done = subprocess.run(
            [dot, "-Tpng", "-o", str(target)],
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


# ---- layered layout ---------------------------------------------------------------------------
_MARGIN = 16.0
_COLUMN_GAP = 64.0  # between layers, room for the arrows
_ROW_GAP = 16.0  # between nodes of one layer
_PAD_X = 12.0
_MAX_NODE_WIDTH = 300.0
_MIN_NODE_WIDTH = 84.0
_TITLE_CHAR = 7.4  # estimated width of a 12px bold sans-serif character
_MONO_CHAR = 6.1  # width of a 10px monospace character
_SMALL_CHAR = 6.2  # estimated width of a 11px sans-serif character
_CYLINDER_RY = 6.0
_LEGEND_HEIGHT = 20.0
_SWEEPS = 4


@attrs.frozen
class _Layout:
    """Boxes (x, y, w, h) per node and route points per edge, in the graph's order."""

    boxes: tuple[tuple[float, float, float, float], ...]
    routes: tuple[tuple[tuple[float, float], ...], ...]
    width: float
    height: float


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
    return node.label, _status_text(node.status) if node.status else None


def _node_size(node: Node, lines: tuple[str, str | None]) -> tuple[float, float]:
    title, second = lines
    text = max(len(title) * _TITLE_CHAR, len(second or "") * (_MONO_CHAR if node.kind == TABLE else _SMALL_CHAR))
    width = min(_MAX_NODE_WIDTH, max(_MIN_NODE_WIDTH, text + 2 * _PAD_X))
    if node.kind == TABLE:
        return width, 2 * _CYLINDER_RY + 40.0
    return width, 46.0 if second else 34.0


def _back_edges(succ: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    """Edges closing a cycle, found by an iterative depth-first search in node order."""
    state = [0] * len(succ)  # 0 unseen, 1 on the stack, 2 finished
    back: set[tuple[int, int]] = set()
    for root in range(len(succ)):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, rest = stack[-1]
            for nxt in rest:
                if state[nxt] == 1:
                    back.add((node, nxt))
                elif state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def _assign_layers(count: int, oriented: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Layer per node (longest path from the sources; sources sit just before their first reader)
    and a topological order."""
    out: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for a, b in oriented:
        out[a].append(b)
        indegree[b] += 1
    sources = [i for i in range(count) if indegree[i] == 0]
    ready = deque(sources)
    layer = [0] * count
    order: list[int] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for nxt in out[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    for node in sources:
        if out[node]:
            layer[node] = min(layer[n] for n in out[node]) - 1
    return layer, order


def _crossings(rows: Sequence[Sequence[int]], down: Sequence[Sequence[int]], pos: Sequence[int]) -> int:
    """Edge crossings between adjacent layers (inversions counted with a Fenwick tree)."""
    total = 0
    for upper, lower in zip(rows, rows[1:]):
        pairs = sorted((pos[u], pos[v]) for u in upper for v in down[u])
        tree = [0] * (len(lower) + 1)
        for seen, (_, p) in enumerate(pairs):
            i, at_most = p + 1, 0
            while i > 0:
                at_most += tree[i]
                i -= i & -i
            total += seen - at_most
            i = p + 1
            while i <= len(lower):
                tree[i] += 1
                i += i & -i
    return total


def _order_layers(rows: list[list[int]], down: Sequence[Sequence[int]], up: Sequence[Sequence[int]]) -> list[list[int]]:
    """Barycenter sweeps (down, up, ...) keeping the ordering with the fewest crossings."""
    pos = [0] * len(down)
    rel = [0.0] * len(down)

    def number(row: list[int]) -> None:
        span = max(1, len(row) - 1)
        for i, node in enumerate(row):
            pos[node], rel[node] = i, i / span

    for row in rows:
        number(row)
    best, best_crossings = [list(r) for r in rows], _crossings(rows, down, pos)
    for sweep in range(_SWEEPS):
        downward = sweep % 2 == 0
        neighbours = up if downward else down
        for li in range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1):
            row = rows[li]
            row.sort(key=lambda n: sum(rel[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else rel[n])
            number(row)
        crossings = _crossings(rows, down, pos)
        if crossings < best_crossings:
            best, best_crossings = [list(r) for r in rows], crossings
        if best_crossings == 0:
            break
    return best


def _isotonic(values: Sequence[float]) -> list[float]:
    """Closest non-decreasing sequence in least squares (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [sum, count]
    for value in values:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    out: list[float] = []
    for total, count in blocks:
        out += [total / count] * int(count)
    return out


def _place_row(row: Sequence[int], desired: Sequence[float], heights: Sequence[float]) -> list[float]:
    """Centres as near `desired` as possible while keeping order and `_ROW_GAP` between nodes."""
    offsets = [0.0]
    for a, b in zip(row, row[1:]):
        offsets.append(offsets[-1] + (heights[a] + heights[b]) / 2 + _ROW_GAP)
    shifted = _isotonic([d - o for d, o in zip(desired, offsets)])
    return [s + o for s, o in zip(shifted, offsets)]


def _assign_y(
    rows: Sequence[Sequence[int]], down: Sequence[Sequence[int]], up: Sequence[Sequence[int]], heights: Sequence[float]
) -> list[float]:
    """Vertical centres: stacked, then pulled towards neighbours in alternating passes."""
    cy = [0.0] * len(heights)
    for row in rows:
        for node, y in zip(row, _place_row(row, [0.0] * len(row), heights)):
            cy[node] = y

    def relax(order: Iterable[int], pulls: Sequence[Sequence[int]]) -> None:
        for li in order:
            row = rows[li]
            desired = [sum(cy[m] for m in pulls[n]) / len(pulls[n]) if pulls[n] else cy[n] for n in row]
            for node, y in zip(row, _place_row(row, desired, heights)):
                cy[node] = y

    both = [list(d) + list(u) for d, u in zip(down, up)]
    for _ in range(3):
        relax(range(1, len(rows)), up)
        relax(range(len(rows) - 2, -1, -1), down)
    relax(range(len(rows)), both)
    return cy


def _orient(count: int, edges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Edges pointing forward: the ones closing a cycle are turned round for the layout."""
    succ: list[list[int]] = [[] for _ in range(count)]
    for a, b in edges:
        succ[a].append(b)
    back = _back_edges(succ)
    return [((b, a) if (a, b) in back else (a, b)) for a, b in edges]


def _add_dummies(oriented: Sequence[tuple[int, int]], layer: list[int], order_key: list[float]) -> list[list[int]]:
    """One chain of nodes per edge; a long edge gets a dummy node in every layer it crosses.

    Dummies are appended to `layer` and `order_key`. A budget keeps the total linear in the
    graph size; edges beyond it are drawn straight across.
    """
    budget = 4 * len(layer) + 1000
    chains: list[list[int]] = []
    for a, b in oriented:
        span = layer[b] - layer[a]
        chain = [a]
        if 1 < span <= budget + 1:
            budget -= span - 1
            for step in range(1, span):
                layer.append(layer[a] + step)
                order_key.append(order_key[a] + 0.5)
                chain.append(len(layer) - 1)
        chains.append(chain + [b])
    return chains


def _neighbours(chains: Iterable[Sequence[int]], layer: Sequence[int]) -> tuple[list[list[int]], list[list[int]]]:
    """Next-layer (down) and previous-layer (up) neighbours of every node, dummies included."""
    down: list[list[int]] = [[] for _ in layer]
    up: list[list[int]] = [[] for _ in layer]
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            if layer[b] == layer[a] + 1:
                down[a].append(b)
                up[b].append(a)
    return down, up


def _columns(rows: Sequence[Sequence[int]], widths: Sequence[float]) -> tuple[list[float], list[float]]:
    """Left x and width of every layer's column."""
    lefts, column_widths, x = [], [], _MARGIN
    for row in rows:
        column_widths.append(max([widths[n] for n in row] + [24.0]))
        lefts.append(x)
        x += column_widths[-1] + _COLUMN_GAP
    return lefts, column_widths


def _layout(graph: LineageGraph, sizes: Sequence[tuple[float, float]], top: float) -> _Layout:
    """Sugiyama-style layers left to right: layering, dummy nodes, ordering, coordinates."""
    count = len(graph.nodes)
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    edges = [(index[e.source], index[e.target]) for e in graph.edges]
    oriented = _orient(count, edges)
    layer, order = _assign_layers(count, oriented)
    order_key = [0.0] * count
    for rank, node in enumerate(order):
        order_key[node] = float(rank)
    chains = _add_dummies(oriented, layer, order_key)
    total = len(layer)
    down, up = _neighbours(chains, layer)
    rows: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for node in sorted(range(total), key=lambda n: order_key[n]):
        rows[layer[node]].append(node)
    rows = _order_layers(rows, down, up)
    widths = [w for w, _ in sizes] + [0.0] * (total - count)
    heights = [h for _, h in sizes] + [0.0] * (total - count)
    cy = _assign_y(rows, down, up, heights)
    lift = top - min((cy[n] - heights[n] / 2 for n in range(total)), default=0.0)
    lefts, column_widths = _columns(rows, widths)
    boxes = tuple(
        (
            lefts[layer[n]] + (column_widths[layer[n]] - widths[n]) / 2,
            cy[n] + lift - heights[n] / 2,
            widths[n],
            heights[n],
        )
        for n in range(count)
    )
    routes = []
    for edge, (a, b), chain in zip(edges, oriented, chains):
        ax, ay, aw, ah = boxes[a]
        bx, by, _, bh = boxes[b]
        points = [(ax + aw, ay + ah / 2)]
        for dummy in chain[1:-1]:
            left, y = lefts[layer[dummy]], cy[dummy] + lift
            points += [(left, y), (left + column_widths[layer[dummy]], y)]
        points.append((bx, by + bh / 2))
        routes.append(tuple(points) if edge == (a, b) else tuple(reversed(points)))
    width = lefts[-1] + column_widths[-1] + _MARGIN if rows else 2 * _MARGIN
    height = max((y + h for _, y, _, h in boxes), default=top) + _MARGIN
    return _Layout(boxes, tuple(routes), width, height)


# ---- SVG --------------------------------------------------------------------------------------
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SANS = "Helvetica, Arial, sans-serif"
_MONO = "Menlo, Consolas, 'DejaVu Sans Mono', monospace"


def _x(text: str) -> str:
    """Text escaped for XML content and attributes (characters XML forbids become U+FFFD)."""
    return html.escape(_INVALID_XML.sub("\ufffd", text), quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _route_path(points: Sequence[tuple[float, float]]) -> str:
    """Curves between layers, straight runs through the layers a long edge crosses."""
    parts = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for i, ((x0, y0), (x1, y1)) in enumerate(zip(points, points[1:])):
        if i % 2:
            parts.append(f"L{_n(x1)},{_n(y1)}")
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
    colour: str = _TEXT_COLOUR,
    weight: str = "normal",
    anchor: str = "middle",
) -> str:
    bold = ' font-weight="600"' if weight == "bold" else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-family="{_x(family)}" font-size="{_n(size)}"{bold} '
        f'fill="{colour}" text-anchor="{anchor}">{_x(text)}</text>'
    )


def _svg_node(node: Node, box: tuple[float, float, float, float], lines: tuple[str, str | None]) -> str:
    x, y, w, h = box
    fill, stroke = _colours(node)
    title, second = lines
    room = w - 2 * _PAD_X
    cx = x + w / 2
    classes = f"node {node.kind}" + (f" {node.status.replace(' ', '_')}" if node.status else "")
    classes += " external" if node.external else ""
    tip = f"{node.label}\n{node.path}" + (f"\nstatus: {_status_text(node.status)}" if node.status else "")
    parts = [f'<g class="{classes}" data-id="{_x(node.id)}"><title>{_x(tip)}</title>']
    if node.kind == TABLE:
        parts.append(_cylinder(x, y, w, h, fill, stroke, node.external))
        body = y + 2 * _CYLINDER_RY
        parts.append(_text(cx, body + 16, _fit(title, room, _TITLE_CHAR, False), 12, weight="bold"))
        parts.append(_text(cx, body + 30, _fit(second or "", room, _MONO_CHAR, True), 10, _MONO, _MUTED_TEXT))
    else:
        parts.append(_box(x, y, w, h, fill, stroke))
        first_line = y + h / 2 + 4.2 - (7 if second else 0)
        parts.append(_text(cx, first_line, _fit(title, room, _TITLE_CHAR, True), 12, weight="bold"))
        if second:
            parts.append(_text(cx, first_line + 15, _fit(second, room, _SMALL_CHAR, False), 11, colour=_MUTED_TEXT))
    parts.append("</g>")
    return "".join(parts)


def _legend(graph: LineageGraph, y: float) -> tuple[str, float]:
    """Kinds and the statuses present, in one row; returns the SVG and its width."""
    items: list[tuple[str, str]] = [("box", "notebook"), ("table", "table")]
    if any(n.external for n in graph.nodes):
        items.append(("external", "external input"))
    present = {n.status for n in graph.nodes if n.status}
    items += [(s, _status_text(s)) for s in KNOWN_STATUSES if s in present]
    parts, x = ['<g class="legend">'], _MARGIN
    for kind, text in items:
        if kind == "table" or kind == "external":
            fill, stroke = _EXTERNAL_COLOURS if kind == "external" else _TABLE_COLOURS
            parts.append(_cylinder(x, y + 1, 14, 16, fill, stroke, kind == "external", "legend-icon"))
        else:
            fill, stroke = STATUS_COLOURS.get(kind, _NOTEBOOK_COLOURS)
            parts.append(_box(x, y + 3, 18, 12, fill, stroke, "legend-icon"))
        parts.append(_text(x + 24, y + 13, text, 11, colour=_MUTED_TEXT, anchor="start"))
        x += 24 + len(text) * _SMALL_CHAR + 16
    parts.append("</g>")
    return "".join(parts), x - 16 + _MARGIN


def _svg(graph: LineageGraph) -> str:
    if not graph.nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="48" viewBox="0 0 240 48">'
            + _text(120, 28, "No notebooks declared", 12, colour=_MUTED_TEXT)
            + "</svg>\n"
        )
    short = _short_paths(graph.nodes)
    lines = [_node_lines(n, short) for n in graph.nodes]
    sizes = [_node_size(n, l) for n, l in zip(graph.nodes, lines)]
    top = _MARGIN + _LEGEND_HEIGHT + 12
    layout = _layout(graph, sizes, top)
    legend, legend_width = _legend(graph, _MARGIN)
    width, height = max(layout.width, legend_width), layout.height
    digest = hashlib.sha1("\n".join(n.id for n in graph.nodes).encode("utf-8", "replace")).hexdigest()[:10]
    marker = f"dtflw-arrow-{digest}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="Lineage graph">',
        f"<title>Lineage: {len(graph.notebooks)} notebooks, {len(graph.tables)} tables</title>",
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{_EDGE_COLOUR}"/></marker></defs>',
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
        legend,
        '<g class="edges">',
    ]
    for edge, route in zip(graph.edges, layout.routes):
        out.append(
            f'<path class="edge" data-source="{_x(edge.source)}" data-target="{_x(edge.target)}" '
            f'd="{_route_path(route)}" fill="none" stroke="{_EDGE_COLOUR}" stroke-width="1.4" '
            f'marker-end="url(#{marker})"/>'
        )
    out.append('</g><g class="nodes">')
    out += [_svg_node(n, box, l) for n, box, l in zip(graph.nodes, layout.boxes, lines)]
    out.append("</g></svg>\n")
    return "\n".join(out)
