"""Runs a DAG of notebook specs: up to `max_workers` at a time, failures isolated, history kept.

`DagRun(ctx, specs, options, flow_name, emit)` is all the run layer needs: the context (storage,
runner, logger), the specs still to run, the options, the flow's name in history and a sink for
events. It returns a `FlowRunResult`; it never sees the `Flow` that declared the specs.
Each notebook goes through `run.step`; `lazy="auto"` compares fingerprints with history.
"""

from __future__ import annotations

import contextvars
import heapq
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from dtflw.databricks import get_spark_session_if_running
from dtflw.errors import FlowDefinitionError, NotebookRunError
from dtflw.model.dag import Dag, build_dag
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import FlowEventName, PlanAction, RunStatus
from dtflw.run.context import RunContext
from dtflw.run.decide import Decision, Plan, decide, fingerprint
from dtflw.run.events import EventSink, FlowEvent
from dtflw.run.history import HistoryStore, RunRecord, TableVersion, new_run_id
from dtflw.run.options import RunOptions
from dtflw.run.progress import ProgressTable
from dtflw.run.select import select
from dtflw.run.step import call_values, execute_spec, outputs_exist, validate_outputs


def _ignore(_event: FlowEvent) -> None:
    return None


class DagRun:
    """One execution (or plan) of the given specs."""

    def __init__(
        self,
        ctx: RunContext,
        specs: Sequence[NotebookSpec],
        options: RunOptions,
        flow_name: str,
        emit: EventSink = _ignore,
    ) -> None:
        if not specs:
            raise FlowDefinitionError("Nothing to run: every declared notebook has run already (declare with .add()).")
        self.ctx = ctx
        self.options = options
        self.flow_name = flow_name
        self._emit_hooks = emit
        self.history = HistoryStore(ctx.storage)
        self.run_id = new_run_id()
        self.dag: Dag = build_dag(specs)
        self.selected = select(self.dag, options.only, options.tags, options.from_, options.to)
        self.forced = self._forced()
        self.done_before: dict[int, str] = {}
        if options.resume is not None:
            self._apply_resume(options.resume)
        wants_history = options.lazy == "auto" or options.resume is not None
        self.latest = self.history.latest_successes(flow_name) if wants_history else {}
        self.results: dict[int, NotebookResult] = {}
        self.records: list[RunRecord] = []
        self._lock = threading.Lock()
        self._progress: ProgressTable | None = None

    # ---- selection ---------------------------------------------------------------------------
    def _forced(self) -> set[int]:
        force = self.options.force
        if force is None or force is False:
            return set()
        if force is True:
            return set(self.selected)
        return select(self.dag, only=force) & self.selected

    def _apply_resume(self, resume: str) -> None:
        run_id = self.history.last_run_id(self.flow_name) if resume == "last" else resume
        if run_id is None:
            raise FlowDefinitionError(f"resume={resume!r}: no earlier run of flow '{self.flow_name}' is recorded.")
        final: dict[str, RunStatus] = {}
        for record in self.history.records(run_id, self.flow_name):
            final[record.key] = record.status
        if not final:
            raise FlowDefinitionError(f"resume={resume!r}: run '{run_id}' has no records for flow '{self.flow_name}'.")
        redo = {i for i in self.selected if not (final.get(self.dag.keys[i]) or RunStatus.FAILED).ok}
        rerun = self.dag.descendants(redo) & self.selected
        self.forced |= rerun
        self.done_before = {i: run_id for i in self.selected - rerun}

    # ---- planning ----------------------------------------------------------------------------
    def decision(self, index: int, upstream_runs: bool = False) -> Decision:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        if index not in self.selected:
            return Decision(index, key, spec.path, PlanAction.NOT_SELECTED, PlanAction.NOT_SELECTED.value)
        if index in self.done_before and outputs_exist(self.ctx, spec):
            return Decision(index, key, spec.path, PlanAction.SKIP, f"succeeded in run {self.done_before[index]}")
        if upstream_runs and self.options.lazy == "auto" and index not in self.forced:
            return Decision(index, key, spec.path, PlanAction.RUN, "an upstream notebook will run")
        return decide(
            spec,
            key,
            self.options.lazy,
            index in self.forced,
            lambda: outputs_exist(self.ctx, spec),
            lambda: self._fingerprint(spec),
            self.latest.get(key),
        )

    def _fingerprint(self, spec: NotebookSpec) -> tuple[str, dict[str, str | None]]:
        versions = {i.name: self.ctx.storage.version(i.path) if i.path else None for i in spec.inputs}
        return fingerprint(spec, self.ctx.source_hash(spec.abs_path), versions), versions

    def plan(self) -> Plan:
        """Every decision without running anything (downstream of a run predicted to run)."""
        runs: set[int] = set()
        decisions = []
        for index in self.dag.order:
            d = self.decision(index, upstream_runs=bool(self.dag.upstream[index] & runs))
            if d.action is PlanAction.RUN:
                runs.add(index)
            decisions.append(d)
        return Plan(tuple(decisions), self.options.lazy)

    def declared_result(self) -> FlowRunResult:
        """The result of a declare-only run: every notebook skipped, nothing touched."""
        return FlowRunResult(
            self.run_id,
            tuple(
                NotebookResult(self.dag.keys[i], self.dag.specs[i].path, RunStatus.SKIPPED, "declare only", index=i)
                for i in self.dag.order
            ),
        )

    # ---- execution ---------------------------------------------------------------------------
    def _emit(
        self, name: FlowEventName, notebook: str | None = None, result: NotebookResult | FlowRunResult | None = None
    ) -> None:
        """Progress first (log line / live table), then the caller's sink (user hooks)."""
        event = FlowEvent(name, self.run_id, self.flow_name, notebook, result)
        if self._progress is not None:
            self._progress(event)
        self._emit_hooks(event)

    def execute(self) -> FlowRunResult:
        self._progress = ProgressTable([self.dag.specs[i].path for i in self.dag.order if i in self.selected])
        self._emit(FlowEventName.FLOW_START)
        self.ctx.logger.log(
            f"Flow run {self.run_id}: {len(self.selected)} notebook(s), up to {self.options.max_workers} at a time"
        )
        # Each selected notebook counts the selected upstream notebooks it still waits for; a
        # finished notebook releases its children, so scheduling is linear in notebooks + edges.
        position = {index: n for n, index in enumerate(self.dag.order)}
        waits_for = {i: len(self.dag.upstream[i] & self.selected) for i in self.dag.order if i in self.selected}
        ready = [(position[i], i) for i, count in waits_for.items() if count == 0]
        heapq.heapify(ready)

        def finish(index: int, result: NotebookResult) -> None:
            self._finish(index, result)
            for child in self.dag.downstream.get(index, ()):
                if child in waits_for:
                    waits_for[child] -= 1
                    if waits_for[child] == 0:
                        heapq.heappush(ready, (position[child], child))

        running: dict[Future[NotebookResult], int] = {}
        with ThreadPoolExecutor(max_workers=self.options.max_workers, thread_name_prefix="dtflw") as pool:
            while ready or running:
                while ready:
                    _, index = heapq.heappop(ready)
                    blocked = [u for u in self.dag.upstream[index] & self.selected if self.results[u].status.is_failure]
                    if blocked:
                        finish(index, self._upstream_failed(index, sorted(blocked)))
                        continue
                    context = contextvars.copy_context()
                    running[pool.submit(context.run, self._run_node, index)] = index
                if running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        finish(running.pop(future), future.result())
        result = FlowRunResult(self.run_id, tuple(self.results[i] for i in self.dag.order if i in self.results))
        self._save_history()
        self._emit(FlowEventName.FLOW_END, result=result)
        return result

    def _finish(self, index: int, result: NotebookResult) -> None:
        self.results[index] = result
        status = result.status.value if not result.reason else f"{result.status.value} ({result.reason})"
        verb = "Failed" if result.status is RunStatus.FAILED else "Finished"
        line = f"{verb}: '{self.dag.specs[index].abs_path}' {status}"
        self.ctx.logger.log(line + (f": {result.error}" if result.error else ""))
        self._emit(FlowEventName.NOTEBOOK_END, result.notebook, result)

    def _upstream_failed(self, index: int, blocked: Sequence[int]) -> NotebookResult:
        spec = self.dag.specs[index]
        reason = "upstream failed: " + ", ".join(self.dag.specs[u].path for u in blocked)
        self._record(spec, 0, RunStatus.UPSTREAM_FAILED, None, None, reason=reason)
        return NotebookResult(self.dag.keys[index], spec.path, RunStatus.UPSTREAM_FAILED, reason, index=index)

    def _run_node(self, index: int) -> NotebookResult:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        started = time.time()
        self.ctx.logger.log(f"Started: '{spec.abs_path}'")
        self._emit(FlowEventName.NOTEBOOK_START, spec.path)
        try:
            decision = self.decision(index)
            if decision.action is PlanAction.SKIP:
                return self._skip(spec, key, decision, started)
            return self._execute(spec, key, decision, started)
        except Exception as error:  # failure isolation: one notebook never stops the others
            message = self.ctx.redact_text(_reason(error))
            attempts = error.attempts if isinstance(error, NotebookRunError) else 1
            self._record(spec, attempts, RunStatus.FAILED, started, time.time(), error=message)
            return NotebookResult(
                key, spec.path, RunStatus.FAILED, "", attempts, time.time() - started, None, message, index
            )

    def _skip(self, spec: NotebookSpec, key: str, decision: Decision, started: float) -> NotebookResult:
        # Columns were checked when these very output versions were written: no need to read them.
        last_outputs = (self.latest.get(key) or {}).get("outputs", [])
        unchanged = bool(last_outputs) and all(
            self.ctx.storage.version(o["path"]) == o.get("version") for o in last_outputs
        )
        if not (self.options.lazy == "auto" and unchanged):
            validate_outputs(self.ctx, spec, strict=False, known_present=True)
        self._record(
            spec, 0, RunStatus.SKIPPED, started, time.time(), reason=decision.reason, fingerprint=decision.fingerprint
        )
        return NotebookResult(
            key, spec.path, RunStatus.SKIPPED, decision.reason, 0, time.time() - started, index=spec.index
        )

    def _execute(self, spec: NotebookSpec, key: str, decision: Decision, started: float) -> NotebookResult:
        values = call_values(self.ctx, spec)
        print_now = decision.fingerprint
        if self.options.lazy == "auto" and print_now is None:
            print_now, _ = self._fingerprint(spec)

        def record_retry(attempt: int, attempt_started: float, reason: str) -> None:
            self._record(spec, attempt, RunStatus.FAILED, attempt_started, time.time(), error=reason)

        exit_value, attempts = execute_spec(self.ctx, spec, values, strict=False, on_retry=record_retry)
        ended = time.time()
        self._record(
            spec,
            attempts,
            RunStatus.SUCCEEDED,
            started,
            ended,
            exit_value=exit_value,
            reason=decision.reason,
            fingerprint=print_now,
        )
        return NotebookResult(
            key,
            spec.path,
            RunStatus.SUCCEEDED,
            decision.reason,
            attempts,
            ended - started,
            exit_value,
            index=spec.index,
        )

    # ---- history -----------------------------------------------------------------------------
    def _record(
        self,
        spec: NotebookSpec,
        attempt: int,
        status: RunStatus,
        started: float | None,
        ended: float | None,
        exit_value: str | None = None,
        error: str | None = None,
        reason: str = "",
        fingerprint: str | None = None,
    ) -> None:
        storage = self.ctx.storage
        with_versions = status.ok
        record = RunRecord(
            run_id=self.run_id,
            flow=self.flow_name,
            key=self.dag.keys[spec.index],
            notebook=spec.abs_path,
            attempt=attempt,
            status=status,
            args=self.ctx.redact(spec.args),
            inputs=tuple(
                TableVersion(i.name, i.path, storage.version(i.path) if with_versions and i.path else None)
                for i in spec.inputs
            ),
            outputs=tuple(
                TableVersion(o.alias, o.path, storage.version(o.path) if with_versions else None) for o in spec.outputs
            ),
            started=started,
            ended=ended,
            exit_value=self.ctx.redact_text(exit_value) if exit_value else exit_value,
            error=error,
            reason=reason,
            fingerprint=fingerprint,
            source_hash=self.ctx.source_hash(spec.abs_path),
        )
        self.history.append(record)
        with self._lock:
            self.records.append(record)

    def _save_history(self) -> None:
        latest = dict(self.history.latest_successes(self.flow_name))
        for record in self.records:
            if record.status is RunStatus.SUCCEEDED or (
                record.status is RunStatus.SKIPPED and record.fingerprint is not None
            ):
                latest[record.key] = record.to_dict()
        self.history.save_latest_successes(self.flow_name, latest)
        spark = get_spark_session_if_running()
        if self.ctx.storage.format == "delta" and spark is not None:
            try:
                self.history.write_delta(spark, self.records)
            except Exception as error:  # history must never fail a finished run
                self.ctx.logger.log(f"Run history: could not append to the Delta history table: {error}")


def _reason(error: BaseException) -> str:
    reason: Any = getattr(error, "reason", None)
    return str(reason) if reason is not None else f"{type(error).__name__}: {error}"
