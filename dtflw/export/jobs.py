"""Export a declared flow as a Databricks job: Jobs API 2.1 settings (JSON).

The driver notebook's DAG becomes one notebook task per declared notebook, so the same pipeline
can be scheduled by Databricks Workflows instead of a driver calling `dbutils.notebook.run`.
Only the standard library is used. The Asset Bundle form is in `dtflw.export.bundle`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dtflw.errors import FlowDefinitionError, InvalidArgumentError
from dtflw.export.foreach import (
    for_each_concurrency,
    for_each_inputs,
    group_key,
    iteration_values,
    job_parameter_refs,
    when_fields,
)
from dtflw.model.dag import Dag, build_dag
from dtflw.model.specs import NotebookSpec
from dtflw.redaction import REDACTED, is_secret_name, looks_secret_value

_log = logging.getLogger("dtflw")

MAX_TASK_KEY_LENGTH = 100  # Jobs API limit on task_key
MAX_JOB_TAGS = 25  # Jobs API limit on job tags
MAX_CONCURRENT_RUNS_LIMIT = 1000  # Jobs API limit on max_concurrent_runs


# ---- job settings (JSON) ---------------------------------------------------------------------
def job_settings(
    specs: Sequence[NotebookSpec],
    name: str,
    cluster: Mapping[str, Any] | None = None,
    existing_cluster_id: str | None = None,
    job_cluster_key: str = "main",
    parameters: Mapping[str, str] | None = None,
    max_concurrent_runs: int = 1,
    tags: Mapping[str, str] | None = None,
    email_on_failure: Sequence[str] = (),
    notebook_path_prefix: str = "",
    redact: Callable[[str], str] | None = None,
    schedule: str | None = None,
    timezone: str = "UTC",
    trigger: Mapping[str, Any] | None = None,
    job_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Jobs API 2.1 job settings document (`jobs/create` body) with one task per notebook.

    Tasks come in execution order; `task_key` is the DAG key, `depends_on` the notebook's
    producers among `specs` (producers outside `specs`, e.g. already run, are not waited for).
    Each task runs `notebook_path_prefix + spec.abs_path` (e.g. prefix "/Workspace") with the
    widget values the driver would pass (args, `<input>_in`, `<output>_out`) as `base_parameters`.

    Compute: `cluster` (a `new_cluster` spec) becomes one shared job cluster used by every task;
    `existing_cluster_id` runs every task on that cluster; neither means serverless.

    Retries: `max_retries` and `retry_on_timeout` follow `.retries(n)` (dtflw retries timeouts
    too). Databricks waits a constant `min_retry_interval_millis`; dtflw's backoff grows with
    the attempt, so the job waits the first backoff between every attempt.

    Secrets: an argument (or job parameter) whose name looks secret (`is_secret_name`) is
    exported as "[REDACTED]" and a warning is logged. A job definition is stored in plain text
    and `base_parameters` cannot reference secret scopes, so the only safe export is none; the
    notebook should read the value itself with `dbutils.secrets.get(scope, key)`. So is a value
    shaped like a credential (`looks_secret_value`: a connection string with a key or password,
    a SAS token...), whatever its name; and with `redact` (the flow's `redact_text`, which knows
    the secret values fetched through the runtime's dbutils) every value is passed through it, so
    a fetched secret handed over under an innocent name is exported as "[REDACTED]" too.

    For-each notebooks: the iterations of a group become one `for_each_task` (its `inputs` the
    JSON list of parameter sets, `concurrency` the group's limit, at most 100), whose nested
    notebook task passes `{{input.<name>}}` for the parameters and in partitioned or templated
    paths. When: `schedule` (a Quartz cron expression, with `timezone`) or `trigger`
    (`{"file_arrival": {"url": ...}}`, `{"table_update": {"table_names": [...]}}` or
    `{"periodic": {...}}`). `job_parameters` (merged into `parameters`): a notebook argument of
    the same name is passed `{{job.parameters.<name>}}`, so each job run can set it.
    """
    _check_specs(specs)
    check_text("Job name", name)
    compute = _compute(cluster, existing_cluster_id, job_cluster_key)
    prefix = _check_prefix(notebook_path_prefix)
    dag = build_dag(specs)
    doc: dict[str, Any] = {"name": name, "max_concurrent_runs": _check_concurrency(max_concurrent_runs)}
    if tags:
        doc["tags"] = _check_tags(tags)
    doc.update(when_fields(schedule, timezone, trigger))
    if not isinstance(parameters or {}, Mapping) or not isinstance(job_parameters or {}, Mapping):
        raise InvalidArgumentError(
            "parameters and job_parameters must be dicts of str to str, got "
            f"{type(parameters).__name__} and {type(job_parameters).__name__}."
        )
    all_parameters = {**(parameters or {}), **(job_parameters or {})}
    if all_parameters:
        doc["parameters"] = _job_parameters(all_parameters, redact)
    if cluster is not None:
        doc["job_clusters"] = [{"job_cluster_key": job_cluster_key, "new_cluster": _plain(cluster, "cluster")}]
    names = list(job_parameters or {})
    groups: dict[int, list[NotebookSpec]] = {}
    for index in dag.order:
        spec = dag.specs[index]
        if spec.group is not None:
            groups.setdefault(spec.group, []).append(spec)
    firsts = {members[0].index for members in groups.values()}
    doc["tasks"] = [
        _task(dag, index, compute, prefix, redact, names, groups)
        for index in dag.order
        if dag.specs[index].group is None or index in firsts
    ]
    emails = _check_emails(email_on_failure)
    if emails:
        doc["email_notifications"] = {"on_failure": emails}
    return doc


