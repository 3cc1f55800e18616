"""The flow's progress log: plain lines a notebook user reads, through the `logging` module.

`LoggerBase` and `DefaultLogger` keep their dtflw 0.6.x names and contract: a subclass that
implements only `log(msg)` receives every line dtflw emits at its verbosity (`debug` lines, such
as input and output paths, reach `log` at "verbose"). `Logger` is dtflw's own logger.

Every line goes to the `logging` logger "dtflw" (or a child) when the user configured logging:
a handler on the root or on "dtflw", or a level set on "dtflw". Otherwise (a fresh notebook, a
plain script) the line is printed as before: no duplicates under `logging.basicConfig`, and
`logging.getLogger("dtflw").setLevel(logging.WARNING)` silences it.
"""

from __future__ import annotations

import logging
import sys
import warnings
from abc import ABC, abstractmethod
from typing import TextIO

VERBOSITY_LEVELS = ("silent", "default", "verbose")
_log = logging.getLogger("dtflw")


class LoggerBase(ABC):
    """Base of flow loggers. `verbosity`: "silent", "default" (runs/skips) or "verbose" (+paths).

    An unknown verbosity falls back to "default" with a warning (as dtflw 0.6.x, which fell back
    silently).
    """

    def __init__(self, verbosity: str = "default") -> None:
        self.verbosity = verbosity

    @property
    def verbosity(self) -> str:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: str) -> None:
        if value not in VERBOSITY_LEVELS:
            warnings.warn(
                f"Logger verbosity {value!r} is unknown; using 'default' (expected one of "
                f"{', '.join(VERBOSITY_LEVELS)}).",
                UserWarning,
                stacklevel=3,
            )
            value = "default"
        self._verbosity = value

    @abstractmethod
    def log(self, msg: str) -> None:
        """A line about the flow's progress (a notebook started, skipped, finished, failed)."""

    def debug(self, msg: str) -> None:
        """A detail line (input and output paths): passed to `log` at "verbose" only."""
        if self._verbosity == "verbose":
            self.log(msg)


def logging_configured(logger: logging.Logger = _log, level: int = logging.INFO) -> bool:
    """True when logging, as the user set it up, decides about dtflw's line at `level`: a level
    or handler set on `logger` or a dtflw ancestor (e.g. `getLogger("dtflw").setLevel(WARNING)`),
    or a handler further up that the line would reach at its level (`basicConfig(level=INFO)`).
    A root at its default WARNING level with some handler does not count: the line is printed."""
    current: logging.Logger | None = logger
    while current is not None and current.name != "root":
        if current.handlers or current.level != logging.NOTSET:
            return True
        current = current.parent if current.propagate else None
    return current is not None and bool(current.handlers) and logger.isEnabledFor(level)


def emit(level: int, msg: str, stream: TextIO | None = None, logger: logging.Logger = _log) -> None:
    """One progress line: to `logger` when logging is configured for it, else printed to
    `stream` (default: stdout at the time of the call), as a notebook user expects."""
    if logging_configured(logger, level):
        logger.log(level, msg)
    else:
        print(msg, file=stream or sys.stdout, flush=True)


class Logger(LoggerBase):
    """Flow progress through `logging` ("dtflw"); printed to `stream` (default: stdout) while
    logging is not configured. An explicit `stream` always gets the lines.

    "silent" emits nothing, "default" one line per notebook event, "verbose" adds paths.
    """

    def __init__(self, verbosity: str = "default", stream: TextIO | None = None) -> None:
        super().__init__(verbosity)
        self._stream = stream

    def log(self, msg: str) -> None:
        if self._verbosity != "silent":
            self._write(logging.INFO, msg)

    def debug(self, msg: str) -> None:
        if self._verbosity == "verbose":
            self._write(logging.DEBUG if logging_configured(_log, logging.DEBUG) else logging.INFO, msg)

    def _write(self, level: int, message: str) -> None:
        if self._stream is not None:
            print(message, file=self._stream, flush=True)
        else:
            emit(level, message)


def is_silent(logger: LoggerBase) -> bool:
    """True when `logger` is dtflw's own at "silent", so a line for it need not even be built
    (a subclass that writes lines itself is always asked)."""
    return type(logger).log is Logger.log and logger.verbosity == "silent"


# dtflw 0.6.x name of the default logger.
DefaultLogger = Logger

__all__ = ["VERBOSITY_LEVELS", "LoggerBase", "Logger", "DefaultLogger", "emit", "logging_configured"]
