"""Per-notebook capture of printed output, safe with notebooks running in parallel threads.

While a local run is active, `sys.stdout`/`sys.stderr` are routing streams: text written inside
a cell goes to that cell's buffer (found through a context variable), anything else to the
real stream. Every write passes through the secret redactor, as Databricks output does.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from dtflw.quiet import is_quiet
from dtflw.scoped import scoped

_sink: contextvars.ContextVar[io.StringIO | None] = contextvars.ContextVar("dtflw_cell_sink", default=None)
_echo: contextvars.ContextVar[bool] = contextvars.ContextVar("dtflw_echo", default=False)
_lock = threading.Lock()
_installed = 0
_originals: tuple[TextIO, TextIO] | None = None


class RoutingStream(io.TextIOBase):
    """A text stream that writes to the current cell's buffer, else to `fallback`."""

    def __init__(self, fallback: TextIO, redact: Callable[[str], str]) -> None:
        self._fallback = fallback
        self._redact = redact

    def write(self, text: str) -> int:
        if is_quiet():
            return len(text)
        sink = _sink.get()
        safe = self._redact(text)
        if sink is not None:
            sink.write(safe)
        if sink is None or _echo.get():
            self._fallback.write(safe)
        return len(text)

    def flush(self) -> None:
        self._fallback.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]  # typeshed: a writable attribute; io's own is read-only
        return getattr(self._fallback, "encoding", "utf-8")


@contextlib.contextmanager
def routing_installed(redact: Callable[[str], str]) -> Iterator[None]:
    """Install routing streams for the duration of a run (nested runs share one install)."""
    global _installed, _originals
    with _lock:
        if _installed == 0:
            _originals = (sys.stdout, sys.stderr)
            sys.stdout = RoutingStream(_originals[0], redact)
            sys.stderr = RoutingStream(_originals[1], redact)
        _installed += 1
    try:
        yield
    finally:
        with _lock:
            _installed -= 1
            if _installed == 0 and _originals is not None:
                sys.stdout, sys.stderr = _originals
                _originals = None


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """Collect everything printed in this context (this thread and contexts copied from it)."""
    buffer = io.StringIO()
    with scoped(_sink, buffer):
        yield buffer


def echoing(echo: bool) -> contextlib.AbstractContextManager[bool]:
    """Also show captured output on the terminal as it is printed (the entry notebook's)."""
    return scoped(_echo, echo)


def is_echoing() -> bool:
    return _echo.get()


def real_stderr() -> TextIO:
    """The terminal's stderr even while routing is installed (for progress lines)."""
    return _originals[1] if _originals is not None else sys.stderr


def real_stdout() -> TextIO:
    """The terminal's stdout even while routing is installed."""
    return _originals[0] if _originals is not None else sys.stdout