def _task(
    dag: Dag,
    index: int,
    compute: Mapping[str, str],
    prefix: str,
    redact: Callable[[str], str] | None,
    job_parameter_names: Sequence[str] = (),
    groups: Mapping[int, Sequence[NotebookSpec]] | None = None,
) -> dict[str, Any]:
    """One notebook task (key, dependencies, compute, notebook, retries, timeout), or for a
    for-each group one `for_each_task` holding that notebook task."""
    spec = dag.specs[index]
    members = (groups or {}).get(spec.group, [spec]) if spec.group is not None else [spec]

    def key_of(i: int) -> str:
        other = dag.specs[i]
        return group_key(other, dag.keys[i]) if other.group is not None else dag.keys[i]

    key = key_of(index)
    task: dict[str, Any] = {"task_key": _check_task_key(key, spec)}
    ups = sorted({key_of(up) for m in members for up in dag.upstream[m.index]} - {key})
    if ups:
        task["depends_on"] = [{"task_key": up} for up in ups]
        task["run_if"] = "ALL_SUCCESS"
    inner: dict[str, Any] = task if spec.group is None else {"task_key": _check_task_key(key + "_iteration", spec)}
    inner.update(compute)
    values = spec.widget_values() if spec.group is None else iteration_values(spec, spec.widget_values())
    values = job_parameter_refs(values, list(spec.args), job_parameter_names)
    inner["notebook_task"] = _notebook_task(spec, prefix, redact, values)
    inner["max_retries"] = spec.retries
    if spec.retries:
        inner["min_retry_interval_millis"] = int(spec.retry_backoff_seconds * 1000)
        inner["retry_on_timeout"] = True
    inner["timeout_seconds"] = spec.timeout
    if spec.group is not None:
        task["for_each_task"] = {
            "inputs": for_each_inputs(members),
            "concurrency": for_each_concurrency(spec),
            "task": inner,
        }
    return task


