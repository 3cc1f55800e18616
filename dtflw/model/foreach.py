"""Parameter sets of for-each notebooks and backfills: validation, iteration keys and paths.

A parameter set is a `{name: value}` dict of strings. A grid (`date=[...], country=[...]`)
expands to every combination, in the order given; an explicit list of dicts is taken as is.
Each iteration writes its outputs below the declared table path, partitioned Hive-style
(`.../Orders/date=2024-01-01/country=DE`), or where a path template (`{date}` placeholders in
`file_path`) puts it. `date_range` makes the ISO dates of a backfill.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec, check_name

MAX_ITERATIONS = 10_000
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # `{name}` in a path template
_BAD_VALUE = re.compile(r"[/\\\x00-\x1f\x7f*?\[\]{}]|^\.{1,2}$")
_DATE_SPAN = re.compile(r"^\s*[^.,]+?\s*\.\.\s*[^.,]+?\s*$")  # START..END (each a date, checked later)
_STEP = re.compile(r"^\s*(\d+)\s*(d|w|mo)\s*$")

ParamSet = Mapping[str, str]


def _value(name: str, value: Any, where: str) -> str:
    """A parameter value as a string: str as is, dates in ISO form, ints; never a path separator."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -(10**18) < value < 10**18:
            raise FlowDefinitionError(f"{where}: parameter '{name}' value is too large for a partition name.")
        value = str(value)
    if not isinstance(value, str) or value == "":
        raise FlowDefinitionError(
            f"{where}: parameter '{name}' values must be non-empty strings (or dates, ints), got {value!r}."
        )
    if _BAD_VALUE.search(value):
        raise FlowDefinitionError(
            f"{where}: parameter '{name}' value {value!r} cannot name a partition: no '/', '\\', control "
            "characters, glob or template characters (* ? [ ] { }), '.' or '..'."
        )
    return value


def _param_name(name: Any, where: str) -> str:
    try:
        return check_name("Parameter", name)
    except FlowDefinitionError as error:
        raise FlowDefinitionError(f"{where}: {error}") from None


def param_sets(sets: Sequence[Mapping[str, Any]], grid: Mapping[str, Any], where: str) -> list[dict[str, str]]:
    """Every parameter set, validated: the explicit `sets`, or the combinations of `grid`."""
    if sets and grid:
        raise FlowDefinitionError(f"{where}: for_each takes a list of parameter dicts or name=values, not both.")
    if grid:
        names = list(grid)
        columns = []
        for name in names:
            _param_name(name, where)
            values = grid[name]
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise FlowDefinitionError(
                    f"{where}: for_each({name}=...) takes a list of values, got {type(values).__name__} {values!r}."
                )
            column = [_value(name, v, where) for v in itertools.islice(values, MAX_ITERATIONS + 1)]
            if not column:
                raise FlowDefinitionError(f"{where}: for_each({name}=...) has no values.")
            columns.append(column)
        combinations = math.prod(len(c) for c in columns)
        if combinations > MAX_ITERATIONS:  # checked before building them
            raise FlowDefinitionError(
                f"{where}: {combinations:,} iterations or more; at most {MAX_ITERATIONS:,} are allowed."
            )
        out = [dict(zip(names, combo)) for combo in itertools.product(*columns)]
    else:
        out = []
        for item in sets:
            if not isinstance(item, Mapping) or not item:
                raise FlowDefinitionError(f"{where}: for_each takes non-empty dicts of name -> value, got {item!r}.")
            out.append({_param_name(k, where): _value(k, v, where) for k, v in item.items()})
        if not out:
            raise FlowDefinitionError(f"{where}: for_each needs at least one parameter set.")
        if len({tuple(sorted(s)) for s in out}) != 1:
            raise FlowDefinitionError(f"{where}: every for_each parameter set must name the same parameters.")
    if len(out) > MAX_ITERATIONS:
        raise FlowDefinitionError(f"{where}: {len(out)} iterations; at most {MAX_ITERATIONS} are allowed.")
    seen: set[tuple[tuple[str, str], ...]] = set()
    for item in out:
        marker = tuple(sorted(item.items()))
        if marker in seen:
            raise FlowDefinitionError(f"{where}: parameter set {item} is given twice.")
        seen.add(marker)
    return out


def partition_path(base: str, params: ParamSet) -> str:
    """`base/name=value/...`, Hive-style (what Spark's partition discovery reads back)."""
    return base.rstrip("/") + "/" + "/".join(f"{k}={v}" for k, v in params.items())


def placeholders(template: str) -> list[str]:
    """The `{name}` placeholders of a path template, in order."""
    return PLACEHOLDER.findall(template) if "{" in template else []


def fill(template: str, params: ParamSet, where: str) -> str:
    """A path template with its `{name}` placeholders replaced by the iteration's values."""
    missing = [name for name in placeholders(template) if name not in params]
    if missing:
        raise FlowDefinitionError(
            f"{where}: path {template!r} names {', '.join('{' + m + '}' for m in missing)}, which the "
            f"parameters ({', '.join(params) or 'none'}) do not set."
        )
    return PLACEHOLDER.sub(lambda m: params[m.group(1)], template)


