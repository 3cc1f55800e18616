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


_resume: contextvars.ContextVar[str | None] = contextvars.ContextVar("dtflw_resume", default=None)


def resuming(run_id: str) -> contextlib.AbstractContextManager[str | None]:
    """Within the block `flow.run()` without `resume=` resumes `run_id` ("last" or a run id) for
    each flow that recorded it (`dtflw run --resume`); other flows run as they would."""
    return scoped(_resume, run_id)


def default_resume() -> str | None:
    return _resume.get()
