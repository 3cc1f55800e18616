"""Declare-only mode: flows created inside the block declare, but `.run()` and `flow.run()`
execute nothing (the CLI's plan, graph and export use it to read a driver's declarations)."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any

from dtflw.scoped import scoped

_declared_flows: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("dtflw_declare_only", default=None)


def declare_only() -> contextlib.AbstractContextManager[list[Any]]:
    """Within the block flows only declare; yields the list of flows created meanwhile."""
    return scoped(_declared_flows, [])  # type: ignore[arg-type]


def is_declare_only() -> bool:
    return _declared_flows.get() is not None


def register_flow(flow: Any) -> None:
    """Called by each new Flow: inside `declare_only()` it joins the yielded list."""
    flows = _declared_flows.get()
    if flows is not None:
        flows.append(flow)