def as_glob(template: str) -> str:
    """A path template with every placeholder as `*` (every iteration's path)."""
    return PLACEHOLDER.sub("*", template)


def values_in(template: str, name: str, path: str) -> str | None:
    """The value `path` gives the placeholder `{name}` of `template`, or None when it does not match."""
    pattern = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if PLACEHOLDER.fullmatch(part) else re.escape(part)
        for part in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", template)
        if part
    )
    try:
        found = re.fullmatch(pattern, path)
    except re.error:  # the same placeholder twice
        return None
    return found.group(name) if found and name in found.groupdict() else None


def iteration_key(base: str, params: ParamSet) -> str:
    """A stable task key per iteration: `ingest__date_2024-01-01__country_DE` (Jobs-safe characters).

    A value that loses characters on the way (`München`, `a b`) also gets a short hash of itself,
    so two values never share a key (`country_M_nchen_1a2b3c`)."""
    parts = []
    for k, v in params.items():
        raw = f"{k}_{v}"
        safe = _KEY_UNSAFE.sub("_", raw)
        if safe != raw:
            safe += "_" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:6]
        parts.append(safe)
    return "__".join([base, *parts])


_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def group_root_key(key: str, params: ParamSet) -> str:
    """The task key of a for-each group: an iteration's key without its parameters."""
    suffix = iteration_key("", params)
    return key[: -len(suffix)] if params and key.endswith(suffix) else key


def matches(params: ParamSet, other: ParamSet) -> bool:
    """True when `params` agree with `other` on every name they share."""
    return all(other[k] == v for k, v in params.items() if k in other)


def date_range(start: str | dt.date, end: str | dt.date, step: str = "1d") -> list[str]:
    """ISO dates from `start` to `end` inclusive, every `step` (`Nd` days, `Nw` weeks, `Nmo` months)."""
    first, last = _date(start, "start"), _date(end, "end")
    found = _STEP.match(step) if isinstance(step, str) else None
    if found is None or int(found.group(1)) < 1:
        raise FlowDefinitionError(f"date_range step must look like '1d', '2w' or '1mo', got {step!r}.")
    if last < first:
        raise FlowDefinitionError(f"date_range end {last} is before start {first}.")
    return _dates(first, last, int(found.group(1)), found.group(2))


def _dates(first: dt.date, last: dt.date, count: int, unit: str) -> list[str]:
    out: list[str] = []
    n = 0
    while True:
        try:
            if unit == "mo":
                month = first.month - 1 + n * count
                year, month = first.year + month // 12, month % 12 + 1
                day = _clamp_day(year, month, first.day)
                current = dt.date(year, month, day)
            else:
                current = first + dt.timedelta(days=n * count * (7 if unit == "w" else 1))
        except (OverflowError, ValueError):  # past 9999-12-31, so past `last` too
            return out
        if current > last:
            return out
        out.append(current.isoformat())
        n += 1
        if len(out) > MAX_ITERATIONS:
            raise FlowDefinitionError(f"date_range gives more than {MAX_ITERATIONS} dates; use a larger step.")


def _clamp_day(year: int, month: int, day: int) -> int:
    return min(day, calendar.monthrange(year, month)[1])


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise FlowDefinitionError(f"date_range {what} must be a date or 'YYYY-MM-DD', got {value!r}.") from None


def parse_backfill(text: str, step: str = "1d") -> dict[str, list[str]]:
    """`date=2024-01-01..2024-03-31` (a date range, every `step`) or `country=DE,FR` (a list)."""
    name, eq, spec = text.partition("=") if isinstance(text, str) else ("", "", "")
    if not eq or not name.strip() or not spec.strip():
        raise FlowDefinitionError(f"--backfill takes NAME=START..END or NAME=V1,V2,..., got {text!r}.")
    name = check_name("Parameter", name.strip())
    if _DATE_SPAN.match(spec):
        start, _, end = spec.partition("..")
        return {name: date_range(start.strip(), end.strip(), step)}
    values = [v.strip() for v in spec.split(",") if v.strip()]
    return {name: [_value(name, v, "--backfill") for v in values]}


