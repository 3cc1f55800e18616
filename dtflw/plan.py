"""The DAG of declared notebooks, selections on it, fingerprints, and run/skip decisions.

Edges come from static table resolution (an input's producer, found at declaration) and from
explicit input paths that equal another declared notebook's output path. `build_dag` finds
definition errors before anything runs: cycles, two notebooks writing one path, inputs nobody
produces that do not exist, selections that match nothing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.render import html_table, text_table

if TYPE_CHECKING:
    from dtflw.notebook import NotebookSpec

LAZY_MODES = (False, True, "auto")


@attrs.frozen
class Dag:
    """Notebooks (by declaration index) and, for each, the indexes it waits for."""

    specs: Mapping[int, "NotebookSpec"]
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


def task_keys(specs: Sequence["NotebookSpec"]) -> dict[int, str]:
    """A stable, unique key per notebook: its project path with `/` -> `__`, `_2`, `_3` on repeats."""
    keys: dict[int, str] = {}
    used: dict[str, int] = {}
    for spec in specs:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", spec.project_path.replace("/", "__")).strip("_") or "notebook"
        used[base] = used.get(base, 0) + 1
        keys[spec.index] = base if used[base] == 1 else f"{base}_{used[base]}"
    return keys


def build_dag(specs: Sequence["NotebookSpec"]) -> Dag:
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
                return path[path.index(up):] + [up]
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


def _matches(spec: "NotebookSpec", key: str, pattern: str) -> bool:
    names = (spec.path, spec.abs_path, spec.project_path, key)
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def _find(dag: Dag, patterns: Sequence[str] | str | None, what: str) -> set[int]:
    if patterns is None:
        return set()
    if isinstance(patterns, str):
        patterns = [patterns]
    found: set[int] = set()
    for pattern in patterns:
        hits = {i for i, s in dag.specs.items() if _matches(s, dag.keys[i], pattern)}
        if not hits:
            known = ", ".join(s.path for s in dag.specs.values())
            raise FlowDefinitionError(f"{what}={pattern!r} matches no declared notebook (declared: {known}).")
        found |= hits
    return found


def select(dag: Dag, only: Sequence[str] | str | None = None, tags: Sequence[str] | str | None = None,
           from_: Sequence[str] | str | None = None, to: Sequence[str] | str | None = None) -> set[int]:
    """Notebooks to run. `only`/`tags` pick notebooks; `from_` adds them and everything downstream,
    `to` adds them and everything upstream; `from_` with `to` means the notebooks between. None of
    them: everything. Patterns match the declared path, workspace path, project path or task key."""
    picked = _find(dag, only, "only")
    if tags is not None:
        wanted = {tags} if isinstance(tags, str) else set(tags)
        tagged = {i for i, s in dag.specs.items() if s.tags & wanted}
        if not tagged:
            raise FlowDefinitionError(f"tags={sorted(wanted)!r} match no declared notebook.")
        picked |= tagged
    down = dag.descendants(_find(dag, from_, "from_")) if from_ is not None else None
    up = dag.ancestors(_find(dag, to, "to")) if to is not None else None
    if down is not None and up is not None:
        picked |= down & up
        if not down & up:
            raise FlowDefinitionError("No notebook lies between the from_ and to selections.")
    else:
        picked |= down or set()
        picked |= up or set()
    nothing_asked = only is None and tags is None and from_ is None and to is None
    return set(dag.specs) if nothing_asked else picked


# ---- fingerprints and decisions -------------------------------------------------------------
def fingerprint(spec: "NotebookSpec", source_hash: str | None, input_versions: Mapping[str, str | None]) -> str:
    """What a run depends on: notebook, its source, args, input versions and output paths."""
    doc = {
        "notebook": spec.abs_path,
        "source": source_hash,
        "args": sorted(spec.args.items()),
        "inputs": sorted((name, version) for name, version in input_versions.items()),
        "outputs": sorted(o.path for o in spec.outputs),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


@attrs.frozen
class Decision:
    """Whether a notebook will run, and why (`"run: input 'Orders' changed"`, `"skip: up to date"`)."""

    index: int
    key: str
    notebook: str
    action: str  # "run" | "skip" | "not selected"
    reason: str
    fingerprint: str | None = None


@attrs.frozen
class Plan:
    """Decisions for every declared notebook, in execution order; renders as a table."""

    decisions: tuple[Decision, ...]
    lazy: object = False

    def __iter__(self) -> Any:
        return iter(self.decisions)

    def __len__(self) -> int:
        return len(self.decisions)

    def __getitem__(self, notebook: str) -> Decision:
        for d in self.decisions:
            if notebook in (d.notebook, d.key):
                return d
        raise KeyError(notebook)

    @property
    def to_run(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "run"]

    def rows(self) -> list[tuple[str, str, str]]:
        return [(d.notebook, d.action, d.reason) for d in self.decisions]

    def __str__(self) -> str:
        return text_table(("notebook", "action", "reason"), self.rows(), rule=True)

    def _repr_html_(self) -> str:
        return html_table(("notebook", "action", "reason"), self.rows())


def decide(spec: "NotebookSpec", key: str, lazy: object, forced: bool, outputs_exist: Callable[[], bool],
           current: Callable[[], tuple[str, Mapping[str, str | None]]],
           last_success: Mapping[str, Any] | None) -> Decision:
    """Run or skip one selected notebook.

    lazy=False: always run. lazy=True: skip when every output exists (0.6.x). lazy="auto": skip
    only when outputs exist and the fingerprint equals the last successful run's.
    """
    if forced:
        return Decision(spec.index, key, spec.path, "run", "forced")
    if lazy is False:
        return Decision(spec.index, key, spec.path, "run", "lazy=False")
    if not outputs_exist():
        return Decision(spec.index, key, spec.path, "run", "outputs missing")
    if lazy is True:
        return Decision(spec.index, key, spec.path, "skip", "outputs exist")
    print_, versions = current()
    if last_success is None:
        return Decision(spec.index, key, spec.path, "run", "no successful run recorded", print_)
    if last_success.get("fingerprint") == print_:
        return Decision(spec.index, key, spec.path, "skip", "up to date", print_)
    return Decision(spec.index, key, spec.path, "run", _what_changed(spec, versions, last_success), print_)


def _what_changed(spec: "NotebookSpec", versions: Mapping[str, str | None], last: Mapping[str, Any]) -> str:
    old_inputs = {i["name"]: i.get("version") for i in last.get("inputs", [])}
    changed = [name for name, version in versions.items() if old_inputs.get(name) != version]
    if changed:
        return "input " + ", ".join(f"'{n}'" for n in sorted(changed)) + " changed"
    if dict(last.get("args", {})) != dict(spec.args) and not any(v == "[REDACTED]" for v in last.get("args", {}).values()):
        return "args changed"
    if last.get("source_hash") is not None:
        return "source changed"
    return "fingerprint changed"


def check_lazy(lazy: object) -> object:
    """False, True or "auto" (and nothing that merely compares equal to them)."""
    if not (lazy is True or lazy is False or lazy == "auto"):
        raise FlowDefinitionError(f"lazy must be False, True or 'auto', got {lazy!r}.")
    return lazy
