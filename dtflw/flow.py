"""Flow: the declared notebooks of a pipeline, their table catalog, and running them.

`flow.notebook(path)` returns a builder; `.run()` declares and runs it at once (dtflw 0.6.x),
`.add()` only declares it. `flow[table]` is the path of the latest evaluated table.
"""

from __future__ import annotations

import types
from functools import cached_property
from typing import Any, Mapping

import dtflw.databricks as db
from dtflw.callee import share_arguments as _share
from dtflw.errors import InvalidArgumentError
from dtflw.execute import DbutilsRunner, NotebookRunner, RunOutcome, run_one
from dtflw.logger import Logger
from dtflw.notebook import NotebookBuilder, NotebookSpec
from dtflw.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.redaction import redact_args, redact_text
from dtflw.storage.base import Storage
from dtflw.tables import TableCatalog


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

    def __init__(self, ctx: FlowContext) -> None:
        if not isinstance(ctx, FlowContext):
            raise InvalidArgumentError("Flow needs a FlowContext; use dtflw.init_flow(storage).")
        self._ctx = ctx
        self._specs: list[NotebookSpec] = []
        self._catalog = TableCatalog()
        self._evaluated: dict[str, str] = {}
        self._evaluated_by: dict[str, list[tuple[str, str]]] = {}
        self._outcomes: dict[int, RunOutcome] = {}
        self._notebook_plugins: dict[str, NotebookPluginBase] = {}

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
        outcome = run_one(self._ctx, spec, lazy=is_lazy, strict=strict)
        self._outcomes[spec.index] = outcome
        self._publish(spec)
        return outcome.exit_value

    def _publish(self, spec: NotebookSpec) -> None:
        for out in spec.outputs:
            self._evaluated[out.alias] = out.path
            self._evaluated_by.setdefault(out.alias, []).append((spec.path, out.path))

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


def init_flow(storage: Storage, spark: Any = None, dbutils: Any = None, logger: Logger | None = None) -> Flow:
    """A Flow on `storage`; spark and dbutils come from the Databricks runtime when omitted."""
    return Flow(FlowContext(storage, spark=spark, dbutils=dbutils, logger=logger))
