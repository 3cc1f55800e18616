"""Marking dtflw's own chatty calls so output capture can drop what they print.

`dbutils.fs.put` prints "Wrote N bytes." for every pending marker and history record dtflw
writes. Storage wraps those calls in `quietly()`; the local runtime's output capture drops text
printed inside it. (On Databricks nothing reads the mark, and the lines appear as before.)
"""

from __future__ import annotations

import contextlib
import contextvars

from dtflw.scoped import scoped

_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("dtflw_quiet", default=False)


def quietly() -> contextlib.AbstractContextManager[bool]:
    """Within the block, what this context prints is dtflw's own noise."""
    return scoped(_quiet, True)


def is_quiet() -> bool:
    return _quiet.get()
