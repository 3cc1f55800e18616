"""One small exception hierarchy for everything dtflw raises on purpose.

Every error says what was expected and what was found, and names the notebook, table or path
involved. Secrets never appear in messages: callers pass already-redacted arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol


class DtflwError(Exception):
    """Base class of every error dtflw raises deliberately."""


class InvalidArgumentError(DtflwError, ValueError):
    """A public entry point got a value it cannot work with (wrong type, empty, malformed)."""


class InvalidTypeError(InvalidArgumentError, TypeError):
    """A value of the wrong type (also a TypeError, as the emulated dbutils' Databricks model raises)."""


class FlowDefinitionError(DtflwError, ValueError):
    """The declared pipeline is inconsistent: bad names, cycles, clashing outputs, empty selections."""


class MissingInputError(DtflwError):
    """An input table cannot be resolved or does not exist before its notebook runs."""

    def __init__(self, notebook: str, table: str, detail: str) -> None:
        self.notebook = notebook
        self.table = table
        super().__init__(f"Notebook '{notebook}': input '{table}' {detail}")


class MissingOutputError(DtflwError):
    """A notebook finished without producing an output it promised."""

    def __init__(self, notebook: str, table: str, path: str) -> None:
        self.notebook = notebook
        self.table = table
        self.path = path
        super().__init__(f"Notebook '{notebook}': expected output '{table}' at '{path}', but nothing was found there.")


class SchemaMismatchError(DtflwError, AssertionError):
    """A table's columns differ from the columns its notebook declared.

    Also an AssertionError, which is what dtflw 0.6.x raised for a schema mismatch.
    """

    def __init__(
        self,
        notebook: str,
        table: str,
        path: str,
        missing: list[str],
        extra: list[str],
        mistyped: list[tuple[str, str, str]],
    ) -> None:
        self.notebook = notebook
        self.table = table
        self.path = path
        self.missing = missing
        self.extra = extra
        self.mistyped = mistyped
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if extra:
            parts.append("unexpected columns: " + ", ".join(extra))
        if mistyped:
            parts.append(
                "mistyped columns: "
                + ", ".join(f"{name} (expected {want}, found {got})" for name, want, got in mistyped)
            )
        super().__init__(
            f"Notebook '{notebook}': output '{table}' at '{path}' does not match its schema; " + "; ".join(parts)
        )


class NotebookRunError(DtflwError):
    """A callee notebook failed (raised, timed out or could not be started).

    The message keeps the phrases Databricks puts into a failed ``dbutils.notebook.run``
    (``com.databricks.WorkflowException`` … ``NotebookExecutionException: FAILED``) so user
    code that matches on them keeps working; the original exception is the ``__cause__``.
    """

    def __init__(
        self,
        notebook: str,
        message: str,
        args: Mapping[str, str] | None = None,
        status: str = "FAILED",
        attempts: int = 1,
    ) -> None:
        self.notebook = notebook
        self.arguments = dict(args or {})
        self.reason = message
        self.status = status
        self.attempts = attempts
        shown = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        super().__init__(
            f"com.databricks.WorkflowException: com.databricks.NotebookExecutionException: {status}: "
            f"notebook '{notebook}' failed: {message}" + (f" (arguments: {shown})" if shown else "")
        )


class NotebookTimeoutError(NotebookRunError):
    """A callee notebook ran longer than its timeout and was abandoned."""

    def __init__(self, notebook: str, timeout_seconds: float, args: Mapping[str, str] | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        super().__init__(notebook, f"timed out after {timeout_seconds:g} seconds", args, status="CANCELED")


class _NotebookOutcome(Protocol):
    @property
    def notebook(self) -> str: ...

    @property
    def error(self) -> str | None: ...


class _RunOutcome(Protocol):
    """What FlowRunError reads of a `dtflw.model.FlowRunResult` (kept structural: errors is a leaf)."""

    @property
    def run_id(self) -> str: ...

    @property
    def failed(self) -> Sequence[_NotebookOutcome]: ...

    @property
    def upstream_failed(self) -> Sequence[_NotebookOutcome]: ...

    def __iter__(self) -> Iterator[_NotebookOutcome]: ...

    def __getitem__(self, notebook: str) -> _NotebookOutcome: ...


_LISTED = 20  # notebooks named in a FlowRunError message; `.result` has them all


class FlowRunError(DtflwError):
    """Some notebooks of a flow run failed; `.result` (a FlowRunResult) has every notebook's outcome."""

    def __init__(self, result: _RunOutcome) -> None:
        self.result = result
        failed = list(result.failed)
        lines = [f"- '{r.notebook}': {r.error}" for r in failed[:_LISTED]]
        if len(failed) > _LISTED:
            lines.append(f"- ... and {len(failed) - _LISTED} more (see .result)")
        blocked = [r.notebook for r in result.upstream_failed]
        shown = ", ".join(blocked[:_LISTED]) + (f" and {len(blocked) - _LISTED} more" if len(blocked) > _LISTED else "")
        tail = f"\nNot run because an upstream notebook failed: {shown}." if blocked else ""
        super().__init__(f"Flow run {result.run_id}: {len(failed)} notebook(s) failed:\n" + "\n".join(lines) + tail)


class StorageError(DtflwError):
    """A storage backend could not answer (bad path, unknown scheme, backend failure)."""


class HistoryError(DtflwError):
    """Run history asked for something it cannot give: a malformed run id, or a run whose records are unreadable."""


class RuntimeNotAvailableError(DtflwError):
    """No Databricks runtime handle (spark, dbutils) could be found and none was passed in."""


class EngineUnsupportedError(DtflwError, NotImplementedError):
    """A notebook used what its Spark engine cannot do (`sc` on Spark Connect, `DeltaTable` on Sail).

    `engine` names the engine, `feature` what was used; the message says what to use instead.
    """

    def __init__(self, engine: str, feature: str, instead: str) -> None:
        self.engine = engine
        self.feature = feature
        super().__init__(f"{feature} is not available on engine '{engine}': {instead}")


class FlowInterrupted(KeyboardInterrupt):
    """A flow run stopped by Ctrl-C (or a notebook's Cancel): no new notebook started, finished
    ones are recorded, interrupted ones keep their outputs pending. `.result` has every outcome.

    A `KeyboardInterrupt`, not a `DtflwError`, so `except Exception` never swallows a Ctrl-C.
    """

    def __init__(self, result: _RunOutcome, flow: str, counts: str) -> None:
        self.result = result
        self.flow = flow
        super().__init__(
            f"Flow '{flow}' run {result.run_id} interrupted: {counts}. "
            f"Outputs of interrupted notebooks stay pending. Resume with flow.run(resume='{result.run_id}')."
        )


class ConcurrentWriteError(DtflwError):
    """Another live run holds the pending marker of an output this notebook was about to write.

    Raised up front, before anything is written: two writers of one table would corrupt it.
    `path` is the table, `owner` the other writer (its run id first when it has one), `run_id`
    and `notebook` what its marker recorded, `started` when it started (epoch seconds), and
    `marker` the folder to remove if that writer is known to be dead.
    """

    def __init__(
        self, path: str, owner: str, notebook: str, started: float, marker: str, run_id: str | None = None
    ) -> None:
        self.path = path
        self.owner = owner
        self.run_id = run_id
        self.notebook = notebook
        self.started = started
        self.marker = marker
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started))
        who = f"run {run_id} (writer {owner})" if run_id else f"writer {owner}"
        super().__init__(
            f"Output '{path}' is being written by {who}, notebook '{notebook or 'unknown'}', started {when}; "
            f"a second writer would corrupt it. Wait for that run to finish, or remove '{marker}' if it is dead."
        )


