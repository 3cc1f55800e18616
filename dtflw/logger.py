"""The flow's progress log: plain lines a notebook user reads, also sent to `logging`.

`LoggerBase` and `DefaultLogger` keep their dtflw 0.6.x names and contract: a subclass that
implements only `log(msg)` receives every line dtflw emits at its verbosity (`debug` lines, such
as input and output paths, reach `log` at "verbose"). `Logger` is dtflw's own logger.
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


class Logger(LoggerBase):
    """Prints flow progress to `stream` (default: stdout) and sends it to `logging` ("dtflw").

    "silent" prints nothing, "default" one line per notebook event, "verbose" adds paths.
    """

    def __init__(self, verbosity: str = "default", stream: TextIO | None = None) -> None:
        super().__init__(verbosity)
        self._stream = stream

    def log(self, msg: str) -> None:
        _log.info(msg)
        if self._verbosity != "silent":
            self._write(msg)

    def debug(self, msg: str) -> None:
        _log.debug(msg)
        if self._verbosity == "verbose":
            self._write(msg)

    def _write(self, message: str) -> None:
        print(message, file=self._stream or sys.stdout, flush=True)


# dtflw 0.6.x name of the default logger.
DefaultLogger = Logger

__all__ = ["VERBOSITY_LEVELS", "LoggerBase", "Logger", "DefaultLogger"]
