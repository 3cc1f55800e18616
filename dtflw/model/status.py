"""The run vocabulary: how a notebook ended and what a plan decided, defined once.

Both enums are `str`-valued, so a status compares equal to its text (`RunStatus.FAILED ==
"failed"`), prints as its text, and lands in JSON (history, exports) as plain text.
"""

from __future__ import annotations

import enum
from typing import Literal, Union


class TextEnum(str, enum.Enum):
    """A str-valued enum that prints and formats as its value on every Python version."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class RunStatus(TextEnum):
    """How one notebook of a run ended."""

    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"
    UPSTREAM_FAILED = "upstream_failed"
    CANCELLED = "cancelled"  # interrupted while running, or never started because the run was interrupted

    @property
    def ok(self) -> bool:
        """True for outcomes that leave complete outputs behind (succeeded, skipped)."""
        return self in (RunStatus.SUCCEEDED, RunStatus.SKIPPED)

    @property
    def is_failure(self) -> bool:
        """True for outcomes that block everything downstream."""
        return self in (RunStatus.FAILED, RunStatus.UPSTREAM_FAILED)


class PlanAction(TextEnum):
    """What a plan decided for one notebook."""

    RUN = "run"
    SKIP = "skip"
    NOT_SELECTED = "not selected"


class FlowEventName(TextEnum):
    """The events a flow run delivers to hooks, in the order they happen."""

    FLOW_START = "flow_start"
    NOTEBOOK_START = "notebook_start"
    NOTEBOOK_END = "notebook_end"
    FLOW_END = "flow_end"


# `lazy=` of a run: False runs everything, True skips when outputs exist, "auto" compares
# fingerprints with the last successful run.
LazyMode = Union[bool, Literal["auto"]]


def as_status(value: RunStatus | str) -> RunStatus:
    """`value` as a RunStatus (attrs converter; a member passes through without an enum lookup)."""
    return value if value.__class__ is RunStatus else RunStatus(value)


def as_action(value: PlanAction | str) -> PlanAction:
    """`value` as a PlanAction (attrs converter, as `as_status`)."""
    return value if value.__class__ is PlanAction else PlanAction(value)


def as_event_name(value: FlowEventName | str) -> FlowEventName:
    """`value` as a FlowEventName (attrs converter, as `as_status`)."""
    return value if value.__class__ is FlowEventName else FlowEventName(value)


__all__ = [
    "TextEnum", "RunStatus", "PlanAction", "FlowEventName", "LazyMode", "as_status", "as_action", "as_event_name",
]  # fmt: skip
