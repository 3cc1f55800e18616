"""The flow's progress log: plain lines a notebook user reads, also sent to `logging`."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from dtflw.errors import InvalidArgumentError

VERBOSITY_LEVELS = ("silent", "default", "verbose")
_log = logging.getLogger("dtflw")


class Logger:
    """Prints flow progress. `verbosity`: "silent", "default" (runs/skips) or "verbose" (+paths)."""

    def __init__(self, verbosity: str = "default", stream: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self._stream = stream

    @property
    def verbosity(self) -> str:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: str) -> None:
        if value not in VERBOSITY_LEVELS:
            raise InvalidArgumentError(
                f"Logger verbosity {value!r} is invalid: expected one of {', '.join(VERBOSITY_LEVELS)}."
            )
        self._verbosity = value

    def log(self, message: str) -> None:
        """A line shown at "default" and "verbose"."""
        _log.info(message)
        if self._verbosity != "silent":
            self._write(message)

    def debug(self, message: str) -> None:
        """A line shown only at "verbose"."""
        _log.debug(message)
        if self._verbosity == "verbose":
            self._write(message)

    def _write(self, message: str) -> None:
        print(message, file=self._stream or sys.stdout, flush=True)


# dtflw 0.6.x name of the logger type.
DefaultLogger = Logger
LoggerBase = Logger
