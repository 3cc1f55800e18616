"""Flow: the declared notebooks of a pipeline, their table catalogue, and running them.

`flow.notebook(path)` returns a builder; `.run()` declares and runs it at once (dtflw 0.6.x),
`.add()` only declares it. `flow[table]` is the path of the latest evaluated table.

The Flow holds declarations; runs belong to the run layer. `flow.run()` hands the pending specs,
the context and the options to `DagRun` and applies the `FlowRunResult` that comes back.
"""

from __future__ import annotations

import json
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from dtflw.catalog import Catalog
from dtflw.declare.backfill import backfill_sets, check_templates, expand_flow, new_partitions, refuse_secrets
from dtflw.declare.builder import NotebookBuilder
from dtflw.declare.catalog import TableCatalog
from dtflw.declare.context import FlowContext
from dtflw.declare.evaluated import NotebookRun
from dtflw.declare.mode import current_run_defaults, is_declare_only, register_flow
from dtflw.declare.plugins import FlowPluginBase, NotebookPluginBase
from dtflw.errors import FlowInterrupted, FlowRunError, InvalidArgumentError
from dtflw.export.bundle import bundle_yaml
from dtflw.export.jobs import job_settings
from dtflw.lineage.graph import LineageGraph, build_lineage
from dtflw.logger import LoggerBase
from dtflw.model.dag import next_task_key
from dtflw.model.foreach import expand, group_inputs
from dtflw.model.results import FlowRunResult
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import LazyMode, RunStatus
from dtflw.run.context import NotebookRunner
from dtflw.run.decide import Plan
from dtflw.run.events import EVENTS, FlowEvent, Hook, fire_hooks, ignore_event
from dtflw.run.heap import older_objects_frozen
from dtflw.run.history import HistoryStore, RunRecord, new_run_id
from dtflw.run.options import Force, RunOptions
from dtflw.run.recording import EagerRecorder, run_error_reason
from dtflw.run.scheduler import DagRun
from dtflw.run.select import Patterns
from dtflw.run.step import RunOutcome, run_one
from dtflw.storage.base import Storage


