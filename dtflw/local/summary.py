"""The one-paragraph explanation of a failed local run: which notebook, where, why."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dtflw.local.records import NotebookRecord, NotebookStatus


def deepest_failure(records: Sequence[NotebookRecord]) -> NotebookRecord | None:
    """The failed notebook none of whose children failed: where the error started."""
    failed = [r for r in records if r.status is NotebookStatus.FAILED]
    parents_of_failures = {r.parent for r in failed}
    origins = [r for r in failed if r.id not in parents_of_failures]
    return origins[0] if origins else (failed[0] if failed else None)


def _chain(records: Sequence[NotebookRecord], record: NotebookRecord) -> list[str]:
    by_id = {r.id: r for r in records}
    chain, current = [], by_id.get(record.parent) if record.parent is not None else None
    while current is not None:
        chain.append(current.workspace_path)
        current = by_id.get(current.parent) if current.parent is not None else None
    return chain


def failure_summary(
    records: Sequence[NotebookRecord],
    error: BaseException,
    entry: str,
    redact: Callable[[str], str] | None = None,
) -> str:
    """E.g. "dtflw run failed: notebook /Users/u/p/clean (clean.py, cell 3, line 12) raised ...".

    Falls back to the error itself when the failure happened before any notebook ran. The
    text passes `redact` (the run's secret redactor) when given.
    """
    text = _summary(records, error, entry)
    return redact(text) if redact is not None else text


def _summary(records: Sequence[NotebookRecord], error: BaseException, entry: str) -> str:
    origin = deepest_failure(records)
    if origin is None:
        return f"dtflw run failed: {entry}: {error}"
    where = origin.file
    if origin.error_cell is not None:
        where += f", cell {origin.error_cell + 1}, line {origin.error_line}"
    called = _chain(records, origin)
    via = f" It was called from {' <- '.join(called)}." if called else ""
    before = "Cells before the failing one completed; see" if origin.error_cell else "See"
    raised = str(origin.error).rstrip()
    end = "" if raised.endswith((".", "!", "?")) else "."
    return (
        f"dtflw run failed: notebook {origin.workspace_path} ({where}) raised {raised}{end}{via} "
        f"{before} the report for outputs and the full traceback."
    )
