"""What a flow run produced: one NotebookResult per notebook, gathered in a FlowRunResult."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import attrs

from dtflw.model.status import RunStatus, as_status
from dtflw.render import html_table, text_table

RESULT_HEADER = ("notebook", "status", "time", "detail")


@attrs.frozen
class NotebookResult:
    """How one notebook ended: status, why, attempts, seconds, exit value, error."""

    key: str
    notebook: str
    status: RunStatus = attrs.field(converter=as_status)
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
        return [r for r in self.results if r.status is RunStatus.FAILED]

    @property
    def upstream_failed(self) -> list[NotebookResult]:
        return [r for r in self.results if r.status is RunStatus.UPSTREAM_FAILED]

    def by_status(self) -> Mapping[RunStatus, list[str]]:
        out: dict[RunStatus, list[str]] = {s: [] for s in RunStatus}
        for r in self.results:
            out[r.status].append(r.notebook)
        return out

    def statuses(self) -> dict[int, RunStatus]:
        """Status by declaration index (what `build_lineage(statuses=...)` takes)."""
        return {r.index: r.status for r in self.results if r.index >= 0}

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [(r.notebook, r.status.value, f"{r.seconds:.1f}s", r.error or r.reason) for r in self.results]

    def __str__(self) -> str:
        return text_table(RESULT_HEADER, self.rows())

    def _repr_html_(self) -> str:
        return html_table(RESULT_HEADER, self.rows())
