"""Progress of a flow run: one log line per state change, and in a notebook an HTML table that
updates in place (IPython display handles, which Databricks and Jupyter both render).

The table is redrawn at most every `REDRAW_SECONDS` (and always when the flow ends), and beyond
`MAX_ROWS` notebooks it shows the count per state and the rows worth a look (running, failed,
upstream failed, cancelled) rather than every notebook: redrawing every row on every event made
a run of thousands of notebooks quadratic."""

from __future__ import annotations

import html
import time
from typing import Any

from dtflw.model.results import NotebookResult
from dtflw.model.status import FlowEventName, RunStatus
from dtflw.run.events import FlowEvent

REDRAW_SECONDS = 0.5
MAX_ROWS = 200
_QUIET_STATES = frozenset({"waiting", RunStatus.SUCCEEDED.value, RunStatus.SKIPPED.value})

_COLOURS = {
    RunStatus.SUCCEEDED.value: "#c8f7c5",
    RunStatus.FAILED.value: "#f8c4c4",
    RunStatus.UPSTREAM_FAILED.value: "#fde3c0",
    RunStatus.SKIPPED.value: "#e8e8e8",
    RunStatus.CANCELLED.value: "#fff3bf",
    "running": "#cfe3ff",
}


def _display_handle() -> Any:
    """An updatable IPython display when running inside a notebook kernel, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return display(HTML("<i>dtflw: starting…</i>"), display_id=True)


class ProgressTable:
    """Keeps each notebook's state and redraws an HTML table (at most every `REDRAW_SECONDS`)."""

    def __init__(self, notebooks: list[str]) -> None:
        self.states = {nb: ("waiting", "") for nb in notebooks}
        self.started: dict[str, float] = {}
        self._handle = _display_handle()
        self._drawn_at = float("-inf")

    @property
    def live(self) -> bool:
        """True when a live table is shown (in a notebook kernel)."""
        return self._handle is not None

    def __call__(self, event: FlowEvent) -> None:
        if event.notebook is not None and event.name is FlowEventName.NOTEBOOK_START:
            self.started[event.notebook] = time.monotonic()
            self.states[event.notebook] = ("running", "")
        elif event.notebook is not None and isinstance(event.result, NotebookResult):
            result = event.result
            self.states[event.notebook] = (result.status.value, result.error or result.reason)
        if self._handle is None:
            return
        now = time.monotonic()
        if event.name is FlowEventName.FLOW_END or now - self._drawn_at >= REDRAW_SECONDS:
            from IPython.display import HTML

            self._drawn_at = now
            self._handle.update(HTML(self.to_html()))

    def to_html(self) -> str:
        """Every notebook's row; beyond `MAX_ROWS` notebooks, the count per state and the first
        `MAX_ROWS` rows that are not waiting, succeeded or skipped."""
        shown = self.states.items()
        summary = ""
        if len(self.states) > MAX_ROWS:
            counts: dict[str, int] = {}
            for state, _ in self.states.values():
                counts[state] = counts.get(state, 0) + 1
            notable = [(nb, sd) for nb, sd in self.states.items() if sd[0] not in _QUIET_STATES]
            summary = (
                "<p>"
                + ", ".join(f"{html.escape(state)}: {n:,}" for state, n in sorted(counts.items()))
                + (f"; {len(notable) - MAX_ROWS:,} more rows not shown" if len(notable) > MAX_ROWS else "")
                + "</p>"
            )
            shown = dict(notable[:MAX_ROWS]).items()
        rows = "".join(
            f"<tr style='background:{_COLOURS.get(state, '#fff')}'><td>{html.escape(nb)}</td>"
            f"<td>{state}</td><td>{html.escape(detail)}</td></tr>"
            for nb, (state, detail) in shown
        )
        return f"{summary}<table><tr><th>notebook</th><th>state</th><th>detail</th></tr>{rows}</table>"
