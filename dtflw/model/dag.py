"""The DAG of declared notebooks, built from their specs alone.

Edges come from static table resolution (an input's producer, found at declaration) and from
explicit input paths that equal another declared notebook's output path. `build_dag` finds
definition errors before anything runs: cycles and two notebooks writing one path.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.model.foreach import iteration_key
from dtflw.model.specs import NotebookSpec


@attrs.frozen
class Dag:
    """Notebooks (by declaration index) and, for each, the indexes it waits for.

    `order` (an execution order, ties broken by declaration) and `downstream` are computed once
    when the DAG is built, so schedulers and selections stay linear in notebooks + edges.
    """

    specs: Mapping[int, NotebookSpec]
    upstream: Mapping[int, frozenset[int]]
    keys: Mapping[int, str]
    order: tuple[int, ...] = attrs.field(init=False)
    downstream: Mapping[int, frozenset[int]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        down: dict[int, set[int]] = {i: set() for i in self.upstream}
        for node, ups in self.upstream.items():
            for up in ups:
                down.setdefault(up, set()).add(node)
        object.__setattr__(self, "downstream", {k: frozenset(v) for k, v in down.items()})
        object.__setattr__(self, "order", tuple(topological_order(self.upstream)))

    def descendants(self, roots: Iterable[int]) -> set[int]:
        return _closure(roots, self.downstream)

    def ancestors(self, roots: Iterable[int]) -> set[int]:
        return _closure(roots, self.upstream)


def _closure(roots: Iterable[int], edges: Mapping[int, Iterable[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen


_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def task_keys(specs: Sequence[NotebookSpec]) -> dict[int, str]:
    """A stable, unique key per notebook: its project path with `/` -> `__`, `_2`, `_3` on repeats."""
    keys: dict[int, str] = {}
    used: dict[str, int] = {}
    for spec in specs:
        keys[spec.index] = next_task_key(spec, used)
    return keys


def next_task_key(spec: NotebookSpec, used: dict[str, int]) -> str:
    """The key of `spec` after the notebooks counted in `used` (base key -> times seen; updated).

    The iterations of a for-each group count once, and each adds its parameters:
    `ingest__date_2024-01-01`.
    """
    base = _KEY_UNSAFE.sub("_", spec.project_path.replace("/", "__")).strip("_") or "notebook"
    marker = f"\x00{spec.group}" if spec.group is not None else None
    if marker is None or marker not in used:
        used[base] = used.get(base, 0) + 1
        if marker is not None:
            used[marker] = used[base]
    seen = used[marker] if marker is not None else used[base]
    root = base if seen == 1 else f"{base}_{seen}"
    key = iteration_key(root, spec.params) if spec.params else root
    unique, n = key, 1
    while "\x01" + unique in used:  # a notebook named like another's iteration (`x__d_y`, `x[d=y]`)
        n += 1
        unique = f"{key}_{n}"
    used["\x01" + unique] = 1
    return unique


def build_dag(specs: Sequence[NotebookSpec]) -> Dag:
    """Edges from resolution and from explicit paths; errors for clashing outputs and cycles."""
    by_index = {s.index: s for s in specs}
    writers: dict[str, int] = {}
    for spec in specs:
        for out in spec.outputs:
            other = writers.get(out.path)
            if other is not None:
                raise FlowDefinitionError(
                    f"Notebooks '{by_index[other].path}' and '{spec.path}' both write '{out.path}'; "
                    "give one of the outputs another name or file_path."
                )
            writers[out.path] = spec.index
    upstream: dict[int, frozenset[int]] = {}
    for spec in specs:
        ups: set[int] = set()
        for inp in spec.inputs:
            if inp.producers:
                ups.update(p for p in inp.producers if p in by_index)
            if inp.producer is not None and inp.producer in by_index:
                ups.add(inp.producer)
            elif writers.get(inp.path) == spec.index:
                raise FlowDefinitionError(
                    f"Notebook '{spec.path}' reads its own output: input '{inp.name}' is '{inp.path}', which it "
                    "also writes; a notebook cannot wait for itself (a cycle). Read the previous version from "
                    "another path, or drop the input."
                )
            elif inp.path in writers:
                ups.add(writers[inp.path])
        upstream[spec.index] = frozenset(ups)
    keys = task_keys(specs)
    try:
        return Dag(by_index, upstream, keys)
    except FlowDefinitionError:  # the execution order found a cycle: name it
        cycle = find_cycle(upstream) or []
        names = " -> ".join(by_index[i].path for i in cycle)
        raise FlowDefinitionError(f"The notebooks form a cycle: {names}.") from None


def find_cycle(upstream: Mapping[int, Iterable[int]]) -> list[int] | None:
    """One cycle as a list of nodes (first repeated at the end, in run order), or None.

    Iterative depth-first search, so a chain of any length is fine.
    """
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for root in sorted(upstream):
        if root in state:
            continue
        path: list[int] = [root]
        state[root] = 1
        stack: list[Iterator[int]] = [iter(sorted(upstream.get(root, ())))]
        while stack:
            up = next(stack[-1], None)
            if up is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(up) == 1:
                return list(reversed(path[path.index(up) :] + [up]))
            elif up not in state:
                state[up] = 1
                path.append(up)
                stack.append(iter(sorted(upstream.get(up, ()))))
    return None


def topological_order(upstream: Mapping[int, Iterable[int]]) -> list[int]:
    """Nodes ordered so each comes after everything it waits for (ties: declaration order).

    Kahn's algorithm with a heap: O((nodes + edges) log nodes).
    """
    unique = {node: ups if isinstance(ups, (set, frozenset)) else set(ups) for node, ups in upstream.items()}
    waiting = {node: len(ups) for node, ups in unique.items()}
    down: dict[int, list[int]] = {}
    for node, ups in unique.items():
        for up in ups:
            down.setdefault(up, []).append(node)
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in down.get(node, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(waiting):
        raise FlowDefinitionError("The notebooks form a cycle.")
    return order