class Flow:
    """A notebook pipeline: declarations in order, the tables they produce, and their runs."""

    def __init__(self, ctx: FlowContext, name: str | None = None) -> None:
        if not isinstance(ctx, FlowContext):
            raise InvalidArgumentError("Flow needs a FlowContext; use dtflw.init_flow(storage).")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise InvalidArgumentError(f"Flow name must be a non-empty string, got {name!r}.")
        self._ctx = ctx
        self._name = name
        self._specs: list[NotebookSpec] = []
        self._catalog = TableCatalog()
        self._outcomes: dict[int, RunOutcome] = {}
        self._notebook_plugins: dict[str, NotebookPluginBase] = {}
        self._hooks: dict[str, list[Hook]] = {}
        self._ran: set[int] = set()  # declaration indexes a DAG run has taken care of
        self._statuses: dict[int, RunStatus] = {}
        self.last_result: FlowRunResult | None = None
        self._eager: EagerRecorder | None = None
        self._keys: dict[int, str] = {}  # task key of each declared notebook (as `task_keys` gives)
        self._keys_used: dict[str, int] = {}
        self._superseded: set[int] = set()  # declarations a backfill replaced by their iterations
        self._by_index: dict[int, NotebookSpec] = {}  # every declared spec (iterations too), by index
        self._grouped = False  # any for-each iterations declared: plain consumers must look for them
        register_flow(self)

    @property
    def name(self) -> str:
        """The flow's name in run history: given to init_flow, else the driver notebook's path."""
        return self._name or self._ctx.driver_path

    @property
    def ctx(self) -> FlowContext:
        return self._ctx

    @property
    def table_catalog(self) -> TableCatalog:
        """Which declared notebook produces which table name (static resolution)."""
        return self._catalog

    def catalog(self) -> Catalog:
        """The catalogue of this flow's storage: every flow's notebooks, tables and runs recorded there."""
        return Catalog(self._ctx.storage)

    @property
    def specs(self) -> tuple[NotebookSpec, ...]:
        """Every declared notebook, in declaration order."""
        return tuple(self._specs)

    def __getitem__(self, table_name: str) -> str | None:
        """Absolute path of the latest evaluated table `table_name`, or None."""
        return self._ctx.resolve_table(table_name)

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("Tables are published by running notebooks; flow[...] is read-only.")

    def notebook(self, path: str) -> NotebookBuilder:
        """Start declaring the notebook at `path` (relative to the driver's folder, or absolute)."""
        builder = NotebookBuilder(self, path)
        for plugin in self._notebook_plugins.values():
            setattr(
                builder,
                plugin.action_name,
                types.MethodType(lambda nb, *a, _p=plugin, **kw: _p.act(nb, self, *a, **kw), builder),
            )
        return builder

    # ---- declaring and eager runs (called by the builder) -----------------------------------
    def _declare(self, builder: NotebookBuilder) -> NotebookSpec:
        """Freeze a builder into the next NotebookSpec (a for-each one into its iterations) and
        register its outputs; returns the (last) spec."""
        spec = builder.build(len(self._specs))
        sets = builder.for_each_sets
        if not sets:
            spec = group_inputs(spec, self._by_index) if self._grouped else spec
            self._register([spec])
            return spec
        iterations = expand(spec, sets, spec.index, self._by_index, concurrency=builder.for_each_concurrency)
        self._register(iterations)
        return iterations[-1]

    def _register(self, specs: list[NotebookSpec]) -> None:
        for spec in specs:
            self._specs.append(spec)
            self._by_index[spec.index] = spec
            self._grouped = self._grouped or spec.group is not None
            self._keys[spec.index] = next_task_key(spec, self._keys_used)
            self._catalog.declare(spec.index, spec.path, spec.outputs)

    def _run_spec(self, spec: NotebookSpec, is_lazy: bool = False, strict: bool = False) -> str | None:
        """Run one declared notebook now and publish its outputs; returns its exit value."""
        if is_declare_only():
            self._publish(spec)
            return None
        recorder, started = self._recorder(), time.time()
        try:
            outcome = run_one(self._ctx, spec, lazy=is_lazy, strict=strict)
        except Exception as error:
            self._statuses[spec.index] = RunStatus.FAILED
            recorder.record(self._keys[spec.index], spec, RunStatus.FAILED, started,
                            attempt=getattr(error, "attempts", 1),
                            error=self._ctx.redact_text(run_error_reason(error)))  # fmt: skip
            raise
        if outcome.status is RunStatus.SUCCEEDED:  # a lazy skip records nothing: it changed nothing
            recorder.record(self._keys[spec.index], spec, outcome.status, started, attempt=outcome.attempts,
                            exit_value=outcome.exit_value, reason=outcome.reason,
                            fingerprint=recorder.fingerprint(spec))  # fmt: skip
        self._outcomes[spec.index] = outcome
        self._statuses[spec.index] = outcome.status
        self._publish(spec)
        return outcome.exit_value

    def _recorder(self) -> EagerRecorder:
        """History of this flow's eager runs (one run id for all of them), made on first use."""
        if self._eager is None:
            self._eager = EagerRecorder(self._ctx, self.name)
        return self._eager

    def _publish(self, spec: NotebookSpec) -> None:
        """Make a finished notebook's outputs the latest evaluated tables and record its run."""
        outputs = {out.alias: out.path for out in spec.outputs}
        self._ctx.publish_tables(outputs, spec.path)
        inputs = {inp.name: inp.path for inp in spec.inputs}
        args = self._ctx.redact(spec.args) if spec.args else {}
        self._ctx.pipeline.record_run(NotebookRun(spec.abs_path, args, inputs, outputs))

    def _pending(self) -> list[NotebookSpec]:
        return [s for s in self._specs if s.index not in self._outcomes and s.index not in self._ran]

    @property
    def _current_specs(self) -> list[NotebookSpec]:
        """Declared specs without those a backfill replaced by their iterations."""
        return [s for s in self._specs if s.index not in self._superseded]

    def _to_run(self, options: RunOptions) -> list[NotebookSpec]:
        """The specs a DAG run takes: those not run yet; with `resume`, every DAG-declared one
        (resume itself decides what re-runs), so the same Flow resumes after a failure."""
        if options.resume is None:
            return self._pending()
        return [s for s in self._current_specs if s.index not in self._outcomes]

    # ---- DAG runs ----------------------------------------------------------------------------
    def run(
        self,
        max_workers: int = 4,
        lazy: LazyMode | None = None,
        only: Patterns = None,
        tags: Patterns = None,
        from_: Patterns = None,
        to: Patterns = None,
        force: Force = None,
        resume: str | None = None,
        params: Mapping[str, Any] | None = None,
        for_new_partitions_of: str | None = None,
        param: str | None = None,
    ) -> FlowRunResult:
        """Run every declared, not yet run notebook as a DAG, `max_workers` at a time.

        `lazy`: False (run all), True (skip when outputs exist) or "auto" (skip when outputs exist
        and nothing they depend on changed since the last successful run). `only`/`tags` select
        notebooks, `from_` adds everything downstream, `to` everything upstream; `force` runs
        notebooks regardless of laziness; `resume` ("last" or a run id) re-runs what failed or never
        ran in that run, plus downstream. Raises FlowRunError when a notebook failed.

        `params` (a backfill): `{"date": date_range("2024-01-01", "2024-03-31")}` runs every notebook
        once per value (a grid for several names), each value's outputs in their own partition
        (`.../Orders/date=2024-01-01`); `lazy` defaults to "auto" then, so values whose outputs
        are up to date are skipped. `for_new_partitions_of="Raw", param="date"`: the values of
        `{date}` found on storage for the input "Raw" (its file_path template) that no successful
        run covered yet, run as a backfill in order.
        """
        given = current_run_defaults()  # the command line's options (`dtflw run --only ...`), if any
        if given:
            lazy = given.get("lazy", lazy)
            only, tags = _first(only, given.get("only")), _first(tags, given.get("tags"))
            from_, to, force = (
                _first(from_, given.get("from_")),
                _first(to, given.get("to")),
                _first(force, given.get("force")),
            )
            resume = _first(resume, self._default_resume(given.get("resume")))
            params = _first(params, given.get("params"))
        if for_new_partitions_of is not None:
            if params is not None:
                raise InvalidArgumentError(
                    "for_new_partitions_of= finds the values to run itself; pass it or params=, not both."
                )
            params = self._new_partitions(for_new_partitions_of, param)
            if not params:
                return FlowRunResult(new_run_id(), ())
        elif param is not None:
            raise InvalidArgumentError("param= names the partition of for_new_partitions_of=; pass both.")
        if lazy is None:
            lazy = "auto" if params else False
        options = RunOptions(max_workers, lazy, only, tags, from_, to, force, resume)
        with older_objects_frozen():  # thousands of notebooks: keep full collections cheap
            specs = self._to_run(options)
            if params:
                specs = self._backfill(specs, self._backfill_sets(params))
            check_templates(specs)
            sink = self._fire if any(self._hooks.values()) else ignore_event
            run = DagRun(self._ctx, specs, options, self.name, sink)
            if is_declare_only():  # nothing runs; the declarations stay pending for plan/graph/export
                for spec in run.dag.specs.values():
                    self._publish(spec)
                return run.declared_result()
            result = run.execute()
            self._apply(run.dag.specs, result)
        if run.interrupted:
            raise FlowInterrupted(result, self.name, _counts(result))
        if not result.ok:
            raise FlowRunError(result)
        return result

    def _backfill_sets(self, params: Any) -> list[dict[str, str]]:
        sets = backfill_sets(params)
        refuse_secrets(self._ctx.redact_text, sets, "flow.run(params=...)")
        return sets

    def _backfill(self, specs: list[NotebookSpec], sets: list[dict[str, str]]) -> list[NotebookSpec]:
        """Replace `specs` by their iterations, one per parameter set (declared on this flow)."""
        iterations = expand_flow(specs, sets, len(self._specs))
        self._register(iterations)
        self._superseded |= {s.index for s in specs}
        self._ran |= {s.index for s in specs}
        return iterations

    def _new_partitions(self, table: Any, param: Any) -> dict[str, list[str]]:
        """`{param: values}` of `table`'s partitions on storage that no successful run covered."""
        latest = HistoryStore(self._ctx.storage).latest_successes
        return new_partitions(self._ctx.storage, self._pending(), table, param, lambda: latest(self.name),
                              lambda line: self._ctx.logger.log(f"Flow '{self.name}': {line}"))  # fmt: skip

    def _default_resume(self, wanted: str | None) -> str | None:
        """`dtflw run --resume`'s run id ("last": this flow's last run) when this flow recorded
        it, else None: the flow then runs as it would, with a log line saying so."""
        if wanted is None:
            return None
        history = HistoryStore(self._ctx.storage)
        if wanted == "last":
            known = history.last_run_id(self.name) is not None
        else:
            known = wanted in history.run_ids() and bool(history.records(wanted, self.name))
        if not known:
            self._ctx.logger.log(f"Flow '{self.name}' has no recorded run {wanted!r} to resume: it runs as declared.")
        return wanted if known else None

    def _apply(self, specs: Mapping[int, NotebookSpec], result: FlowRunResult) -> None:
        """Take in what a DAG run returned: statuses, published tables, the last result."""
        self._ran |= set(specs)
        for r in result:
            self._statuses[r.index] = r.status
            if r.status.ok:
                self._publish(specs[r.index])
        self.last_result = result

    def plan(
        self,
        lazy: LazyMode | None = None,
        only: Patterns = None,
        tags: Patterns = None,
        from_: Patterns = None,
        to: Patterns = None,
        force: Force = None,
        resume: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Plan:
        """What `run()` with the same arguments would do, and why, without running anything
        (with `params`: per value of the backfill)."""
        options = RunOptions(1, "auto" if params and lazy is None else (lazy or False), only, tags, from_, to,
                             force, resume)  # fmt: skip
        specs = self._to_run(options)
        if params:
            specs = expand_flow(specs, self._backfill_sets(params), len(self._specs))
        check_templates(specs)
        return DagRun(self._ctx, specs, options, self.name).plan()

    def on(self, event: str, callback: Callable[[FlowEvent], Any]) -> None:
        """Call `callback(event)` on flow_start, notebook_start, notebook_end or flow_end.

        A callback that raises is logged and ignored; it never breaks the run.
        """
        if event not in EVENTS:
            raise InvalidArgumentError(f"Unknown event {event!r}; expected one of {', '.join(EVENTS)}.")
        if not callable(callback):
            raise InvalidArgumentError(f"Callback for {event} must be callable, got {callback!r}.")
        self._hooks.setdefault(str(event), []).append(callback)

    def _fire(self, event: FlowEvent) -> None:  # hooks added once a run started hear from the next run
        fire_hooks(self._hooks, event, self._ctx.logger.log)

    # ---- reading the flow ------------------------------------------------------------------
    def graph(self) -> LineageGraph:
        """The lineage graph of every declared notebook, coloured by status after a run."""
        return build_lineage(self._current_specs, statuses=dict(self._statuses))

    def history(self, run_id: str | None = None, as_dataframe: bool = False) -> list[RunRecord] | Any:
        """Run records of this flow (all runs, or one), oldest first; a Spark DataFrame if asked."""
        records = HistoryStore(self._ctx.storage).records(run_id, self.name)
        if not as_dataframe:
            return records
        spark = self._ctx.spark
        rows = [json.dumps(r.to_dict()) for r in records]
        return spark.read.json(spark.sparkContext.parallelize(rows or ["{}"], 1))

    def to_job(self, name: str, **options: Any) -> dict[str, Any]:
        """A Databricks Jobs API 2.1 job settings document with one task per declared notebook."""
        options.setdefault("redact", self._ctx.redact_text)  # fetched secrets never reach an export
        return job_settings(self._current_specs, name, **options)

    def to_bundle_yaml(self, name: str, **options: Any) -> str:
        """The same job as an Asset Bundle `resources.jobs` YAML document."""
        options.setdefault("redact", self._ctx.redact_text)
        return bundle_yaml(self._current_specs, name, **options)

    def outcome(self, spec: NotebookSpec) -> RunOutcome | None:
        """How the given declared notebook ended, if it ran eagerly in this flow."""
        return self._outcomes.get(spec.index)

    def show(self) -> None:
        """Show every evaluated table and the notebooks that produced it (through `ctx.display`)."""
        self._ctx.show()

    def install(self, plugin: FlowPluginBase | NotebookPluginBase) -> None:
        """Attach a plugin's action to this flow or to every notebook builder it creates."""
        if isinstance(plugin, FlowPluginBase):
            setattr(self, plugin.action_name, types.MethodType(plugin.act, self))
        elif isinstance(plugin, NotebookPluginBase):
            if plugin.action_name in self._notebook_plugins:
                raise InvalidArgumentError(f"Notebook plugin {plugin.action_name} is already installed.")
            self._notebook_plugins[plugin.action_name] = plugin
        else:
            raise InvalidArgumentError(
                f"plugin must subclass FlowPluginBase or NotebookPluginBase, got {type(plugin).__name__}."
            )


def init_flow(
    storage: Storage,
    spark: Any = None,
    dbutils: Any = None,
    logger: LoggerBase | None = None,
    name: str | None = None,
    runner: NotebookRunner | None = None,
) -> Flow:
    """A Flow on `storage`; spark and dbutils come from the Databricks runtime when omitted.

    `name` identifies the flow in run history (default: the driver notebook's path). `runner`
    starts notebooks (default: `dbutils.notebook.run`); any object with
    `run(path, timeout_seconds, arguments) -> exit value` will do.
    """
    ctx = FlowContext(storage, spark=spark, dbutils=dbutils, logger=logger, runner=runner)
    _ = ctx.dbutils  # find the runtime's dbutils now: without one, say so before anything is declared
    return Flow(ctx, name=name)


def _counts(result: FlowRunResult) -> str:
    """ "3 succeeded, 1 cancelled" for an interrupted run's message."""
    by_status = result.by_status()
    return ", ".join(f"{len(names)} {status.value}" for status, names in by_status.items() if names) or "nothing ran"


def _first(value: Any, fallback: Any) -> Any:
    return value if value is not None else fallback
