"""Progress of a flow run: one log line per state change, and in a notebook an HTML table that
updates in place (IPython display handles, which Databricks and Jupyter both render)."""

from __future__ import annotations

import html
import time
from typing import Any

from dtflw.model.results import NotebookResult
from dtflw.model.status import FlowEventName, RunStatus
from dtflw.run.events import FlowEvent

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
    """Keeps each notebook's state and re-renders an HTML table on every event."""

    def __init__(self, notebooks: list[str]) -> None:
        self.states = {nb: ("waiting", "") for nb in notebooks}
        self.started: dict[str, float] = {}
        self._handle = _display_handle()

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
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self.to_html()))

    def to_html(self) -> str:
        rows = "".join(
            f"<tr style='background:{_COLOURS.get(state, '#fff')}'><td>{html.escape(nb)}</td>"
            f"<td>{state}</td><td>{html.escape(detail)}</td></tr>"
            for nb, (state, detail) in self.states.items()
        )
        return f"<table><tr><th>notebook</th><th>state</th><th>detail</th></tr>{rows}</table>"
