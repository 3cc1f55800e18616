"""Running a declared flow as a DAG: parallel, incremental, recorded, resumable.

A notebook starts as soon as everything it waits for has finished; a failure marks everything
downstream `upstream_failed` while independent branches go on. Each attempt becomes a RunRecord
in the history; `lazy="auto"` compares fingerprints with the last successful run.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import attrs

from dtflw.databricks import get_spark_session_if_running
from dtflw.errors import FlowDefinitionError, InvalidArgumentError
from dtflw.execute import call_values, execute_spec, outputs_exist, validate_outputs
from dtflw.history import HistoryStore, RunRecord, TableVersion, new_run_id
from dtflw.progress import ProgressTable
from dtflw.plan import Dag, Decision, Plan, build_dag, check_lazy, decide, fingerprint, select
from dtflw.results import FlowRunResult, NotebookResult

if TYPE_CHECKING:
    from dtflw.flow import Flow
    from dtflw.notebook import NotebookSpec

EVENTS = ("flow_start", "notebook_start", "notebook_end", "flow_end")


@attrs.frozen
class FlowEvent:
    """What a hook receives: the event, the run, and (for notebook events) the notebook and result."""

    name: str
    run_id: str
    flow: str
    notebook: str | None = None
    result: Any = None  # NotebookResult for notebook_end, FlowRunResult for flow_end


@attrs.frozen
class RunOptions:
    """Validated arguments of `flow.run()` / `flow.plan()`."""

    max_workers: int = 4
    lazy: object = False
    only: Any = None
    tags: Any = None
    from_: Any = None
    to: Any = None
    force: Any = None
    resume: str | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_workers, bool) or not isinstance(self.max_workers, int) or self.max_workers < 1:
            raise InvalidArgumentError(f"max_workers must be an int >= 1, got {self.max_workers!r}.")
        check_lazy(self.lazy)
        if self.resume is not None and not isinstance(self.resume, str):
            raise InvalidArgumentError(f"resume must be a run id or 'last', got {self.resume!r}.")


def source_hash(flow: "Flow", spec: "NotebookSpec") -> str | None:
    """SHA-256 of the notebook's source when the runtime can read it (local runtime), else None."""
    find = getattr(getattr(flow.ctx.dbutils, "runtime", None), "notebook_file", None)
    if find is None:
        return None
    path = find(spec.abs_path)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24] if path is not None else None


