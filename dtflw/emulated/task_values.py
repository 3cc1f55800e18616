"""Emulated ``dbutils.jobs.taskValues``: small JSON values passed between tasks of one job run."""

from __future__ import annotations

import json
import threading
from collections.abc import MutableMapping
from typing import Any

from dtflw.emulated import help as _help
from dtflw.errors import InvalidTypeError

MAX_VALUE_BYTES = 48 * 1024
_OUTSIDE_JOB = "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."

#: Shared store: (task key, value key) -> JSON text of the value.
TaskValueStore = MutableMapping[tuple[str, str], str]


class TaskValues:
    """``set``/``get`` of task values; one store is shared by all tasks of a run.

    ``task_key`` names the task that calls ``set``. Values are kept as JSON text, so ``get``
    returns a fresh copy, like a real round trip through the Jobs service.
    """

    def __init__(
        self,
        in_job: bool = False,
        store: TaskValueStore | None = None,
        task_key: str = "main",
    ) -> None:
        self.in_job = in_job
        self.task_key = task_key
        self._store: TaskValueStore = store if store is not None else {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TaskValues(in_job={self.in_job!r}, task_key={self.task_key!r})"

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.jobs.taskValues`` (or one of them); returns ``None``."""
        return _help.print_help(_help.TASK_VALUES, method_name)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value (JSON form at most 48 KiB) under this task."""
        if not isinstance(key, str) or not key:
            raise InvalidTypeError(f"Task value key must be a non-empty str, got {key!r}")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Task value '{key}' is not JSON-serialisable: {error}") from error
        size = len(text.encode("utf-8"))
        if size > MAX_VALUE_BYTES:
            raise ValueError(
                f"Task value '{key}' is {size} bytes as JSON; the limit is {MAX_VALUE_BYTES} bytes (48 KiB)"
            )
        with self._lock:
            self._store[(self.task_key, key)] = text

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        """Value set by task ``taskKey``; outside a job, ``debugValue`` (which must not be None)."""
        if not isinstance(taskKey, str) or not isinstance(key, str):
            raise InvalidTypeError(f"taskKey and key must be str, got {taskKey!r} and {key!r}")
        if not self.in_job:
            if debugValue is None:
                raise InvalidTypeError(_OUTSIDE_JOB)
            return debugValue
        with self._lock:
            text = self._store.get((taskKey, key))
        if text is not None:
            return json.loads(text)
        if default is not None:
            return default
        raise ValueError(f"No task value '{key}' was set by task '{taskKey}' in this job run, and no default was given")
