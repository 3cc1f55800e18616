"""The validated arguments of `flow.run()` and `flow.plan()`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import attrs

from dtflw.errors import InvalidArgumentError
from dtflw.model.status import LazyMode
from dtflw.run.decide import check_lazy
from dtflw.run.select import Patterns

# force=: True (every selected notebook), False/None (none) or notebook patterns.
Force = Union[bool, str, Sequence[str], None]


def _check_workers(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"max_workers must be an int >= 1, got {value!r}.")


def _check_patterns(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) and v for v in value):
        raise InvalidArgumentError(f"{attribute.name} must be a notebook pattern or a list of them, got {value!r}.")
    if not value:
        raise InvalidArgumentError(
            f"{attribute.name}=[] selects no notebook; leave {attribute.name} out (None) to select all."
        )


def _check_force(_instance: object, attribute: attrs.Attribute[Force], value: object) -> None:
    if isinstance(value, bool):
        return
    _check_patterns(_instance, attribute, value)


def _check_resume(_instance: object, _attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidArgumentError(f"resume must be a run id or 'last', got {value!r}.")


@attrs.frozen
class RunOptions:
    """How to run a flow: parallelism, laziness, selection, forcing and resuming."""

    max_workers: int = attrs.field(default=4, validator=_check_workers)
    lazy: LazyMode = attrs.field(default=False, converter=check_lazy)
    only: Patterns = attrs.field(default=None, validator=_check_patterns)
    tags: Patterns = attrs.field(default=None, validator=_check_patterns)
    from_: Patterns = attrs.field(default=None, validator=_check_patterns)
    to: Patterns = attrs.field(default=None, validator=_check_patterns)
    force: Force = attrs.field(default=None, validator=_check_force)
    resume: str | None = attrs.field(default=None, validator=_check_resume)
