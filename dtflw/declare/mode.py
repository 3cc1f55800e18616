"""Declare-only mode: flows created inside the block declare, but `.run()` and `flow.run()`
execute nothing (the CLI's plan, graph and export use it to read a driver's declarations)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Mapping
from typing import Any

from dtflw.scoped import scoped

_declared_flows: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("dtflw_declare_only", default=None)


def declare_only() -> contextlib.AbstractContextManager[list[Any]]:
    """Within the block flows only declare; yields the list of flows created meanwhile."""
    return scoped(_declared_flows, [])  # type: ignore[arg-type]


def is_declare_only() -> bool:
    return _declared_flows.get() is not None


_collected_flows: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("dtflw_collect_flows", default=None)


def collecting_flows() -> contextlib.AbstractContextManager[list[Any]]:
    """Within the block every new Flow (run or declared) joins the yielded list: `dtflw run`
    gives them to its report (declared notebooks, their statuses, lineage)."""
    return scoped(_collected_flows, [])  # type: ignore[arg-type]


def register_flow(flow: Any) -> None:
    """Called by each new Flow: it joins the lists of `declare_only()` and `collecting_flows()`."""
    for flows in (_declared_flows.get(), _collected_flows.get()):
        if flows is not None:
            flows.append(flow)


_run_defaults: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "dtflw_run_defaults", default=None
)


def run_defaults(**options: Any) -> contextlib.AbstractContextManager[Mapping[str, Any] | None]:
    """Within the block `flow.run()` takes these keyword arguments (the command line's `--lazy`,
    `--only`, `--tags`, `--from`, `--to`, `--force`, `--resume`): `lazy` replaces the driver's,
    the others apply where the driver passed none. `resume` applies to each flow that recorded
    that run ("last": every flow); other flows run as they would."""
    given = {name: value for name, value in options.items() if value is not None}
    return scoped(_run_defaults, given)


def current_run_defaults() -> Mapping[str, Any]:
    return _run_defaults.get() or {}
