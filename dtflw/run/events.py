"""Events a flow run emits (flow_start, notebook_start, notebook_end, flow_end) and hook delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.model.status import FlowEventName, as_event_name

EVENTS: tuple[str, ...] = tuple(e.value for e in FlowEventName)

_log = logging.getLogger("dtflw")


@attrs.frozen
class FlowEvent:
    """What a hook receives: the event, the run, and (for notebook events) the notebook and result."""

    name: FlowEventName = attrs.field(converter=as_event_name)
    run_id: str
    flow: str
    notebook: str | None = None
    result: NotebookResult | FlowRunResult | None = None  # notebook_end / flow_end


Hook = Callable[[FlowEvent], Any]
EventSink = Callable[[FlowEvent], None]


def ignore_event(_event: FlowEvent) -> None:
    """The event sink of a run nobody listens to."""


def fire_hooks(hooks: Mapping[str, Sequence[Hook]], event: FlowEvent, log: Callable[[str], None]) -> None:
    """Call each hook for `event`; a hook that raises is logged and ignored."""
    for hook in hooks.get(event.name.value, ()):
        try:
            hook(event)
        except Exception as error:
            name = getattr(hook, "__name__", type(hook).__name__)
            log(f"Hook {name!r} for {event.name.value} raised {type(error).__name__}: {error} (ignored)")
