"""The DAG of declared notebooks, built from their specs alone.

Edges come from static table resolution (an input's producer, found at declaration) and from
explicit input paths that equal another declared notebook's output path. `build_dag` finds
definition errors before anything runs: cycles and two notebooks writing one path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.model.specs import NotebookSpec


@attrs.frozen
class Dag:
    """Notebooks (by declaration index) and, for each, the indexes it waits for."""

    specs: Mapping[int, NotebookSpec]
    upstream: Mapping[int, frozenset[int]]
    keys: Mapping[int, str]

    @property
    def order(self) -> list[int]:
        """Declaration order, which is also a valid execution order when every edge points back."""
        return topological_order(self.upstream)

    def downstream(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {i: set() for i in self.specs}
        for node, ups in self.upstream.items():
            for up in ups:
                out[up].add(node)
        return out

    def descendants(self, roots: Iterable[int]) -> set[int]:
        return _closure(roots, self.downstream())

    def ancestors(self, roots: Iterable[int]) -> set[int]:
        return _closure(roots, {k: set(v) for k, v in self.upstream.items()})


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


def task_keys(specs: Sequence[NotebookSpec]) -> dict[int, str]:
    """A stable, unique key per notebook: its project path with `/` -> `__`, `_2`, `_3` on repeats."""
    keys: dict[int, str] = {}
    used: dict[str, int] = {}
    for spec in specs:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", spec.project_path.replace("/", "__")).strip("_") or "notebook"
        used[base] = used.get(base, 0) + 1
        keys[spec.index] = base if used[base] == 1 else f"{base}_{used[base]}"
    return keys


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
        ups = set()
        for inp in spec.inputs:
            if inp.producer is not None and inp.producer in by_index:
                ups.add(inp.producer)
            elif inp.path in writers and writers[inp.path] != spec.index:
                ups.add(writers[inp.path])
        upstream[spec.index] = frozenset(ups)
    cycle = find_cycle(upstream)
    if cycle:
        names = " -> ".join(by_index[i].path for i in cycle)
        raise FlowDefinitionError(f"The notebooks form a cycle: {names}.")
    return Dag(by_index, upstream, task_keys(specs))


def find_cycle(upstream: Mapping[int, Iterable[int]]) -> list[int] | None:
    """One cycle as a list of nodes (first repeated at the end), or None."""
    state: dict[int, int] = {}
    path: list[int] = []

    def visit(node: int) -> list[int] | None:
        state[node] = 1
        path.append(node)
        for up in sorted(upstream.get(node, ())):
            if state.get(up) == 1:
                return path[path.index(up) :] + [up]
            if up not in state and (found := visit(up)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(upstream):
        if node not in state and (found := visit(node)):
            return list(reversed(found))
    return None


def topological_order(upstream: Mapping[int, Iterable[int]]) -> list[int]:
    """Nodes ordered so each comes after everything it waits for (ties: declaration order)."""
    done: set[int] = set()
    order: list[int] = []
    remaining = sorted(upstream)
    while remaining:
        ready = [n for n in remaining if set(upstream[n]) <= done]
        if not ready:
            raise FlowDefinitionError("The notebooks form a cycle.")
        for n in ready:
            done.add(n)
            order.append(n)
        remaining = [n for n in remaining if n not in done]
    return order
