"""A probe for tests: how many callers were inside a block at once."""

from __future__ import annotations

import threading
import time
from types import TracebackType


class Concurrency:
    """`with probe: ...` around the work; `probe.peak` is the most callers inside at once.
    `pause` seconds are spent inside, so that overlapping callers do overlap."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Concurrency:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.pause)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        with self._lock:
            self.now -= 1
