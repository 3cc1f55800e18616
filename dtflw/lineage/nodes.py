"""The pieces of a lineage graph every renderer shares: nodes, edges, colours and directions.

Imports nothing from the other lineage modules, so the renderers (`text`, `svg`) and the graph
(`graph`) can all build on it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from dtflw.errors import InvalidArgumentError
from dtflw.model.status import RunStatus

NOTEBOOK = "notebook"
TABLE = "table"

# fill, stroke per status; statuses not listed here ("running", "pending", "not run") look plain.
STATUS_COLOURS: Mapping[str, tuple[str, str]] = {
    RunStatus.SUCCEEDED.value: ("#d3f9d8", "#2f9e44"),
    RunStatus.SKIPPED.value: ("#e9ecef", "#868e96"),
    RunStatus.FAILED.value: ("#ffe3e3", "#e03131"),
    RunStatus.UPSTREAM_FAILED.value: ("#ffe8cc", "#f76707"),
    RunStatus.CANCELLED.value: ("#fff3bf", "#f08c00"),
}
PLAIN_STATUSES = ("running", "pending", "not run")
KNOWN_STATUSES = (*STATUS_COLOURS, *PLAIN_STATUSES)
NOTEBOOK_COLOURS = ("#ffffff", "#495057")
TABLE_COLOURS = ("#e7f5ff", "#1c7ed6")
EXTERNAL_COLOURS = ("#f8f9fa", "#74c0fc")
EDGE_COLOUR = "#868e96"
TEXT_COLOUR = "#212529"
MUTED_TEXT = "#495057"

# Which way the layers of a drawing go: "LR" left to right, "TB" top to bottom.
Direction = Literal["LR", "TB"]
DIRECTIONS: tuple[Direction, ...] = ("LR", "TB")


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


def check_direction(direction: object, allowed: Sequence[str] = DIRECTIONS) -> str:
    """`direction` if it is one of `allowed`, else an `InvalidArgumentError` naming them."""
    if not isinstance(direction, str) or direction not in allowed:
        names = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise InvalidArgumentError(
            f"direction must be {names} ('LR' left to right, 'TB' top to bottom), got {direction!r}."
        )
    return direction


def edge_indexes(nodes: Sequence[Node], edges: Sequence[Edge]) -> list[tuple[int, int]]:
    """Edges as (source, target) positions in `nodes`."""
    index = {n.id: i for i, n in enumerate(nodes)}
    return [(index[e.source], index[e.target]) for e in edges]


def colours(node: Node) -> tuple[str, str]:
    """(fill, stroke) of a node: tables by kind, notebooks by status."""
    if node.kind == TABLE:
        return EXTERNAL_COLOURS if node.external else TABLE_COLOURS
    return STATUS_COLOURS.get(node.status or "", NOTEBOOK_COLOURS)


def short_paths(nodes: Sequence[Node]) -> dict[str, str]:
    """Table paths without the folder every table shares (the storage root), for second lines."""
    tables = [n for n in nodes if n.kind == TABLE]
    folders = [n.path.split("/")[:-1] for n in tables]
    common = 0
    if folders:
        shortest = min(folders, key=len)
        while common < len(shortest) and all(f[common] == shortest[common] for f in folders):
            common += 1
    return {n.id: "/".join(n.path.split("/")[common:]) or n.path for n in tables}


def status_text(status: str) -> str:
    """A status as people read it: `upstream_failed` -> `upstream failed`."""
    return status.replace("_", " ")