class HoldLostError(ConcurrentWriteError):
    """This notebook's write of an output overlapped another writer's.

    Its lease ran out while it was not renewing it (the process was paused, suspended or
    starved for longer than the lease) and another run took the output over, so both may have
    written it. The output is left pending, so no later run trusts it; run the notebook again.
    `paused` is how long its lease went without renewal (seconds).
    """

    def __init__(
        self,
        path: str,
        owner: str,
        notebook: str,
        started: float,
        marker: str,
        run_id: str | None = None,
        paused: float = 0.0,
    ) -> None:
        super().__init__(path, owner, notebook, started, marker, run_id)
        self.paused = paused
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if started else "meanwhile"
        who = f"run {run_id} (writer {owner})" if run_id else (f"writer {owner}" if owner else "another writer")
        self.args = (
            f"Output '{path}' was taken over by {who}, notebook '{notebook or 'unknown'}', started {when}, while "
            f"this writer went {paused:.0f} s without renewing its lease: both may have written it. It stays "
            "pending, so no run trusts it; run the notebook again.",
        )


class NotebookCancelledError(DtflwError):
    """A notebook stopped before its next cell because its run was cancelled (Ctrl-C on the flow)."""


def error_chain(error: BaseException, limit: int = 20) -> Iterator[BaseException]:
    """`error`, then its causes (`__cause__`, else `__context__`), at most `limit` of them."""
    seen: BaseException | None = error
    for _ in range(limit):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__
