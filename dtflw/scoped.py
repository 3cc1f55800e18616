"""`scoped(var, value)`: set a context variable for the duration of a `with` block.

Per-run state (captured output, echo, quiet marks, declare-only mode) lives in context
variables so parallel notebook runs never see each other's; this is the one way they are set.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TypeVar

_T = TypeVar("_T")


@contextlib.contextmanager
def scoped(var: contextvars.ContextVar[_T], value: _T) -> Iterator[_T]:
    """`var` is `value` inside the block and what it was before afterwards; yields `value`."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)
