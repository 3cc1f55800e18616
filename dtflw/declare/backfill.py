"""Runs over parameter values: a backfill expands every notebook of a flow once per value, and the
partition sensor finds the values an input has that no successful run covered yet.

Pure functions over specs (and, for the sensor, one listing of the storage and the flow's
history); `Flow.run(params=...)` / `Flow.run(for_new_partitions_of=...)` call them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dtflw.errors import FlowDefinitionError, InvalidArgumentError
from dtflw.model.dag import task_keys
from dtflw.model.foreach import as_glob, expand, param_sets, placeholders, values_in
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec
from dtflw.redaction import is_secret_name
from dtflw.storage.base import Storage


def refuse_secrets(redact: Callable[[str], str], sets: Sequence[Mapping[str, str]], where: str) -> None:
    """Iteration values become task keys, labels and partition folders, all shown everywhere: a
    parameter with a secret-looking name, or a value holding a known secret or a credential,
    is refused (the value is never shown)."""
    for item in sets:
        for name, value in item.items():
            if is_secret_name(name) or redact(value) != value:
                raise FlowDefinitionError(
                    f"{where}: parameter '{name}' holds a secret; iteration values name tasks and partition "
                    "folders, which everyone can read. Pass secrets with .args() and iterate over something else."
                )


def backfill_sets(params: Any) -> list[dict[str, str]]:
    """The parameter sets of `flow.run(params=...)`: `{name: value or [values]}` as a grid."""
    if not isinstance(params, Mapping) or not params:
        raise FlowDefinitionError(
            f"params must be a non-empty dict of parameter name -> value or list of values, got {params!r}."
        )
    grid = {k: ([v] if isinstance(v, str) or not hasattr(v, "__iter__") else v) for k, v in params.items()}
    return param_sets((), grid, "flow.run(params=...)")


def expand_flow(
    specs: Sequence[NotebookSpec], sets: Sequence[Mapping[str, str]], first_index: int
) -> list[NotebookSpec]:
    """Every spec once per parameter set, iterations of one value reading each other's outputs.

    The order is value by value (all notebooks of the first value, then the second...), so with
    one worker the values run in the order given.
    """
    expanded: dict[int, NotebookSpec] = {}
    producer_of: dict[tuple[int, tuple[tuple[str, str], ...]], int] = {}
    originals = {s.index: s for s in specs}
    per_spec: dict[int, list[NotebookSpec]] = {}
    index = first_index
    for spec in specs:
        known = {**originals, **expanded}
        iterations = expand(spec, sets, index, known, producer_of=producer_of)
        index += len(iterations)
        per_spec[spec.index] = iterations
        for params, iteration in zip(sets, iterations):
            producer_of[(spec.index, tuple(sorted(params.items())))] = iteration.index
            expanded[iteration.index] = iteration
    return [per_spec[s.index][n] for n in range(len(sets)) for s in specs]


def check_templates(specs: Sequence[NotebookSpec]) -> None:
    """A `{name}` path template needs an iteration to fill it: a for-each notebook or a backfill."""
    for spec in specs:
        tables: tuple[InputSpec | OutputSpec, ...] = (*spec.inputs, *spec.outputs)
        for table in tables:
            if "{" not in table.path:
                continue  # no template (nearly every table): nothing to fill
            names = [n for n in placeholders(table.path) if n not in spec.params]
            if names:
                raise FlowDefinitionError(
                    f"Notebook '{spec.path}': {table.name} path {table.path!r} has "
                    f"{', '.join('{' + n + '}' for n in names)}, which nothing sets; use for_each(...) or "
                    f"flow.run(params={{'{names[0]}': [...]}})."
                )


def partition_values(storage: Storage, specs: Sequence[NotebookSpec], table: str, param: str) -> list[str]:
    """The values of `{param}` found on storage for the input `table` (its path template), sorted."""
    templates = sorted({i.path for s in specs for i in s.inputs if i.name == table})
    if not templates:
        declared = sorted({i.name for s in specs for i in s.inputs}) or ["none"]
        raise FlowDefinitionError(
            f"for_new_partitions_of={table!r}: no notebook declares an input named {table!r} "
            f"(inputs: {', '.join(declared)})."
        )
    template = templates[0]
    if len(templates) > 1 or param not in placeholders(template):
        raise FlowDefinitionError(
            f"for_new_partitions_of={table!r}: its file_path must hold the placeholder {{{param}}} "
            f"(e.g. 'raw/date={{{param}}}' or 'raw/orders_{{{param}}}.csv'), got {', '.join(map(repr, templates))}."
        )
    found = {values_in(template, param, path) for path in storage.list(as_glob(template))}
    return sorted(v for v in found if v)


def covered_values(
    specs: Sequence[NotebookSpec], sets: Sequence[Mapping[str, str]], latest: Mapping[str, Any], param: str
) -> set[str]:
    """Values whose iterations of every notebook have a recorded success (`latest`: key -> record)."""
    expanded = expand_flow(specs, sets, max(s.index for s in specs) + 1)
    keys = task_keys(expanded)
    missing: set[str] = set()
    for spec in expanded:
        if keys[spec.index] not in latest:
            missing.add(spec.params[param])
    return {s[param] for s in sets} - missing


def new_partitions(
    storage: Storage,
    specs: Sequence[NotebookSpec],
    table: Any,
    param: Any,
    latest: Callable[[], Mapping[str, Any]],
    log: Callable[[str], None],
) -> dict[str, list[str]]:
    """`{param: values}` of `table`'s partitions on storage that no successful run covered yet
    (`latest`: the flow's last successes by task key), or {} when there are none."""
    if not isinstance(table, str) or not table or not isinstance(param, str) or not param:
        raise InvalidArgumentError(
            f"for_new_partitions_of= takes an input name and param= a parameter name, got {table!r}, {param!r}."
        )
    values = partition_values(storage, specs, table, param)
    done = covered_values(specs, [{param: v} for v in values], latest(), param) if values else set()
    new = [v for v in values if v not in done]
    log(f"{len(values)} partition(s) of '{table}', {len(new)} new" + (f": {', '.join(new)}" if new else ""))
    return {param: new} if new else {}
