"""A layered (Sugiyama-style) layout of a directed graph given as integer node indexes and sizes.

Pure geometry: layering by longest path, dummy nodes on long edges, barycenter ordering and
placement within each layer. The layers go left to right ("LR") or top to bottom ("TB"); the
algorithm works on a layer axis and a cross axis and maps them to x and y at the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import attrs

from dtflw.lineage.nodes import check_direction

Box = tuple[float, float, float, float]  # x, y, width, height
Point = tuple[float, float]

_MIN_LAYER = 24.0  # extent of a layer that only long edges cross
_SWEEPS = 4


@attrs.frozen
class Spacing:
    """Gaps between layers (room for the arrows) and between the nodes of one layer."""

    layer_gap: float
    node_gap: float


# Left to right, nodes of a layer stack vertically; top to bottom they sit side by side, where
# labels are long, so they get a wider gap, and the layers need less room for the curves.
SPACING: Mapping[str, Spacing] = {"LR": Spacing(64.0, 16.0), "TB": Spacing(44.0, 24.0)}


@attrs.frozen
class Layout:
    """Boxes per node and route points per edge, in input order; `width`/`height` of the drawing.

    Coordinates start at (0, 0); `moved` places the drawing on a canvas.
    """

    boxes: tuple[Box, ...]
    routes: tuple[tuple[Point, ...], ...]
    width: float
    height: float

    def moved(self, dx: float, dy: float) -> Layout:
        return Layout(
            tuple((x + dx, y + dy, w, h) for x, y, w, h in self.boxes),
            tuple(tuple((x + dx, y + dy) for x, y in route) for route in self.routes),
            self.width,
            self.height,
        )


def layered_layout(
    count: int, edges: Sequence[tuple[int, int]], sizes: Sequence[tuple[float, float]], direction: str = "LR"
) -> Layout:
    """Boxes for `count` nodes of `sizes` (width, height) and a route for every edge (a, b).

    Each route starts on the border of its source facing the next layer (right side for "LR",
    bottom for "TB") and ends on the facing border of its target (left side, top).
    """
    vertical = check_direction(direction) == "TB"
    spacing = SPACING[direction]
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
    # along: a node's extent on the layer axis; across: its extent within its layer
    along = [h if vertical else w for w, h in sizes] + [0.0] * (total - count)
    across = [w if vertical else h for w, h in sizes] + [0.0] * (total - count)
    centre = _assign_cross(rows, down, up, across, spacing.node_gap)
    shift = -min((centre[n] - across[n] / 2 for n in range(total)), default=0.0)
    starts, lengths = _layer_extents(rows, along, spacing.layer_gap)

    def point(a: float, c: float) -> Point:
        return (c, a) if vertical else (a, c)

    flat = [
        (starts[layer[n]] + (lengths[layer[n]] - along[n]) / 2, centre[n] + shift - across[n] / 2, along[n], across[n])
        for n in range(count)
    ]
    boxes = tuple((c, a, cl, al) if vertical else (a, c, al, cl) for a, c, al, cl in flat)
    routes = []
    for edge, (a, b), chain in zip(edges, oriented, chains):
        a0, c0, al, cl = flat[a]
        b0, d0, _, dl = flat[b]
        points = [point(a0 + al, c0 + cl / 2)]
        for dummy in chain[1:-1]:
            start, c = starts[layer[dummy]], centre[dummy] + shift
            points += [point(start, c), point(start + lengths[layer[dummy]], c)]
        points.append(point(b0, d0 + dl / 2))
        routes.append(tuple(points) if edge == (a, b) else tuple(reversed(points)))
    extent_along = starts[-1] + lengths[-1] if rows else 0.0
    # dummies count too: a long edge routed around the nodes must stay on the canvas
    extent_across = max((centre[n] + shift + across[n] / 2 for n in range(total)), default=0.0)
    width, height = (extent_across, extent_along) if vertical else (extent_along, extent_across)
    return Layout(boxes, tuple(routes), width, height)


# ---- layering ---------------------------------------------------------------------------------
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


def _orient(count: int, edges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Edges pointing forward: the ones closing a cycle are turned round for the layout."""
    succ: list[list[int]] = [[] for _ in range(count)]
    for a, b in edges:
        succ[a].append(b)
    back = _back_edges(succ)
    return [((b, a) if (a, b) in back else (a, b)) for a, b in edges]


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


# ---- ordering within layers -------------------------------------------------------------------
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


# ---- coordinates ------------------------------------------------------------------------------
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


def _place_row(row: Sequence[int], desired: Sequence[float], extents: Sequence[float], gap: float) -> list[float]:
    """Centres as near `desired` as possible while keeping order and `gap` between nodes."""
    offsets = [0.0]
    for a, b in zip(row, row[1:]):
        offsets.append(offsets[-1] + (extents[a] + extents[b]) / 2 + gap)
    shifted = _isotonic([d - o for d, o in zip(desired, offsets)])
    return [s + o for s, o in zip(shifted, offsets)]


def _assign_cross(
    rows: Sequence[Sequence[int]],
    down: Sequence[Sequence[int]],
    up: Sequence[Sequence[int]],
    extents: Sequence[float],
    gap: float,
) -> list[float]:
    """Centres on the cross axis: stacked, then pulled towards neighbours in alternating passes."""
    centre = [0.0] * len(extents)
    for row in rows:
        for node, c in zip(row, _place_row(row, [0.0] * len(row), extents, gap)):
            centre[node] = c

    def relax(order: Iterable[int], pulls: Sequence[Sequence[int]]) -> None:
        for li in order:
            row = rows[li]
            desired = [sum(centre[m] for m in pulls[n]) / len(pulls[n]) if pulls[n] else centre[n] for n in row]
            for node, c in zip(row, _place_row(row, desired, extents, gap)):
                centre[node] = c

    both = [list(d) + list(u) for d, u in zip(down, up)]
    for _ in range(3):
        relax(range(1, len(rows)), up)
        relax(range(len(rows) - 2, -1, -1), down)
    relax(range(len(rows)), both)
    return centre


def _layer_extents(
    rows: Sequence[Sequence[int]], along: Sequence[float], gap: float
) -> tuple[list[float], list[float]]:
    """Start and length of every layer on the layer axis."""
    starts, lengths, at = [], [], 0.0
    for row in rows:
        lengths.append(max([along[n] for n in row] + [_MIN_LAYER]))
        starts.append(at)
        at += lengths[-1] + gap
    return starts, lengths
