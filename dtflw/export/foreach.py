"""Jobs export of for-each notebooks and of when a job runs (schedule, trigger, job parameters).

The iterations of a for-each group become one `for_each_task`: `inputs` is the JSON list of
their parameter sets, `concurrency` the group's limit, and the nested notebook task gets
`{{input.<name>}}` wherever an iteration's values go (arguments, partitioned or templated paths).
A notebook argument named like a job parameter is passed `{{job.parameters.<name>}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.model.foreach import fill, group_root_key, output_template
from dtflw.model.specs import NotebookSpec

MAX_FOR_EACH_CONCURRENCY = 100  # Jobs API limit of for_each_task.concurrency
_QUARTZ_FIELD = re.compile(r"^[0-9A-Za-z*?/,#LW-]+$")
_TRIGGERS = ("file_arrival", "table_update", "periodic")


def group_key(spec: NotebookSpec, key: str) -> str:
    """The task key of the for-each task standing for `spec`'s group."""
    return group_root_key(key, spec.params)


def iteration_values(spec: NotebookSpec, values: Mapping[str, str]) -> dict[str, str]:
    """A member's widget values with its parameters as `{{input.<name>}}` references."""
    refs = {k: "{{input." + k + "}}" for k in spec.params}
    out = dict(values)
    for name in spec.params:
        if name in spec.args:
            out[name] = refs[name]
    for inp in spec.inputs:
        if inp.template:
            out[inp.widget] = fill(inp.template, refs, f"Notebook '{spec.path}'")
    for slot, output in enumerate(spec.outputs):
        template = output_template(spec, slot)
        if template:
            out[output.widget] = fill(template, refs, f"Notebook '{spec.path}'")
    return out


def for_each_inputs(members: Sequence[NotebookSpec]) -> str:
    """The `inputs` of a for_each_task: a JSON array of the iterations' parameter sets."""
    return json.dumps([dict(m.params) for m in members], separators=(",", ":"))


def for_each_concurrency(spec: NotebookSpec) -> int:
    limit = spec.concurrency or MAX_FOR_EACH_CONCURRENCY
    return min(limit, MAX_FOR_EACH_CONCURRENCY)


def job_parameter_refs(values: Mapping[str, str], args: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    """Arguments named like a job parameter take its value at run time: `{{job.parameters.<name>}}`."""
    out = dict(values)
    for name in names:
        if name in args and not out.get(name, "").startswith("{{input."):
            out[name] = "{{job.parameters." + name + "}}"
    return out


def when_fields(schedule: Any, timezone: Any, trigger: Any) -> dict[str, Any]:
    """`schedule` (Quartz cron + time zone) or `trigger` (file arrival, table update, periodic)."""
    if schedule is not None and trigger is not None:
        raise InvalidArgumentError("A job runs on a schedule or on a trigger, not both: pass schedule= or trigger=.")
    if schedule is not None:
        fields = schedule.split() if isinstance(schedule, str) else []
        if not 6 <= len(fields) <= 7 or not all(_QUARTZ_FIELD.match(f) for f in fields):
            raise InvalidArgumentError(
                f"schedule must be a Quartz cron expression (6 or 7 fields: seconds minutes hours day-of-month "
                f"month day-of-week [year]), e.g. '0 0 2 * * ?'; got {schedule!r}."
            )
        if not isinstance(timezone, str) or not timezone.strip():
            raise InvalidArgumentError(
                f"timezone must be a time zone id such as 'UTC' or 'Europe/Berlin', got {timezone!r}."
            )
        return {"schedule": {"quartz_cron_expression": schedule, "timezone_id": timezone, "pause_status": "UNPAUSED"}}
    if trigger is not None:
        if not isinstance(trigger, Mapping) or len(trigger) != 1 or next(iter(trigger)) not in _TRIGGERS:
            raise InvalidArgumentError(
                f"trigger must be one of {{'file_arrival': {{'url': ...}}}}, {{'table_update': {{'table_names': "
                f"[...]}}}} or {{'periodic': {{'interval': 1, 'unit': 'DAYS'}}}}; got {trigger!r}."
            )
        kind, settings = next(iter(trigger.items()))
        if not isinstance(settings, Mapping) or not settings:
            raise InvalidArgumentError(f"trigger {kind!r} needs its settings as a dict, got {settings!r}.")
        if kind == "file_arrival" and not (isinstance(settings.get("url"), str) and settings["url"].strip()):
            raise InvalidArgumentError("trigger file_arrival needs 'url': the storage location to watch.")
        if kind == "table_update":
            tables = settings.get("table_names")
            if not isinstance(tables, (list, tuple)) or not tables or not all(isinstance(t, str) and t for t in tables):
                raise InvalidArgumentError("trigger table_update needs 'table_names': a list of table names.")
        return {"trigger": {kind: dict(settings), "pause_status": "UNPAUSED"}}
    return {}