# ---- expanding a notebook into its iterations -----------------------------------------------------
def expand(
    spec: NotebookSpec,
    sets: Sequence[Mapping[str, str]],
    first_index: int,
    known: Mapping[int, NotebookSpec],
    concurrency: int = 0,
    producer_of: Mapping[tuple[int, tuple[tuple[str, str], ...]], int] | None = None,
) -> list[NotebookSpec]:
    """The iterations of `spec`, one per parameter set, indexed from `first_index`.

    Each gets the set's values as arguments (they win over the declared ones), outputs
    partitioned by them (or placed by a `{name}` path template), and inputs that follow:
    an input with a template is filled in; an input from a for-each producer reads the
    iteration with the same values when this one sets every parameter the producer has, else
    every iteration (the folder or glob holding them all, waiting for all of them).
    `known` holds the specs declared so far. `producer_of` maps (declared producer index,
    parameter set) to the index of that producer's iteration, for a flow expanded as a whole
    (a backfill): inputs from such a producer read its iteration with the same values.
    """
    out = []
    for offset, given in enumerate(sets):
        where = f"Notebook '{spec.path}' ({', '.join(f'{k}={v}' for k, v in given.items())})"
        clash = sorted(set(given) & set(spec.params))
        if clash:
            raise FlowDefinitionError(f"{where}: parameter {', '.join(clash)} is set twice (for_each and backfill).")
        widgets = {i.widget for i in spec.inputs} | {o.widget for o in spec.outputs}
        taken = sorted(set(given) & widgets)
        if taken:
            raise FlowDefinitionError(
                f"Notebook '{spec.path}': parameter '{taken[0]}' would set the widget of an input or output "
                "of the same name; rename the parameter."
            )
        params = {**spec.params, **given}
        outputs = tuple(
            attrs.evolve(o, path=_iteration_path(o.path, given, where), family=_family(o, given)) for o in spec.outputs
        )
        inputs = tuple(_iteration_input(i, params, given, known, producer_of, where) for i in spec.inputs)
        out.append(
            attrs.evolve(
                spec,
                index=first_index + offset,
                args={**spec.args, **given},
                params=params,
                group=first_index if spec.group is None else spec.group,
                concurrency=concurrency or spec.concurrency,
                inputs=inputs,
                outputs=outputs,
            )
        )
    return out


def _iteration_path(path: str, params: ParamSet, where: str) -> str:
    return fill(path, params, where) if placeholders(path) else partition_path(path, params)


def _family(output: OutputSpec, params: ParamSet) -> str:
    """Where every iteration's output lies: the declared folder, or the path template itself."""
    return output.family or output.path


def _slice(producer: NotebookSpec, slot: int, shared: ParamSet) -> str:
    """The path holding the producer's iterations with the `shared` values: a partition folder
    (`.../Orders/date=X`) when they lead the partitioning, else a glob; every iteration when none."""
    family = producer.outputs[slot].family
    if placeholders(family):
        return PLACEHOLDER.sub(lambda m: shared.get(m.group(1), "*"), family)
    parts = [f"{k}={shared[k]}" if k in shared else f"{k}=*" for k in producer.params]
    while parts and parts[-1].endswith("=*"):
        parts.pop()
    return "/".join([family.rstrip("/"), *parts]) if parts else family


def group_inputs(spec: NotebookSpec, known: Mapping[int, NotebookSpec]) -> NotebookSpec:
    """A plain notebook's inputs from for-each producers read every iteration (and wait for all)."""
    inputs = tuple(_iteration_input(i, {}, {}, known, None, f"Notebook '{spec.path}'") for i in spec.inputs)
    return spec if inputs == spec.inputs else attrs.evolve(spec, inputs=inputs)


def _iteration_input(
    inp: InputSpec,
    params: ParamSet,
    given: ParamSet,
    known: Mapping[int, NotebookSpec],
    producer_of: Mapping[tuple[int, tuple[tuple[str, str], ...]], int] | None,
    where: str,
) -> InputSpec:
    if placeholders(inp.path):
        return attrs.evolve(inp, path=fill(inp.path, params, where), template=inp.path)
    if inp.producer is None:
        return inp
    if producer_of is not None:
        found = producer_of.get((inp.producer, tuple(sorted(given.items()))))
        if found is not None:
            slot = _output_slot(known[inp.producer], inp.path)
            output = known[found].outputs[slot]
            return attrs.evolve(inp, path=output.path, producer=found, template=output_template(known[found], slot))
    producer = known.get(inp.producer)
    if producer is None or producer.group is None:
        return inp
    slot = _output_slot(producer, inp.path)
    shared = {k: params[k] for k in producer.params if k in params}
    members = [s for s in known.values() if s.group == producer.group and matches(shared, s.params)]
    if not members:
        raise FlowDefinitionError(
            f"{where}: input '{inp.name}' comes from for-each notebook '{producer.path}', which has no "
            f"iteration for {', '.join(f'{k}={v}' for k, v in shared.items())}."
        )
    if len(members) == 1 and len(shared) == len(producer.params):
        template = output_template(members[0], slot)
        return attrs.evolve(inp, path=members[0].outputs[slot].path, producer=members[0].index, template=template)
    every = tuple(m.index for m in members)
    template = _slice(producer, slot, {k: "{" + k + "}" for k in shared}) if shared else ""
    return attrs.evolve(inp, path=_slice(producer, slot, shared), producer=None, producers=every, template=template)


def output_template(spec: NotebookSpec, slot: int) -> str:
    """A for-each iteration's output path with `{name}` placeholders for its parameters."""
    family = spec.outputs[slot].family
    if not family or placeholders(family):
        return family
    return partition_path(family, {k: "{" + k + "}" for k in spec.params})


def _output_slot(producer: NotebookSpec, path: str) -> int:
    for slot, output in enumerate(producer.outputs):
        if path in (output.path, output.family):
            return slot
    raise FlowDefinitionError(f"Notebook '{producer.path}' has no output at {path!r}.")
