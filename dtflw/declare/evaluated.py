"""What a flow has evaluated so far: the tables its notebooks published and their last runs.

`TablesRepository` answers `flow["Table"]` and keeps dtflw 0.6.x's `flow.ctx.tables_repo`
(`tables`, `resolve`); `PipelineState` keeps `flow.ctx.pipeline.runs`. Both are filled by the
Flow as notebooks finish (eagerly or in a DAG run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import attrs

from dtflw.errors import InvalidArgumentError


class TablesRepository:
    """Published tables: for each name, the notebooks that published it (in order) and where."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, str]] = {}

    @property
    def tables(self) -> Mapping[str, Mapping[str, str]]:
        """`{table name: {notebook path: absolute table path}}`, a read-only view."""
        return MappingProxyType({name: MappingProxyType(dict(pubs)) for name, pubs in self._tables.items()})

    def publish(self, tables: Mapping[str, str], src_nb_path: str) -> None:
        """Record that the notebook `src_nb_path` produced `tables` (name -> absolute path).

        A notebook that publishes a name again replaces its earlier path (and keeps its place).
        """
        if not isinstance(tables, Mapping) or not isinstance(src_nb_path, str):
            raise InvalidArgumentError("publish() takes a dict of table name -> path and a notebook path.")
        for name, path in tables.items():
            self._tables.setdefault(name, {})[src_nb_path] = path

    def resolve(self, name: str, trg_nb_path: str | None = None) -> str | None:
        """The path of table `name` for the notebook `trg_nb_path`, or None.

        Without a target (or one that has not published `name`): the latest publication. With a
        target that published `name` itself: the publication just before the target's own.
        """
        pubs = self._tables.get(name)
        if not pubs:
            return None
        if not trg_nb_path or trg_nb_path not in pubs:
            return next(reversed(pubs.values()))
        found = False
        for nb_path, path in reversed(pubs.items()):
            if found:
                return path
            found = nb_path == trg_nb_path
        return None


@attrs.frozen
class NotebookRun:
    """A finished notebook: its workspace path, arguments (secrets redacted), inputs and outputs."""

    notebook_path: str
    args: Mapping[str, str]
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]


class PipelineState:
    """The last finished run of each notebook of a flow, in the order they first finished."""

    def __init__(self) -> None:
        self._runs: dict[str, NotebookRun] = {}

    @property
    def runs(self) -> Iterator[NotebookRun]:
        """Each notebook's last run (a fresh iterator on every access)."""
        return iter(list(self._runs.values()))

    def record_run(self, run: NotebookRun) -> None:
        """Remember `run` as the last run of its notebook."""
        if not isinstance(run, NotebookRun):
            raise InvalidArgumentError(f"record_run() takes a NotebookRun, got {type(run).__name__}.")
        self._runs[run.notebook_path] = run
