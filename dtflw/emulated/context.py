"""The notebook context chain: ``dbutils.notebook.entry_point.getDbutils().notebook().getContext()``.

Mimics the py4j/Scala objects user code walks (``Option`` with ``get``/``isDefined``, tag maps with
``apply``) so "who/where am I" code runs unchanged outside Databricks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from dtflw.emulated.errors import NoSuchElementException
from dtflw.errors import InvalidTypeError


class Option:
    """Scala ``Option``: either holds a value (``Some``) or is empty (``None``)."""

    def __init__(self, value: Any = None, defined: bool | None = None) -> None:
        self._value = value
        self._defined = value is not None if defined is None else defined

    @classmethod
    def empty(cls) -> Option:
        """The empty Option (Scala ``None``)."""
        return cls(None, False)

    def __repr__(self) -> str:
        return f"Some({self._value!r})" if self._defined else "None"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Option):
            return NotImplemented
        return (self._defined, self._value) == (other._defined, other._value)

    def __hash__(self) -> int:
        return hash((self._defined, self._value))

    def isDefined(self) -> bool:
        """True if a value is present."""
        return self._defined

    def isEmpty(self) -> bool:
        """True if no value is present."""
        return not self._defined

    def get(self) -> Any:
        """The value; raises ``NoSuchElementException: None.get`` when empty."""
        if not self._defined:
            raise NoSuchElementException("None.get")
        return self._value

    def getOrElse(self, default: Any) -> Any:
        """The value, else ``default`` (called first if callable, like Scala's by-name argument)."""
        if self._defined:
            return self._value
        return default() if callable(default) else default


class Tags:
    """Scala ``Map[String, String]`` view: ``apply`` raises on a missing key, ``get`` returns an Option."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def __repr__(self) -> str:
        return f"Tags({self._values!r})"

    def apply(self, key: str) -> str:
        """The value; raises ``NoSuchElementException: key not found: <key>`` if absent."""
        try:
            return self._values[key]
        except KeyError:
            raise NoSuchElementException(f"key not found: {key}") from None

    def get(self, key: str) -> Option:
        """The value as an Option."""
        if key in self._values:
            return Option(self._values[key], True)
        return Option.empty()

    def getOrElse(self, key: str, default: Any) -> Any:
        """The value, else ``default`` (called first if callable)."""
        return self.get(key).getOrElse(default)

    def contains(self, key: str) -> bool:
        """True if ``key`` is present."""
        return key in self._values

    def asDict(self) -> dict[str, str]:
        """A plain ``dict`` copy (not part of the Scala API)."""
        return dict(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, key: str) -> str:
        return self.apply(key)

    def keys(self) -> list[str]:
        """The tag names (lets ``dict(tags)`` work)."""
        return list(self._values)


def _str_map(value: Mapping[str, str]) -> dict[str, str]:
    """Converter: copy a mapping, insisting on string keys and values (context values are strings)."""
    result = dict(value)
    for key, item in result.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidTypeError(f"Context entries must be str -> str, got {key!r}: {item!r}")
    return result


def _absolute_path(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Validator: notebook paths are absolute workspace paths."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"notebook_path must be an absolute workspace path, got {value!r}")


@attrs.frozen
class NotebookContext:
    """What ``getContext()`` returns: notebook path, user, tags, extra context and run id.

    ``tags`` always include ``user``; job tags (``jobId``, ``jobType`` …) only in job runs;
    ``extraContext`` always includes ``notebook_path``.
    """

    notebook_path: str = attrs.field(validator=_absolute_path)
    user: str = attrs.field(validator=attrs.validators.instance_of(str))
    _tags: dict[str, str] = attrs.field(factory=dict, converter=_str_map, alias="tags")
    extra: dict[str, str] = attrs.field(factory=dict, converter=_str_map)
    current_run_id: str | None = None

    def notebookPath(self) -> Option:
        """Workspace path of the running notebook (no extension)."""
        return Option(self.notebook_path, True)

    def userName(self) -> Option:
        """The user running the notebook."""
        return Option(self.user, True)

    def tags(self) -> Tags:
        """Context tags; ``user`` is always present."""
        return Tags({**self._tags, "user": self.user})

    def extraContext(self) -> Tags:
        """Extra context; ``notebook_path`` is always present."""
        return Tags({**self.extra, "notebook_path": self.notebook_path})

    def currentRunId(self) -> Option:
        """Run id of the current (child) run, empty for an interactive top-level notebook."""
        return Option(self.current_run_id, self.current_run_id is not None)

    def jobId(self) -> Option:
        """The ``jobId`` tag (empty outside jobs)."""
        return self.tags().get("jobId")

    def idInJob(self) -> Option:
        """The ``idInJob`` tag (empty outside jobs)."""
        return self.tags().get("idInJob")

    def jobTaskType(self) -> Option:
        """The ``jobTaskType`` tag (empty outside jobs)."""
        return self.tags().get("jobTaskType")

    def browserHostName(self) -> Option:
        """The ``browserHostName`` tag, if configured."""
        return self.tags().get("browserHostName")

    def apiUrl(self) -> Option:
        """The ``api_url`` extra context entry, if configured."""
        return self.extraContext().get("api_url")

    def apiToken(self) -> Option:
        """The ``api_token`` extra context entry, if configured (never set by dtflw)."""
        return self.extraContext().get("api_token")

    def toJson(self) -> str:
        """JSON with ``tags``, ``extraContext`` and ``currentRunId`` (``{"id": ...}`` or null)."""
        run_id = None if self.current_run_id is None else {"id": self.current_run_id}
        return json.dumps(
            {
                "tags": self.tags().asDict(),
                "extraContext": self.extraContext().asDict(),
                "currentRunId": run_id,
            }
        )


@attrs.frozen
class _NotebookHandle:
    """``getDbutils().notebook()``: gives the current context."""

    get_context: Callable[[], NotebookContext]

    def getContext(self) -> NotebookContext:
        """The context of the notebook running in the calling thread/run."""
        return self.get_context()


@attrs.frozen
class _DbutilsHandle:
    """``entry_point.getDbutils()``."""

    get_context: Callable[[], NotebookContext]

    def notebook(self) -> _NotebookHandle:
        """The notebook handle of the chain."""
        return _NotebookHandle(self.get_context)


@attrs.frozen
class EntryPoint:
    """``dbutils.notebook.entry_point``; ``get_context`` is called on every lookup (per run/thread)."""

    get_context: Callable[[], NotebookContext]

    def getDbutils(self) -> _DbutilsHandle:
        """Start of the context chain."""
        return _DbutilsHandle(self.get_context)