def _notebook_task(
    spec: NotebookSpec, prefix: str, redact: Callable[[str], str] | None, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The notebook to run (absolute workspace path) and its widget values."""
    if not spec.abs_path.startswith("/"):
        raise FlowDefinitionError(
            f"Notebook '{spec.path}': workspace path {spec.abs_path!r} is not absolute; a job needs one."
        )
    path = spec.abs_path if not prefix or spec.abs_path.startswith(prefix + "/") else prefix + spec.abs_path
    task: dict[str, Any] = {"notebook_path": path, "source": "WORKSPACE"}
    given = spec.widget_values() if values is None else values
    safe = _redact(given, set(spec.args), f"notebook '{spec.path}'", redact)
    if safe:
        task["base_parameters"] = safe
    return task


def _redact(
    values: Mapping[str, str], candidates: set[str], where: str, redact: Callable[[str], str] | None = None
) -> dict[str, str]:
    """`values` with secret-looking names among `candidates`, credential-shaped values and (with
    `redact`) known secret values replaced by "[REDACTED]" (warned)."""
    out = dict(values)
    for name in sorted(out):
        value = out[name]
        if value == REDACTED:
            continue
        if name in candidates and is_secret_name(name):
            out[name], why = REDACTED, "its name looks secret"
        elif looks_secret_value(value):
            out[name], why = REDACTED, "its value looks like a credential"
        elif redact is not None and redact(value) != value:
            out[name], why = REDACTED, "its value holds a secret"
        else:
            continue
        _log.warning(
            "Job export: %s argument '%s' looks secret (%s); exported as %s. Read it in the notebook "
            "with dbutils.secrets.get(scope, key) instead of passing it as a parameter.",
            where,
            name,
            why,
            REDACTED,
        )
    return out


def _compute(
    cluster: Mapping[str, Any] | None, existing_cluster_id: str | None, job_cluster_key: str
) -> dict[str, str]:
    """The compute fields every task gets; empty for serverless."""
    if cluster is not None and existing_cluster_id is not None:
        raise InvalidArgumentError(
            "Pass either cluster= (a new job cluster) or existing_cluster_id=, not both; "
            "pass neither for serverless compute."
        )
    if cluster is not None:
        _check_cluster(cluster)
        check_text("job_cluster_key", job_cluster_key)
        return {"job_cluster_key": job_cluster_key}
    if existing_cluster_id is not None:
        check_text("existing_cluster_id", existing_cluster_id)
        return {"existing_cluster_id": existing_cluster_id}
    return {}


def _job_parameters(parameters: Mapping[str, str], redact: Callable[[str], str] | None = None) -> list[dict[str, str]]:
    """Job-level parameters as `[{name, default}]`, secret-looking ones redacted."""
    if not isinstance(parameters, Mapping):
        raise InvalidArgumentError(f"parameters must be a dict of str to str, got {type(parameters).__name__}.")
    for key, value in parameters.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidArgumentError(
                f"parameters must map non-empty names to strings, got {key!r}: {type(value).__name__}."
            )
    safe = _redact(parameters, set(parameters), "job parameter", redact)
    return [{"name": key, "default": value} for key, value in safe.items()]


# ---- validation ------------------------------------------------------------------------------
def _check_specs(specs: Sequence[NotebookSpec]) -> None:
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence):
        raise InvalidArgumentError(f"specs must be a sequence of NotebookSpec, got {type(specs).__name__}.")
    if not specs:
        raise FlowDefinitionError("Nothing to export: the flow declares no notebooks.")
    for spec in specs:
        if not isinstance(spec, NotebookSpec):
            raise InvalidArgumentError(f"specs must hold NotebookSpec objects, got {type(spec).__name__}.")


def check_text(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}.")
    return value


def _check_prefix(prefix: Any) -> str:
    """'' or an absolute folder like '/Workspace' (a trailing '/' is dropped)."""
    if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
        raise InvalidArgumentError(
            f"notebook_path_prefix must be '' or an absolute path such as '/Workspace', got {prefix!r}."
        )
    return prefix.rstrip("/")


def _check_cluster(cluster: Any) -> None:
    """A `new_cluster` spec: a mapping naming a runtime (`spark_version`) or a cluster policy."""
    if not isinstance(cluster, Mapping) or not cluster:
        raise InvalidArgumentError(
            "cluster must be a non-empty dict in Jobs API new_cluster form, e.g. {'spark_version': "
            f"'15.4.x-scala2.12', 'node_type_id': 'Standard_DS3_v2', 'num_workers': 2}}; got {cluster!r}."
        )
    if "spark_version" not in cluster and "policy_id" not in cluster:
        raise InvalidArgumentError(
            f"cluster needs 'spark_version' (or a 'policy_id' that sets it); got keys {sorted(map(str, cluster))}."
        )


def _check_task_key(key: str, spec: NotebookSpec) -> str:
    if len(key) > MAX_TASK_KEY_LENGTH:
        raise FlowDefinitionError(
            f"Notebook '{spec.path}': task key {key!r} is longer than the Jobs API allows "
            f"({MAX_TASK_KEY_LENGTH} characters); use a shorter notebook path."
        )
    return key


def _check_concurrency(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CONCURRENT_RUNS_LIMIT:
        raise InvalidArgumentError(
            f"max_concurrent_runs must be an int from 0 to {MAX_CONCURRENT_RUNS_LIMIT}, got {value!r}."
        )
    return value


def _check_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in tags.items()
    ):
        raise InvalidArgumentError(f"tags must be a dict of non-empty str to str, got {tags!r}.")
    if len(tags) > MAX_JOB_TAGS:
        raise InvalidArgumentError(f"A job takes at most {MAX_JOB_TAGS} tags, got {len(tags)}.")
    return dict(tags)


def _check_emails(emails: Any) -> list[str]:
    if (
        isinstance(emails, str)
        or not isinstance(emails, Sequence)
        or not all(isinstance(e, str) and e.strip() for e in emails)
    ):
        raise InvalidArgumentError(
            f"email_on_failure must be a list of addresses (not a single string), got {emails!r}."
        )
    return list(emails)


def _plain(value: Any, where: str) -> Any:
    """A deep copy made of dict/list/str/int/float/bool only (what JSON and YAML both carry)."""
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InvalidArgumentError(f"{where}: keys must be strings, got {list(value)!r}.")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgumentError(f"{where}: {value!r} is not a finite number.")
    if isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidArgumentError(
        f"{where}: {type(value).__name__} {value!r} cannot be exported; use str, int, float, bool, "
        "dict or list (omit a setting instead of passing None)."
    )
