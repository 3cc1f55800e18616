"""The lineage graph of a flow: notebooks and the tables they read and write.

Built statically from declared `NotebookSpec`s (no cluster needed) and, after a run, coloured by
each notebook's status. Renders as Mermaid, Graphviz DOT (`text`), a self-contained SVG drawn by a
small layered layout of our own (`svg`, `layout`: no Graphviz, no JavaScript) and HTML for
`displayHTML` / Jupyter. The layers go left to right (`direction="LR"`, the default), top to
bottom (`"TB"`), or `"auto"`: top to bottom when left to right would be much wider than tall.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from dtflw.errors import InvalidArgumentError
from dtflw.lineage import svg, text
from dtflw.lineage.nodes import (
    DIRECTIONS,
    KNOWN_STATUSES,
    NOTEBOOK,
    PLAIN_STATUSES,
    STATUS_COLOURS,
    TABLE,
    Direction,
    Edge,
    Node,
    check_direction,
)
from dtflw.model.dag import task_keys
from dtflw.model.foreach import as_glob, group_root_key
from dtflw.model.results import FlowRunResult
from dtflw.model.specs import InputSpec, NotebookSpec
from dtflw.model.status import RunStatus

__all__ = [
    "DIRECTIONS",
    "DIRECTION_OPTIONS",
    "KNOWN_STATUSES",
    "NOTEBOOK",
    "PLAIN_STATUSES",
    "SAVE_SUFFIXES",
    "STATUS_COLOURS",
    "TABLE",
    "Direction",
    "DirectionOption",
    "Edge",
    "LineageGraph",
    "Node",
    "build_lineage",
    "statuses_of",
]

SAVE_SUFFIXES = (".html", ".mmd", ".dot", ".svg", ".png")

# What the rendering methods take: a direction, or "auto" to let the drawing's shape decide.
DirectionOption = Literal["LR", "TB", "auto"]
DIRECTION_OPTIONS: tuple[DirectionOption, ...] = ("LR", "TB", "auto")


# ---- the graph --------------------------------------------------------------------------------
def _node_tuple(nodes: Iterable[Node]) -> tuple[Node, ...]:
    return tuple(nodes)


def _edge_tuple(edges: Iterable[Edge]) -> tuple[Edge, ...]:
    return tuple(edges)


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
    """Notebooks and tables of a flow, linked by reads and writes; renders in several formats.

    Every rendering takes `direction`: "LR" (layers left to right, the default), "TB" (top to
    bottom) or "auto" (top to bottom when the left-to-right drawing would be more than twice as
    wide as tall; Mermaid and DOT follow the same choice).
    """

    nodes: tuple[Node, ...] = attrs.field(converter=_node_tuple)
    edges: tuple[Edge, ...] = attrs.field(converter=_edge_tuple, validator=_check_graph)

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

    def _direction(self, direction: DirectionOption) -> Direction:
        """`direction` checked, and "auto" turned into "LR" or "TB" by the shape of the drawing."""
        check_direction(direction, DIRECTION_OPTIONS)
        if direction == "auto":
            return svg.auto_direction(self.nodes, self.edges)
        return "TB" if direction == "TB" else "LR"

    def to_mermaid(self, direction: DirectionOption = "LR") -> str:
        """A Mermaid `flowchart LR` (or `TB`): notebooks as boxes, tables as cylinders, status classes."""
        return text.mermaid(self.nodes, self.edges, self._direction(direction))

    def to_dot(self, direction: DirectionOption = "LR") -> str:
        """A Graphviz DOT digraph (`rankdir=LR` or `TB`): boxes, cylinders, filled by status."""
        return text.dot(self.nodes, self.edges, self._direction(direction))

    def to_svg(self, direction: DirectionOption = "LR") -> str:
        """A self-contained SVG laid out by our own layered layout, left to right or top to bottom."""
        return svg.svg(self.nodes, self.edges, self._direction(direction))

    def _repr_html_(self) -> str:
        """Inline SVG in a scrollable box: `displayHTML(graph._repr_html_())` and Jupyter."""
        return self._html("LR")

    def _html(self, direction: DirectionOption) -> str:
        return (
            '<div class="dtflw-lineage" style="overflow:auto;max-width:100%;background:#ffffff;'
            'border:1px solid #dee2e6;border-radius:6px;padding:4px">'
            "<style>.dtflw-lineage svg{max-width:none;height:auto}"
            ".dtflw-lineage .node:hover>:first-child{stroke-width:2.5}</style>"
            f"{self.to_svg(direction)}</div>"
        )

    def save(self, path: str | os.PathLike[str], direction: DirectionOption = "LR") -> Path:
        """Write the graph in the format its suffix names (.html, .mmd, .dot, .svg, .png).

        `direction` as for `to_svg`. PNG is rendered by Graphviz's `dot`, which must be on PATH;
        the others need nothing.
        """
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise InvalidArgumentError(f"save() needs a file path, got {path!r}.")
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in SAVE_SUFFIXES:
            raise InvalidArgumentError(
                f"Cannot save the lineage graph to '{target}': unknown suffix {suffix or '(none)'!r}. "
                f"Supported: {', '.join(SAVE_SUFFIXES)} (.png needs Graphviz)."
            )
        chosen = self._direction(direction)
        writers: dict[str, Callable[[Direction], str]] = {
            ".html": self._html_page,
            ".mmd": self.to_mermaid,
            ".dot": self.to_dot,
            ".svg": self.to_svg,
        }
        if suffix == ".png":
            text.render_png(self.to_dot(chosen), target)
        else:
            target.write_text(writers[suffix](chosen), encoding="utf-8")
        return target

    def _html_page(self, direction: DirectionOption = "LR") -> str:
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>dtflw lineage</title></head>\n'
            f"<body>{self._html(direction)}</body></html>\n"
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
    specs, keys, statuses = _stacked(specs, keys, statuses)
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


_STACK_ORDER = tuple(
    s.value
    for s in (RunStatus.FAILED, RunStatus.UPSTREAM_FAILED, RunStatus.CANCELLED, RunStatus.SUCCEEDED, RunStatus.SKIPPED)
)  # a stacked node shows the first status any of its iterations has


def _stacked(
    specs: list[NotebookSpec], keys: Mapping[int, str], statuses: Mapping[int, str | None]
) -> tuple[list[NotebookSpec], dict[int, str], dict[int, str | None]]:
    """The iterations of each for-each group as one notebook ("ingest ×90") reading and writing
    one table per output (the folder or glob of every iteration), with the worst status."""
    groups: dict[int, list[NotebookSpec]] = {}
    for spec in specs:
        if spec.group is not None:
            groups.setdefault(spec.group, []).append(spec)
    if not groups:
        return specs, dict(keys), dict(statuses)
    family = {o.path: as_glob(o.family) for s in specs if s.group is not None for o in s.outputs if o.family}
    out: list[NotebookSpec] = []
    new_keys, new_statuses = dict(keys), dict(statuses)
    for spec in specs:
        members = groups.get(spec.group) if spec.group is not None else None
        if members is None:
            out.append(attrs.evolve(spec, inputs=tuple(_retarget(i, family) for i in spec.inputs)))
            continue
        if spec is not members[0]:
            continue
        inputs = tuple(
            attrs.evolve(inp, path=_common([m.inputs[n].path for m in members]))
            if len({m.inputs[n].path for m in members}) > 1 and _family_of(inp.path, family) is None
            else _retarget(inp, family)
            for n, inp in enumerate(spec.inputs)
        )
        outputs = tuple(attrs.evolve(o, path=family.get(o.path, o.path)) for o in spec.outputs)
        label = f"{spec.path} ×{len(members)}" if len(members) > 1 else spec.label
        out.append(attrs.evolve(spec, path=label, inputs=inputs, outputs=outputs))
        new_keys[spec.index] = group_root_key(keys[spec.index], spec.params)
        found = {statuses.get(m.index) for m in members} - {None}
        new_statuses[spec.index] = next((s for s in _STACK_ORDER if s in found), None)
    return out, new_keys, new_statuses


def _family_of(path: str, family: Mapping[str, str]) -> str | None:
    """The table node of every iteration that `path` (one iteration's output, or a slice of
    them) belongs to, or None."""
    if path in family:
        return family[path]
    for every in set(family.values()):
        if path.startswith(every.rstrip("/") + "/") or fnmatch.fnmatchcase(path, every):
            return every
    return None


def _retarget(inp: InputSpec, family: Mapping[str, str]) -> InputSpec:
    found = _family_of(inp.path, family)
    return inp if found is None else attrs.evolve(inp, path=found)


def _common(paths: Sequence[str]) -> str:
    """One path for the per-iteration paths of an input: segments that differ become `*`."""
    split = [p.split("/") for p in paths]
    if len({len(s) for s in split}) != 1:
        return paths[0].rsplit("/", 1)[0] + "/*"
    return "/".join(parts[0] if len(set(parts)) == 1 else "*" for parts in zip(*split))


def statuses_of(result: FlowRunResult) -> dict[int, str]:
    """Statuses by declaration index from a `FlowRunResult`, for `build_lineage(statuses=...)`."""
    return {i: s.value for i, s in result.statuses().items()}


def _check_specs(specs: Any) -> list[NotebookSpec]:
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Iterable):
        raise InvalidArgumentError(f"build_lineage() needs a sequence of NotebookSpec, got {type(specs).__name__}.")
    items: list[Any] = list(specs)
    seen: set[int] = set()
    checked: list[NotebookSpec] = []
    for spec in items:
        if not isinstance(spec, NotebookSpec):
            raise InvalidArgumentError(
                f"build_lineage() needs NotebookSpec items, got {type(spec).__name__}: {spec!r}."
            )
        if spec.index in seen:
            raise InvalidArgumentError(f"Two notebook specs share declaration index {spec.index}.")
        seen.add(spec.index)
        checked.append(spec)
    return checked


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
