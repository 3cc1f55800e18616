"""Flow: the declared notebooks of a pipeline, their table catalog, and running them.

`flow.notebook(path)` returns a builder; `.run()` declares and runs it at once (dtflw 0.6.x),
`.add()` only declares it. `flow[table]` is the path of the latest evaluated table.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import types
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import dtflw.databricks as db
from dtflw.callee import share_arguments as _share
from dtflw.errors import InvalidArgumentError
from dtflw.execute import DbutilsRunner, NotebookRunner, RunOutcome, run_one
from dtflw.logger import Logger
from dtflw.notebook import NotebookBuilder, NotebookSpec
from dtflw.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.redaction import redact_args, redact_text
from dtflw.storage.base import Storage
from dtflw.scoped import scoped
from dtflw.tables import TableCatalog

if TYPE_CHECKING:
    from dtflw.executor import FlowEvent
    from dtflw.graph import LineageGraph
    from dtflw.plan import Plan
    from dtflw.results import FlowRunResult

_declared_flows: contextvars.ContextVar[list["Flow"] | None] = contextvars.ContextVar("dtflw_declare_only", default=None)


def declare_only() -> contextlib.AbstractContextManager[list["Flow"]]:
    """Within the block flows only declare: `.run()` and `flow.run()` execute nothing.

    Yields the list of flows created meanwhile (the CLI's plan/graph/export use it).
    """
    return scoped(_declared_flows, [])  # type: ignore[arg-type]


def is_declare_only() -> bool:
    return _declared_flows.get() is not None


class FlowContext:
    """What every part of a flow shares: storage, spark, dbutils, logger, runner, driver path."""

    def __init__(self, storage: Storage, spark: Any = None, dbutils: Any = None,
                 logger: Logger | None = None, runner: NotebookRunner | None = None) -> None:
        if not isinstance(storage, Storage):
            raise InvalidArgumentError(
                f"storage must be a dtflw Storage (e.g. dtflw.storage.dbfs.init_storage()), got {type(storage).__name__}."
            )
        self.storage = storage
        self._spark = spark
        self.dbutils = dbutils if dbutils is not None else (storage._dbutils or db.get_dbutils())
        self.logger = logger if logger is not None else Logger()
        self.runner: NotebookRunner = runner if runner is not None else DbutilsRunner(self.dbutils)

    @property
    def logger(self) -> Logger:
        return self._logger

    @logger.setter
    def logger(self, value: Logger) -> None:
        if not isinstance(value, Logger):
            raise InvalidArgumentError(f"logger must be a dtflw.logger.Logger, got {type(value).__name__}.")
        self._logger = value

    @property
    def spark(self) -> Any:
        """The SparkSession (discovered on first use, so flows without schema checks need none)."""
        if self._spark is None:
            self._spark = self.storage.spark
        return self._spark

    @cached_property
    def driver_path(self) -> str:
        """Workspace path of the driver notebook, read once from the notebook context."""
        return db.get_this_notebook_abs_path(self.dbutils)

    @cached_property
    def interactive(self) -> bool:
        """True when the driver runs interactively (not as a job)."""
        return db.is_job_interactive(self.dbutils)

    def notebook_abs_path(self, path: str) -> str:
        return db.resolve_notebook_path(self.driver_path, path)

    @staticmethod
    def project_path(abs_path: str) -> str:
        return db.project_relative_path(abs_path)

    def share_arguments(self, notebook_abs_path: str, values: Mapping[str, str]) -> None:
        _share(notebook_abs_path, values)

    def redact(self, args: Mapping[str, str]) -> dict[str, str]:
        return redact_args(args, self.dbutils)

    def redact_text(self, text: str) -> str:
        return redact_text(text, self.dbutils)


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
        self._evaluated: dict[str, str] = {}
        self._evaluated_by: dict[str, list[tuple[str, str]]] = {}
        self._outcomes: dict[int, RunOutcome] = {}
        self._notebook_plugins: dict[str, NotebookPluginBase] = {}
        self._hooks: dict[str, list[Callable[[FlowEvent], Any]]] = {}
        self._lock = threading.Lock()
        self.dag_done: set[int] = set()
        self._statuses: dict[int, str] = {}
        self.last_result: FlowRunResult | None = None
        flows = _declared_flows.get()
        if flows is not None:
            flows.append(self)

    @property
    def name(self) -> str:
        """The flow's name in run history: given to init_flow, else the driver notebook's path."""
        return self._name or self._ctx.driver_path

    @property
    def ctx(self) -> FlowContext:
        return self._ctx

    @property
    def catalog(self) -> TableCatalog:
        return self._catalog

    @property
    def specs(self) -> tuple[NotebookSpec, ...]:
        """Every declared notebook, in declaration order."""
        return tuple(self._specs)

    def __getitem__(self, table_name: str) -> str | None:
        """Absolute path of the latest evaluated table `table_name`, or None."""
        return self._evaluated.get(table_name)

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("Tables are published by running notebooks; flow[...] is read-only.")

    def notebook(self, path: str) -> NotebookBuilder:
        """Start declaring the notebook at `path` (relative to the driver's folder, or absolute)."""
        builder = NotebookBuilder(self, path)
        for plugin in self._notebook_plugins.values():
            setattr(builder, plugin.action_name,
                    types.MethodType(lambda nb, *a, _p=plugin, **kw: _p.act(nb, self, *a, **kw), builder))
        return builder

    def declare(self, builder: NotebookBuilder) -> NotebookSpec:
        """Freeze a builder into the next NotebookSpec and register its outputs."""
        spec = builder.build(len(self._specs))
        self._specs.append(spec)
        self._catalog.declare(spec.index, spec.path, spec.outputs)
        return spec

    def run_spec(self, spec: NotebookSpec, is_lazy: bool = False, strict: bool = False) -> str | None:
        """Run one declared notebook now and publish its outputs; returns its exit value."""
        if is_declare_only():
            self.publish(spec)
            return None
        try:
            outcome = run_one(self._ctx, spec, lazy=is_lazy, strict=strict)
        except Exception:
            self._statuses[spec.index] = "failed"
            raise
        self._outcomes[spec.index] = outcome
        self._statuses[spec.index] = outcome.status
        self.publish(spec)
        return outcome.exit_value

    def publish(self, spec: NotebookSpec) -> None:
        """Make a finished notebook's outputs the latest evaluated tables (thread-safe)."""
        with self._lock:
            for out in spec.outputs:
                self._evaluated[out.alias] = out.path
                self._evaluated_by.setdefault(out.alias, []).append((spec.path, out.path))

    # ---- DAG runs -----------------------------------------------------------------------------
    def run(self, max_workers: int = 4, lazy: bool | str = False, only: str | Sequence[str] | None = None,
            tags: str | Sequence[str] | None = None, from_: str | Sequence[str] | None = None,
            to: str | Sequence[str] | None = None, force: bool | str | Sequence[str] | None = None,
            resume: str | None = None) -> "FlowRunResult":
        """Run every declared, not yet run notebook as a DAG, `max_workers` at a time.

        `lazy`: False (run all), True (skip when outputs exist) or "auto" (skip when outputs exist
        and nothing they depend on changed since the last successful run). `only`/`tags` select
        notebooks, `from_` adds everything downstream, `to` everything upstream; `force` runs
        notebooks regardless of laziness; `resume` ("last" or a run id) re-runs what failed or never
        ran in that run, plus downstream. Raises FlowRunError when a notebook failed.
        """
        from dtflw.executor import FlowRun, RunOptions
        from dtflw.results import FlowRunError

        options = RunOptions(max_workers, lazy, only, tags, from_, to, force, resume)
        run = FlowRun(self, options)
        if is_declare_only():  # nothing runs; the declarations stay pending for plan/graph/export
            for spec in run.dag.specs.values():
                self.publish(spec)
            return _declared_result(run)
        result = run.execute()
        self.dag_done |= set(run.dag.specs)
        self._statuses.update({r.index: r.status for r in result})
        self.last_result = result
        if not result.ok:
            raise FlowRunError(result)
        return result

    def plan(self, lazy: bool | str = False, only: str | Sequence[str] | None = None,
             tags: str | Sequence[str] | None = None, from_: str | Sequence[str] | None = None,
             to: str | Sequence[str] | None = None, force: bool | str | Sequence[str] | None = None,
             resume: str | None = None) -> "Plan":
        """What `run()` with the same arguments would do, and why, without running anything."""
        from dtflw.executor import FlowRun, RunOptions

        return FlowRun(self, RunOptions(1, lazy, only, tags, from_, to, force, resume)).plan()

    def on(self, event: str, callback: Callable[["FlowEvent"], Any]) -> None:
        """Call `callback(event)` on flow_start, notebook_start, notebook_end or flow_end.

        A callback that raises is logged and ignored; it never breaks the run.
        """
        from dtflw.executor import EVENTS

        if event not in EVENTS:
            raise InvalidArgumentError(f"Unknown event {event!r}; expected one of {', '.join(EVENTS)}.")
        if not callable(callback):
            raise InvalidArgumentError(f"Callback for {event} must be callable, got {callback!r}.")
        self._hooks.setdefault(event, []).append(callback)

    def fire(self, event: "FlowEvent") -> None:
        """Deliver `event` to its hooks (errors logged, never raised)."""
        from dtflw.executor import fire_hooks

        fire_hooks(self._hooks, event, self._ctx.logger.log)

    def graph(self) -> "LineageGraph":
        """The lineage graph of every declared notebook, coloured by status after a run."""
        from dtflw.graph import build_lineage

        return build_lineage(self._specs, statuses=dict(self._statuses))

    def history(self, run_id: str | None = None, as_dataframe: bool = False) -> Any:
        """Run records of this flow (all runs, or one), oldest first; a Spark DataFrame if asked."""
        from dtflw.history import HistoryStore

        records = HistoryStore(self._ctx.storage).records(run_id, self.name)
        if not as_dataframe:
            return records
        import json

        spark = self._ctx.spark
        rows = [json.dumps(r.to_dict()) for r in records]
        return spark.read.json(spark.sparkContext.parallelize(rows or ["{}"], 1))

    def to_job(self, name: str, **options: Any) -> dict[str, Any]:
        """A Databricks Jobs API 2.1 job settings document with one task per declared notebook."""
        from dtflw.jobs import job_settings

        return job_settings(self._specs, name, **options)

    def to_bundle_yaml(self, name: str, **options: Any) -> str:
        """The same job as an Asset Bundle `resources.jobs` YAML document."""
        from dtflw.jobs import bundle_yaml

        return bundle_yaml(self._specs, name, **options)

    def outcome(self, spec: NotebookSpec) -> RunOutcome | None:
        """How the given declared notebook ended, if it ran in this flow."""
        return self._outcomes.get(spec.index)

    def show(self) -> None:
        """Print every evaluated table and the notebooks that produced it."""
        lines = ["Evaluated tables:"]
        for name, pubs in self._evaluated_by.items():
            lines.append(f"'{name}'")
            lines += [f"  '{nb}' : '{path}'" for nb, path in pubs]
        print("\n".join(lines))

    def install(self, plugin: FlowPluginBase | NotebookPluginBase) -> None:
        """Attach a plugin's action to this flow or to every notebook builder it creates."""
        if isinstance(plugin, FlowPluginBase):
            setattr(self, plugin.action_name, types.MethodType(plugin.act, self))
        elif isinstance(plugin, NotebookPluginBase):
            if plugin.action_name in self._notebook_plugins:
                raise InvalidArgumentError(f"Notebook plugin '{plugin.action_name}' is already installed.")
            self._notebook_plugins[plugin.action_name] = plugin
        else:
            raise InvalidArgumentError(
                f"plugin must subclass FlowPluginBase or NotebookPluginBase, got {type(plugin).__name__}."
            )


def init_flow(storage: Storage, spark: Any = None, dbutils: Any = None, logger: Logger | None = None,
              name: str | None = None) -> Flow:
    """A Flow on `storage`; spark and dbutils come from the Databricks runtime when omitted.

    `name` identifies the flow in run history (default: the driver notebook's path).
    """
    return Flow(FlowContext(storage, spark=spark, dbutils=dbutils, logger=logger), name=name)


def _declared_result(run: Any) -> "FlowRunResult":
    from dtflw.results import FlowRunResult, NotebookResult

    return FlowRunResult(run.run_id, tuple(
        NotebookResult(run.dag.keys[i], run.dag.specs[i].path, "skipped", "declare only", index=i)
        for i in run.dag.order))
