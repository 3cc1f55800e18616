"""Plugins attach a named action to a Flow or to every notebook builder (dtflw 0.6.x API)."""

from __future__ import annotations

from typing import Any


class FlowPluginBase:
    """Subclass and set `action_name`; `flow.<action_name>(...)` then calls `act(flow, ...)`."""

    @property
    def action_name(self) -> str:
        raise NotImplementedError("A Flow plugin must define action_name.")

    def act(self, flow: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("A Flow plugin must implement act(flow, ...).")


class NotebookPluginBase:
    """Subclass and set `action_name`; `builder.<action_name>(...)` calls `act(builder, flow, ...)`."""

    @property
    def action_name(self) -> str:
        raise NotImplementedError("A notebook plugin must define action_name.")

    def act(self, notebook: Any, flow: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("A notebook plugin must implement act(notebook, flow, ...).")