class FlowRun:
    """One execution of a flow's pending notebooks."""

    def __init__(self, flow: "Flow", options: RunOptions) -> None:
        self.flow = flow
        self.options = options
        self.ctx = flow.ctx
        self.history = HistoryStore(self.ctx.storage)
        self.run_id = new_run_id()
        self.pending = [s for s in flow.specs if flow.outcome(s) is None and s.index not in flow.dag_done]
        if not self.pending:
            raise FlowDefinitionError("Nothing to run: every declared notebook has run already (declare with .add()).")
        self.dag: Dag = build_dag(self.pending)
        self.selected = select(self.dag, options.only, options.tags, options.from_, options.to)
        self.forced = self._forced()
        self.done_before: dict[int, str] = {}
        if options.resume is not None:
            self._apply_resume(options.resume)
        self.latest = self.history.latest_successes(flow.name) if options.lazy == "auto" or options.resume else {}
        self.results: dict[int, NotebookResult] = {}
        self.records: list[RunRecord] = []
        self._lock = threading.Lock()

    # ---- selection helpers --------------------------------------------------------------------
    def _forced(self) -> set[int]:
        force = self.options.force
        if force is None or force is False:
            return set()
        if force is True:
            return set(self.selected)
        return select(self.dag, only=force) & self.selected

    def _apply_resume(self, resume: str) -> None:
        run_id = self.history.last_run_id(self.flow.name) if resume == "last" else resume
        if run_id is None:
            raise FlowDefinitionError(f"resume={resume!r}: no earlier run of flow '{self.flow.name}' is recorded.")
        final: dict[str, str] = {}
        for record in self.history.records(run_id, self.flow.name):
            final[record.key] = record.status
        if not final:
            raise FlowDefinitionError(f"resume={resume!r}: run '{run_id}' has no records for flow '{self.flow.name}'.")
        redo = {i for i in self.selected if final.get(self.dag.keys[i]) not in ("succeeded", "skipped")}
        rerun = self.dag.descendants(redo) & self.selected
        self.forced |= rerun
        self.done_before = {i: run_id for i in self.selected - rerun}

    # ---- planning -------------------------------------------------------------------------
    def decision(self, index: int, upstream_runs: bool = False) -> Decision:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        if index not in self.selected:
            return Decision(index, key, spec.path, "not selected", "not selected")
        if index in self.done_before and outputs_exist(self.ctx, spec):
            return Decision(index, key, spec.path, "skip", f"succeeded in run {self.done_before[index]}")
        if upstream_runs and self.options.lazy == "auto" and index not in self.forced:
            return Decision(index, key, spec.path, "run", "an upstream notebook will run")
        return decide(spec, key, self.options.lazy, index in self.forced,
                      lambda: outputs_exist(self.ctx, spec), lambda: self._fingerprint(spec),
                      self.latest.get(key))

    def _fingerprint(self, spec: "NotebookSpec") -> tuple[str, dict[str, str | None]]:
        versions = self._input_versions(spec)
        return fingerprint(spec, source_hash(self.flow, spec), versions), versions

    def _input_versions(self, spec: "NotebookSpec") -> dict[str, str | None]:
        return {i.name: self.ctx.storage.version(i.path) if i.path else None for i in spec.inputs}

    def plan(self) -> Plan:
        """Every decision without running anything (downstream of a run predicted to run)."""
        runs: set[int] = set()
        decisions = []
        for index in self.dag.order:
            upstream_runs = bool(self.dag.upstream[index] & runs)
            d = self.decision(index, upstream_runs)
            if d.action == "run":
                runs.add(index)
            decisions.append(d)
        return Plan(tuple(decisions), self.options.lazy)

    # ---- execution ------------------------------------------------------------------------
    def _emit(self, event: FlowEvent) -> None:
        """Progress first (log line / live table), then the user's hooks."""
        self.progress(event)
        self.flow.fire(event)

    def execute(self) -> FlowRunResult:
        self.progress = ProgressTable([self.dag.specs[i].path for i in self.dag.order if i in self.selected])
        self._emit(FlowEvent("flow_start", self.run_id, self.flow.name))
        self.ctx.logger.log(f"Flow run {self.run_id}: {len(self.selected)} notebook(s), up to {self.options.max_workers} at a time")
        waiting = {i: set(self.dag.upstream[i]) & self.selected for i in self.dag.order if i in self.selected}
        running: dict[Future[NotebookResult], int] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="dtflw") as pool:
            while waiting or running:
                for index in [i for i, ups in waiting.items() if not ups - set(self.results)]:
                    del waiting[index]
                    blocked = [u for u in self.dag.upstream[index] & self.selected
                               if self.results[u].status in ("failed", "upstream_failed")]
                    if blocked:
                        self._finish(index, self._upstream_failed(index, blocked))
                        continue
                    context = contextvars.copy_context()
                    running[pool.submit(context.run, self._run_node, index)] = index
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._finish(running.pop(future), future.result())
        result = FlowRunResult(self.run_id, tuple(self.results[i] for i in self.dag.order if i in self.results))
        self._save_history()
        self._emit(FlowEvent("flow_end", self.run_id, self.flow.name, result=result))
        return result

    def _finish(self, index: int, result: NotebookResult) -> None:
        self.results[index] = result
        status = result.status if not result.reason else f"{result.status} ({result.reason})"
        line = f"{'Failed' if result.status == 'failed' else 'Finished'}: '{self.dag.specs[index].abs_path}' {status}"
        self.ctx.logger.log(line + (f": {result.error}" if result.error else ""))
        self._emit(FlowEvent("notebook_end", self.run_id, self.flow.name, result.notebook, result))

    def _upstream_failed(self, index: int, blocked: Sequence[int]) -> NotebookResult:
        spec = self.dag.specs[index]
        reason = "upstream failed: " + ", ".join(self.dag.specs[u].path for u in blocked)
        self._record(spec, 0, "upstream_failed", None, None, reason=reason)
        return NotebookResult(self.dag.keys[index], spec.path, "upstream_failed", reason, index=index)

    def _run_node(self, index: int) -> NotebookResult:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        started = time.time()
        self.ctx.logger.log(f"Started: '{spec.abs_path}'")
        self._emit(FlowEvent("notebook_start", self.run_id, self.flow.name, spec.path))
        try:
            decision = self.decision(index)
            if decision.action == "skip":
                return self._skip(spec, key, decision, started)
            return self._execute(spec, key, decision, started)
        except Exception as error:  # failure isolation: one notebook never stops the others
            message = error.reason if hasattr(error, "reason") else f"{type(error).__name__}: {error}"
            attempts = getattr(error, "attempts", 1)
            message = self.ctx.redact_text(str(message))
            self._record(spec, attempts, "failed", started, time.time(), error=message)
            return NotebookResult(key, spec.path, "failed", "", attempts, time.time() - started, None, message, index)

    def _skip(self, spec: "NotebookSpec", key: str, decision: Decision, started: float) -> NotebookResult:
        # Columns were checked when these very output versions were written: no need to read them.
        last_outputs = (self.latest.get(key) or {}).get("outputs", [])
        unchanged = bool(last_outputs) and all(
            self.ctx.storage.version(o["path"]) == o.get("version") for o in last_outputs)
        if not (self.options.lazy == "auto" and unchanged):
            validate_outputs(self.ctx, spec, strict=False, known_present=True)
        self.flow.publish(spec)
        self._record(spec, 0, "skipped", started, time.time(), reason=decision.reason,
                     fingerprint_=decision.fingerprint)
        return NotebookResult(key, spec.path, "skipped", decision.reason, 0, time.time() - started, index=spec.index)

    def _execute(self, spec: "NotebookSpec", key: str, decision: Decision, started: float) -> NotebookResult:
        values = call_values(self.ctx, spec)
        print_ = decision.fingerprint
        if self.options.lazy == "auto" and print_ is None:
            print_, _ = self._fingerprint(spec)

        def record_retry(attempt: int, attempt_started: float, reason: str) -> None:
            self._record(spec, attempt, "failed", attempt_started, time.time(), error=reason)

        exit_value, attempts = execute_spec(self.ctx, spec, values, strict=False, on_retry=record_retry)
        self.flow.publish(spec)
        ended = time.time()
        self._record(spec, attempts, "succeeded", started, ended, exit_value=exit_value, reason=decision.reason,
                     fingerprint_=print_)
        return NotebookResult(key, spec.path, "succeeded", decision.reason, attempts, ended - started, exit_value,
                              index=spec.index)

    # ---- history --------------------------------------------------------------------------
    def _record(self, spec: "NotebookSpec", attempt: int, status: str, started: float | None,
                ended: float | None, exit_value: str | None = None, error: str | None = None,
                reason: str = "", fingerprint_: str | None = None) -> None:
        storage = self.ctx.storage
        with_versions = status in ("succeeded", "skipped")
        record = RunRecord(
            run_id=self.run_id, flow=self.flow.name, key=self.dag.keys[spec.index], notebook=spec.abs_path,
            attempt=attempt, status=status, args=self.ctx.redact(spec.args),
            inputs=tuple(TableVersion(i.name, i.path, storage.version(i.path) if with_versions and i.path else None)
                         for i in spec.inputs),
            outputs=tuple(TableVersion(o.alias, o.path, storage.version(o.path) if with_versions else None)
                          for o in spec.outputs),
            started=started, ended=ended,
            exit_value=self.ctx.redact_text(exit_value) if exit_value else exit_value,
            error=error, reason=reason, fingerprint=fingerprint_, source_hash=source_hash(self.flow, spec),
        )
        self.history.append(record)
        with self._lock:
            self.records.append(record)

    def _save_history(self) -> None:
        latest = dict(self.history.latest_successes(self.flow.name))
        for record in self.records:
            if record.status in ("succeeded", "skipped") and record.fingerprint is not None:
                latest[record.key] = record.to_dict()
            elif record.status == "succeeded":
                latest[record.key] = record.to_dict()
        self.history.save_latest_successes(self.flow.name, latest)
        spark = get_spark_session_if_running()
        if self.ctx.storage.format == "delta" and spark is not None:
            try:
                self.history.write_delta(spark, self.records)
            except Exception as error:  # history must never fail a finished run
                self.ctx.logger.log(f"Run history: could not append to the Delta history table: {error}")


def fire_hooks(hooks: Mapping[str, list[Callable[[FlowEvent], Any]]], event: FlowEvent, log: Callable[[str], None]) -> None:
    """Call each hook for `event`; a hook that raises is logged and ignored."""
    for hook in hooks.get(event.name, ()):
        try:
            hook(event)
        except Exception as error:
            log(f"Hook {getattr(hook, '__name__', hook)!r} for {event.name} raised {type(error).__name__}: {error} (ignored)")


