"""Runs a DAG of notebook specs: up to `max_workers` at a time, failures isolated, history kept.

`DagRun(ctx, specs, options, flow_name, emit)` is all the run layer needs: the context (storage,
runner, logger), the specs still to run, the options, the flow's name in history and a sink for
events. It returns a `FlowRunResult`; it never sees the `Flow` that declared the specs.
Each notebook goes through `run.step`; `lazy="auto"` compares fingerprints with history.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from dtflw.databricks import get_spark_session_if_running
from dtflw.errors import FlowDefinitionError, NotebookCancelledError, NotebookRunError, error_chain
from dtflw.logger import is_silent
from dtflw.model.dag import Dag, build_dag
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import FlowEventName, PlanAction, RunStatus
from dtflw.run.context import RunContext
from dtflw.run.decide import Decision, Plan, decide
from dtflw.run.events import EventSink, FlowEvent, ignore_event
from dtflw.run.history import HistoryStore, RunRecord, new_run_id
from dtflw.run.options import RunOptions
from dtflw.run.preflight import check_sources
from dtflw.run.progress import ProgressTable
from dtflw.run.recording import make_record, run_error_reason, save_run, spec_fingerprint
from dtflw.run.select import forced, resume_state, select
from dtflw.run.step import call_values, execute_spec, validate_outputs
from dtflw.run.workers import DagWorkers


class DagRun:
    """One execution (or plan) of the given specs."""

    def __init__(
        self,
        ctx: RunContext,
        specs: Sequence[NotebookSpec],
        options: RunOptions,
        flow_name: str,
        emit: EventSink = ignore_event,
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
        self.forced = forced(self.dag, options.force, self.selected)
        self.done_before: dict[int, str] = {}
        if options.resume is not None:
            rerun, self.done_before = resume_state(self.history, flow_name, options.resume, self.dag, self.selected)
            self.forced |= rerun
        wants_history = options.lazy == "auto" or options.resume is not None
        self.latest = self.history.latest_successes(flow_name) if wants_history else {}
        self.results: dict[int, NotebookResult] = {}
        self.records: list[RunRecord] = []
        self.interrupted = False
        self._started: set[int] = set()
        self._lock = threading.Lock()
        self._progress: ProgressTable | None = None
        self._stopping = False  # Ctrl-C: no new notebook, no retry
        self._versions: dict[int, dict[str, str | None]] = {}  # table versions read while deciding, by notebook
        # Versions of the outputs this run's notebooks wrote and validated: their readers in this
        # run need not check or list them again (inputs do not change meanwhile, as for `_versions`).
        self._produced: dict[str, str | None] = {}
        self._present: dict[str, bool] = {}  # output existence checked in one go by `_skip_ahead`
        self._decided: dict[int, Decision] = {}  # decisions made before the workers started (`_skip_ahead`)

    # ---- planning ----------------------------------------------------------------------------
    def decision(self, index: int, upstream_runs: bool = False) -> Decision:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        if index not in self.selected:
            return Decision(index, key, spec.label, PlanAction.NOT_SELECTED, PlanAction.NOT_SELECTED.value)
        if index in self.done_before and self._outputs_exist(spec):
            return Decision(index, key, spec.label, PlanAction.SKIP, f"succeeded in run {self.done_before[index]}")
        if upstream_runs and self.options.lazy == "auto" and index not in self.forced:
            return Decision(index, key, spec.label, PlanAction.RUN, "an upstream notebook will run")
        return decide(
            spec,
            key,
            self.options.lazy,
            index in self.forced,
            lambda: self._outputs_exist(spec),
            lambda: self._fingerprint(spec),
            self.latest.get(key),
        )

    def _outputs_exist(self, spec: NotebookSpec) -> bool:
        present = self._present
        return all(
            present[o.path] if o.path in present else self.ctx.storage.table_exists(o.path) for o in spec.outputs
        )

    def _fingerprint(self, spec: NotebookSpec) -> tuple[str, dict[str, str | None]]:
        found, versions = spec_fingerprint(self.ctx, spec, self._produced)
        known = self._versions.setdefault(spec.index, {})  # the record reuses them: inputs do not change meanwhile
        known.update({i.path: versions[i.name] for i in spec.inputs if i.path})
        return found, versions

    def plan(self) -> Plan:
        """Every decision without running anything (downstream of a run predicted to run)."""
        runs: set[int] = set()
        decisions = []
        self._check_outputs_at_once([i for i in self.dag.order if i in self.selected])
        try:
            for index in self.dag.order:
                d = self.decision(index, upstream_runs=bool(self.dag.upstream[index] & runs))
                if d.action is PlanAction.RUN:
                    runs.add(index)
                decisions.append(d)
        finally:
            self._present = {}
        return Plan(tuple(decisions), self.options.lazy)

    def _check_outputs_at_once(self, order: list[int]) -> None:
        """Ask the storage about every output of `order` in one go (what lazy decisions ask one
        by one); `_present` holds the answers until the caller clears it."""
        if self.options.lazy is False:
            return
        paths = list(dict.fromkeys(o.path for i in order for o in self.dag.specs[i].outputs))
        try:
            found = self.ctx.storage.tables_exist(paths, max_workers=self.options.max_workers)
        except Exception as error:  # each decision asks again, and a failure stays its notebook's
            self.ctx.logger.debug(f"Checking the outputs in one go failed ({error}); checking one by one.")
            return
        self._present = dict(zip(paths, found))

    def declared_result(self) -> FlowRunResult:
        """The result of a declare-only run: every notebook skipped, nothing touched."""
        return FlowRunResult(
            self.run_id,
            tuple(
                NotebookResult(self.dag.keys[i], self.dag.specs[i].label, RunStatus.SKIPPED, "declare only", index=i)
                for i in self.dag.order
            ),
        )

    # ---- execution ---------------------------------------------------------------------------
    def _emit(
        self, name: FlowEventName, notebook: str | None = None, result: NotebookResult | FlowRunResult | None = None
    ) -> None:
        """Progress first (log line / live table), then the caller's sink (user hooks)."""
        if self._emit_hooks is ignore_event and (self._progress is None or not self._progress.live):
            return  # nobody listens: no event built (this runs twice per notebook)
        event = FlowEvent(name, self.run_id, self.flow_name, notebook, result)
        if self._progress is not None:
            self._progress(event)
        self._emit_hooks(event)

    def execute(self) -> FlowRunResult:
        """Run the selected notebooks; the result holds each one's outcome.

        Ctrl-C (KeyboardInterrupt) stops starting notebooks and waits for the running ones; a
        second Ctrl-C stops waiting. Either way history is written, the run's notebooks that did
        not finish are CANCELLED, and `interrupted` is set (Flow.run raises FlowInterrupted).
        """
        check_sources(self.ctx, self.dag, self.selected)
        self._progress = ProgressTable([self.dag.specs[i].label for i in self.dag.order if i in self.selected])
        self._emit(FlowEventName.FLOW_START)
        self.ctx.logger.log(
            f"Flow run {self.run_id}: {len(self.selected)} notebook(s), up to {self.options.max_workers} at a time"
        )
        try:
            left = self._skip_ahead([i for i in self.dag.order if i in self.selected])
        except KeyboardInterrupt:
            self._on_interrupt([])
            self.interrupted = True
            return self._conclude()
        if not left:
            self.interrupted = False
            return self._conclude()
        workers = DagWorkers(
            left,
            self.dag.upstream,
            self.dag.downstream,
            self.options.max_workers,
            run=self._run_node,
            settle=self._settle,
            finish=self._finish,
            crashed=self._crashed,
            limits={
                i: (spec.group, spec.concurrency)
                for i, spec in self.dag.specs.items()
                if spec.group is not None and spec.concurrency > 0
            },
        )
        self.interrupted = not workers.run_all(self._on_interrupt)
        return self._conclude()

    def _skip_ahead(self, order: list[int]) -> list[int]:
        """Skip, in this thread and before any worker starts, every notebook that can be decided
        now: one whose upstream notebooks were all skipped here too (so nothing it reads changes
        during the run). Returns the notebooks left for the workers, in order.

        A no-op incremental run thus never hands a notebook to a worker thread, and a decision to
        run made here is kept for the worker (the same inputs would give the same decision).
        """
        skipped: set[int] = set()
        left: list[int] = []
        self._check_outputs_at_once(order)
        try:
            for index in order:
                # only a notebook whose upstream notebooks were all skipped here can be decided now
                if self.dag.upstream[index] & self.selected <= skipped and self._decide_ahead(index):
                    result = self._run_node(index)
                    self._finish(index, result)
                    if result.status is RunStatus.SKIPPED:
                        skipped.add(index)
                else:
                    left.append(index)
        finally:
            self._present = {}  # later decisions look again: the workers' notebooks change things
        return left

    def _decide_ahead(self, index: int) -> bool:
        """Decide now (kept for `_run_node`); True when the notebook is skipped. A decision that
        fails is made again by the worker, which reports the error as the notebook's."""
        try:
            decision = self.decision(index)
        except Exception:
            return False
        self._decided[index] = decision
        return decision.action is PlanAction.SKIP

    def _settle(self, index: int) -> NotebookResult | None:
        """UPSTREAM_FAILED for a ready notebook whose upstream failed, else None (it runs)."""
        blocked = [u for u in self.dag.upstream[index] & self.selected if self.results[u].status.is_failure]
        return self._upstream_failed(index, sorted(blocked)) if blocked else None

    def _crashed(self, index: int, error: BaseException) -> NotebookResult:
        """A notebook thread ended by a BaseException (SystemExit, KeyboardInterrupt in it)."""
        spec = self.dag.specs[index]
        message = self.ctx.redact_text(run_error_reason(error))
        self._record(spec, 1, RunStatus.FAILED, None, time.time(), error=message)
        return NotebookResult(self.dag.keys[index], spec.label, RunStatus.FAILED, "", 1, 0.0, None, message, index)

    def _on_interrupt(self, running: list[int]) -> None:
        """First Ctrl-C: say so, stop retrying, and ask the runner to cancel what it can (the local
        runtime can)."""
        self._stopping = True
        cancel = getattr(self.ctx.runner, "cancel", None)
        if callable(cancel) and running:
            try:
                cancel()
            except Exception as error:
                self.ctx.logger.log(f"Could not cancel the running notebooks: {error}")
        names = ", ".join(self.dag.specs[i].label for i in running)
        self.ctx.logger.log(
            f"Flow run {self.run_id} interrupted: no new notebook starts"
            + (f"; waiting for {names} (Ctrl-C again to stop waiting)" if running else "")
        )

    def _conclude(self) -> FlowRunResult:
        """Record what never finished (an interrupted run), save history, emit the end event."""
        if self.interrupted:
            for index in self.dag.order:
                if index in self.selected and index not in self.results:
                    self._finish(index, self._cancelled(index))
        result = FlowRunResult(self.run_id, tuple(self.results[i] for i in self.dag.order if i in self.results))
        self._save_history()
        self._emit(FlowEventName.FLOW_END, result=result)
        return result

    def _cancelled(self, index: int) -> NotebookResult:
        spec = self.dag.specs[index]
        reason = "run interrupted" + (" while it ran; its outputs stay pending" if index in self._started else "")
        self._record(spec, 0, RunStatus.CANCELLED, None, time.time(), reason=reason)
        return NotebookResult(self.dag.keys[index], spec.label, RunStatus.CANCELLED, reason, index=index)

    def _finish(self, index: int, result: NotebookResult) -> None:
        self.results[index] = result
        if not is_silent(self.ctx.logger):
            status = result.status.value if not result.reason else f"{result.status.value} ({result.reason})"
            verb = "Failed" if result.status is RunStatus.FAILED else "Finished"
            line = f"{verb}: '{self.dag.specs[index].abs_path}' {status}"
            self.ctx.logger.log(line + (f": {result.error}" if result.error else ""))
        self._emit(FlowEventName.NOTEBOOK_END, result.notebook, result)

    def _upstream_failed(self, index: int, blocked: Sequence[int]) -> NotebookResult:
        spec = self.dag.specs[index]
        reason = "upstream failed: " + ", ".join(self.dag.specs[u].label for u in blocked)
        self._record(spec, 0, RunStatus.UPSTREAM_FAILED, None, None, reason=reason)
        return NotebookResult(self.dag.keys[index], spec.label, RunStatus.UPSTREAM_FAILED, reason, index=index)

    def _run_node(self, index: int) -> NotebookResult:
        spec, key = self.dag.specs[index], self.dag.keys[index]
        started = time.time()
        self._started.add(index)
        if not is_silent(self.ctx.logger):
            self.ctx.logger.log(f"Started: '{spec.abs_path}'")
        self._emit(FlowEventName.NOTEBOOK_START, spec.label)
        try:
            decision = self._decided.pop(index, None) or self.decision(index)
            if decision.action is PlanAction.SKIP:
                return self._skip(spec, key, decision, started)
            return self._execute(spec, key, decision, started)
        except Exception as error:  # failure isolation: one notebook never stops the others
            if _was_cancelled(error):
                return self._cancelled(index)
            message = self.ctx.redact_text(run_error_reason(error))
            attempts = error.attempts if isinstance(error, NotebookRunError) else 1
            self._record(spec, attempts, RunStatus.FAILED, started, time.time(), error=message)
            return NotebookResult(
                key, spec.label, RunStatus.FAILED, "", attempts, time.time() - started, None, message, index
            )

    def _skip(self, spec: NotebookSpec, key: str, decision: Decision, started: float) -> NotebookResult:
        # Columns were checked when these very output versions were written: no need to read them.
        last_outputs = (self.latest.get(key) or {}).get("outputs", [])
        known = self._versions.setdefault(spec.index, {})
        for o in last_outputs if self.options.lazy == "auto" else ():
            known[o["path"]] = self.ctx.storage.version(o["path"])
        unchanged = bool(last_outputs) and all(known.get(o["path"]) == o.get("version") for o in last_outputs)
        if not (self.options.lazy == "auto" and unchanged):
            validate_outputs(self.ctx, spec, strict=False, known_present=True)
        self._record(
            spec, 0, RunStatus.SKIPPED, started, time.time(), reason=decision.reason, fingerprint=decision.fingerprint
        )
        return NotebookResult(
            key, spec.label, RunStatus.SKIPPED, decision.reason, 0, time.time() - started, index=spec.index
        )

    def _execute(self, spec: NotebookSpec, key: str, decision: Decision, started: float) -> NotebookResult:
        values = call_values(self.ctx, spec, self._produced)
        print_now = decision.fingerprint  # recorded whatever `lazy` is: a later lazy="auto" run uses it
        if print_now is None:
            print_now, _ = self._fingerprint(spec)

        def record_retry(attempt: int, attempt_started: float, reason: str) -> None:
            self._record(spec, attempt, RunStatus.FAILED, attempt_started, time.time(), error=reason)

        exit_value, attempts = execute_spec(
            self.ctx,
            spec,
            values,
            strict=False,
            on_retry=record_retry,
            run_id=self.run_id,
            may_retry=lambda: not self._stopping,  # after Ctrl-C nothing starts again
        )
        ended = time.time()
        written = {o.path: self.ctx.storage.version(o.path) for o in spec.outputs}
        self._produced.update(written)
        self._record(
            spec,
            attempts,
            RunStatus.SUCCEEDED,
            started,
            ended,
            exit_value=exit_value,
            reason=decision.reason,
            fingerprint=print_now,
            written=written,
        )
        return NotebookResult(
            key,
            spec.label,
            RunStatus.SUCCEEDED,
            decision.reason,
            attempts,
            ended - started,
            self.ctx.redact_text(exit_value) if exit_value else exit_value,  # results get printed
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
        written: Mapping[str, str | None] | None = None,
    ) -> None:
        """Record one attempt; `written`: the output versions read after a successful run."""
        key = self.dag.keys[spec.index]
        known = self._versions.pop(spec.index, None) if status is RunStatus.SKIPPED else self._inputs_known(spec)
        if written:
            known = {**(known or {}), **written}
        record = make_record(
            self.ctx, self.run_id, self.flow_name, key, spec, attempt, status, started, ended,
            exit_value, error, reason, fingerprint, known,
        )  # fmt: skip
        self.history.append(record)
        with self._lock:
            self.records.append(record)

    def _inputs_known(self, spec: NotebookSpec) -> dict[str, str | None] | None:
        """Input versions read for the fingerprint (never outputs: those were read before the run)."""
        known = self._versions.pop(spec.index, None)
        return None if known is None else {i.path: known[i.path] for i in spec.inputs if i.path in known}

    def _save_history(self) -> None:
        save_run(self.history, self.flow_name, self.records, self.latest)
        spark = get_spark_session_if_running()
        if self.ctx.storage.format == "delta" and spark is not None:
            try:
                self.history.write_delta(spark, self.records)
            except Exception as error:  # history must never fail a finished run
                self.ctx.logger.log(f"Run history: could not append to the Delta history table: {error}")


def _was_cancelled(error: BaseException) -> bool:
    """True when the failure is a notebook stopped by the run's cancellation (anywhere in its chain)."""
    return any(isinstance(e, NotebookCancelledError) for e in error_chain(error))
