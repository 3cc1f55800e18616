"""Keeping CPython's full garbage collections cheap while a large run is under way."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Leave the objects that exist when a run starts out of the collector's scans until it ends.

    A run of thousands of notebooks keeps a few objects per notebook alive (records, results);
    each time they pile up, CPython's full collection walks every tracked object of the process
    again (the declared specs, the user's own data): 2 x 60 ms for 10,000 notebooks. `gc.freeze`
    moves the objects that exist now out of those scans; they go back at the end. Nothing is
    frozen when the process froze objects itself, or turned the collector off.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
