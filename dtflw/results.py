"""What a flow run produced: one NotebookResult per notebook, gathered in a FlowRunResult."""

from __future__ import annotations

from typing import Iterator, Mapping

import attrs

from dtflw.errors import DtflwError
from dtflw.render import html_table, text_table

STATUSES = ("succeeded", "skipped", "failed", "upstream_failed")
HEADER = ("notebook", "status", "time", "detail")


@attrs.frozen
class NotebookResult:
    """How one notebook ended: status, why, attempts, seconds, exit value, error."""

    key: str
    notebook: str
    status: str
    reason: str = ""
    attempts: int = 0
    seconds: float = 0.0
    exit_value: str | None = None
    error: str | None = None
    index: int = -1


@attrs.frozen
class FlowRunResult:
    """Results of one `flow.run()`, in execution order; `result["notebook"]` looks one up."""

    run_id: str
    results: tuple[NotebookResult, ...]

    def __iter__(self) -> Iterator[NotebookResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, notebook: str) -> NotebookResult:
        for r in self.results:
            if notebook in (r.notebook, r.key):
                return r
        raise KeyError(f"No notebook {notebook!r} in run {self.run_id}.")

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.results if r.status == "failed"]

    def by_status(self) -> Mapping[str, list[str]]:
        out: dict[str, list[str]] = {s: [] for s in STATUSES}
        for r in self.results:
            out.setdefault(r.status, []).append(r.notebook)
        return out

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [(r.notebook, r.status, f"{r.seconds:.1f}s", r.error or r.reason) for r in self.results]

    def __str__(self) -> str:
        return text_table(HEADER, self.rows())

    def _repr_html_(self) -> str:
        return html_table(HEADER, self.rows())


class FlowRunError(DtflwError):
    """Some notebooks of a flow run failed; `.result` has every notebook's outcome."""

    def __init__(self, result: FlowRunResult) -> None:
        self.result = result
        lines = [f"- '{r.notebook}': {r.error}" for r in result.failed]
        skipped = [r.notebook for r in result.results if r.status == "upstream_failed"]
        tail = f"\nNot run because an upstream notebook failed: {', '.join(skipped)}." if skipped else ""
        super().__init__(f"Flow run {result.run_id}: {len(lines)} notebook(s) failed:\n" + "\n".join(lines) + tail)
