"""What a local run observed: one NotebookRecord per executed notebook, one CellRecord per cell.

Records are filled in while notebooks run and turned into the report afterwards.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from dtflw.local.source import Cell
from dtflw.model.status import RunStatus, TextEnum


@attrs.define
class Output:
    """One cell output: `kind` is "stream", "html", "text", "markdown", "warning" or "error"."""

    kind: str
    text: str
    data: dict[str, Any] = attrs.field(factory=dict)


class CellStatus(TextEnum):
    """How a cell of a locally executed notebook ended."""

    PENDING = "pending"
    OK = "ok"
    ERROR = "error"
    EXITED = "exited"  # dbutils.notebook.exit() ended the notebook here


class NotebookStatus(TextEnum):
    """Where a locally executed notebook is: running, then succeeded or failed (as `RunStatus`)."""

    RUNNING = "running"
    SUCCEEDED = RunStatus.SUCCEEDED.value
    FAILED = RunStatus.FAILED.value


@attrs.define
class CellRecord:
    """A cell as executed: its kind and source, outputs, status and seconds taken."""

    cell: Cell
    status: CellStatus = CellStatus.PENDING
    seconds: float = 0.0
    outputs: list[Output] = attrs.field(factory=list)


@attrs.define
class NotebookRecord:
    """A notebook run: where it is, who called it, arguments (redacted), status, cells, timing."""

    workspace_path: str
    file: str
    arguments: dict[str, str]
    parent: int | None = None
    id: int = 0  # numbered by the runtime that records it (1, 2, ... per run); 0 for an inline %run
    status: NotebookStatus = NotebookStatus.RUNNING
    started: float = attrs.field(factory=time.time)
    ended: float | None = None
    exit_value: str | None = None
    error: str | None = None
    error_cell: int | None = None
    error_line: int | None = None
    cells: list[CellRecord] = attrs.field(factory=list)

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started

    def finish(self, status: NotebookStatus, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.ended = time.time()
