"""FlowContext: what every part of a flow shares (dtflw 0.6.x's `flow.ctx`).

It is the run layer's `RunContext` (storage, spark, dbutils, logger, runner) plus what a
declaring flow keeps: the tables its notebooks published (`tables_repo`), their last runs
(`pipeline`) and where `show()` output goes (`display`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dtflw.declare.evaluated import PipelineState, TablesRepository
from dtflw.display import DefaultDisplay, DisplayBase
from dtflw.logger import LoggerBase
from dtflw.run.context import NotebookRunner, RunContext
from dtflw.storage.base import Storage


class FlowContext(RunContext):
    """The context of one flow: RunContext + published tables, runs and a display."""

    def __init__(
        self,
        storage: Storage,
        spark: Any = None,
        dbutils: Any = None,
        logger: LoggerBase | None = None,
        runner: NotebookRunner | None = None,
    ) -> None:
        super().__init__(storage, spark=spark, dbutils=dbutils, logger=logger, runner=runner)
        self.tables_repo = TablesRepository()
        self.pipeline = PipelineState()
        self.display: DisplayBase = DefaultDisplay()

    def publish_tables(self, tables: Mapping[str, str], src_nb_path: str) -> None:
        """Record tables (name -> absolute path) produced by the notebook `src_nb_path`."""
        self.tables_repo.publish(tables, src_nb_path)

    def resolve_table(self, name: str, trg_nb_path: str | None = None) -> str | None:
        """The absolute path of a published table (see `TablesRepository.resolve`), or None."""
        return self.tables_repo.resolve(name, trg_nb_path)

    def show(self) -> None:
        """Show every published table and the notebooks that produced it."""
        lines = ["Evaluated tables:"]
        for name, pubs in self.tables_repo.tables.items():
            lines.append(f"'{name}'")
            lines += [f"  '{nb}' : '{path}'" for nb, path in pubs.items()]
        self.display.show("\n".join(lines))
