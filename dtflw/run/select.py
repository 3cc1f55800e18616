"""Selections on a DAG: `only=`, `tags=`, `from_=` and `to=` of `flow.run()` / `flow.plan()`."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence, Set
from typing import Union

from dtflw.errors import FlowDefinitionError
from dtflw.model.dag import Dag
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import RunStatus
from dtflw.run.history import HistoryStore, check_run_id

# One notebook pattern or several; patterns match the declared path, workspace path, project
# path or task key (`*`, `?` and `[...]` allowed).
Patterns = Union[str, Sequence[str], None]


def _matches(spec: NotebookSpec, key: str, pattern: str) -> bool:
    names = (spec.path, spec.abs_path, spec.project_path, key)
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def _find(dag: Dag, patterns: Patterns, what: str) -> set[int]:
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


def select(
    dag: Dag, only: Patterns = None, tags: Patterns = None, from_: Patterns = None, to: Patterns = None
) -> set[int]:
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


def forced(dag: Dag, force: bool | Patterns, selected: Set[int]) -> set[int]:
    """The selected notebooks `force=` makes run whatever `lazy=` says."""
    if force is None or force is False:
        return set()
    if force is True:
        return set(selected)
    return _find(dag, force, "force") & selected


def resume_state(
    history: HistoryStore, flow: str, resume: str, dag: Dag, selected: Set[int]
) -> tuple[set[int], dict[int, str]]:
    """What `resume=` means for a run: the notebooks to run again (those that did not succeed in
    the resumed run, and everything downstream of them) and, for the others, that run's id."""
    run_id = history.last_run_id(flow) if resume == "last" else check_run_id(resume)
    if run_id is None:
        raise FlowDefinitionError(f"resume={resume!r}: no earlier run of flow '{flow}' is recorded.")
    final: dict[str, RunStatus] = {}
    known = run_id in history.run_ids()
    for record in history.records(run_id, flow) if known else ():
        final[record.key] = record.status
    if not final:
        raise FlowDefinitionError(f"resume={resume!r}: run '{run_id}' has no records for flow '{flow}'.")
    redo = {i for i in selected if not (final.get(dag.keys[i]) or RunStatus.FAILED).ok}
    rerun = dag.descendants(redo) & selected
    return rerun, {i: run_id for i in selected - rerun}
