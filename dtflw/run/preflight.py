"""Checks made before a DAG run starts anything, so a definition error never costs a half run."""

from __future__ import annotations

from collections.abc import Set

from dtflw.errors import MissingInputError
from dtflw.model.dag import Dag
from dtflw.run.context import RunContext


def check_sources(ctx: RunContext, dag: Dag, selected: Set[int]) -> None:
    """Every required input that no selected notebook of this run produces must exist now.

    Inputs written by a selected upstream notebook are checked when that notebook has run. An
    input written by a notebook that is not selected (or by nothing in this flow) must already be
    there; the first one missing raises MissingInputError naming the notebook, table and path,
    with the others listed, before any notebook starts.
    """
    missing: list[MissingInputError] = []
    for index in dag.order:
        if index not in selected:
            continue
        spec = dag.specs[index]
        upstream = dag.upstream[index] & selected
        produced = {out.path for up in upstream for out in dag.specs[up].outputs}
        for inp in spec.inputs:
            if inp.is_optional or inp.path in produced or (inp.producer is not None and inp.producer in upstream):
                continue
            if inp.producers and set(inp.producers) & upstream:  # a for-each producer's iterations run first
                continue
            if ctx.storage.is_pattern(inp.path):
                if upstream or ctx.storage.list(inp.path):
                    continue  # a selected upstream notebook may write files the pattern matches
                missing.append(MissingInputError(spec.path, inp.name, f"at '{inp.path}' matches no file."))
            elif not inp.path or not ctx.storage.table_exists(inp.path):
                what = "does not exist (or is still being written)" if inp.path else "resolves to no table"
                missing.append(
                    MissingInputError(
                        spec.path, inp.name, f"at '{inp.path}' {what}; no notebook selected for this run writes it."
                    )
                )
    if missing:
        first = missing[0]
        if len(missing) > 1:
            others = "; ".join(f"{e.notebook}: {e.table}" for e in missing[1:21])
            more = f" (and {len(missing) - 21} more)" if len(missing) > 21 else ""
            first.args = (f"{first.args[0]} Also missing: {others}{more}.",)
        raise first
