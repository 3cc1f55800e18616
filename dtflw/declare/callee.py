"""Callee side: `init_args`, `init_inputs`, `init_outputs` read the widgets a driver passed.

Widget names are `<name>` for arguments, `<name>_in` for inputs and `<name>_out` for outputs.
A notebook opened by hand after an interactive driver ran (or called `share_arguments()`) picks
up the values the driver last sent it, shared through `spark.conf` as dtflw 0.6.x did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError
from dtflw.sharing import share_arguments, shared_arguments

__all__ = ["Arg", "Input", "Output", "init_args", "init_inputs", "init_outputs", "share_arguments", "shared_arguments"]


class Arg:
    """A value a notebook received: `.name`, `.value` (a string) and `.has_value`."""

    suffix = ""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    @property
    def widget_name(self) -> str:
        return f"{self.name}{self.suffix}"

    @property
    def has_value(self) -> bool:
        return True

    @property
    def hasValue(self) -> bool:  # noqa: N802 - dtflw 0.6.x spelling
        return self.has_value

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, value={self.value!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.name, other.value) == (self.name, self.value)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, self.value))


class Input(Arg):
    """An input table's absolute path; empty for an optional input that does not exist."""

    suffix = "_in"

    @property
    def has_value(self) -> bool:
        return len(self.value) > 0


class Output(Arg):
    """The absolute path where an output table must be written."""

    suffix = "_out"

    @property
    def has_value(self) -> bool:
        return len(self.value) > 0


def _names_and_defaults(values: tuple[Any, ...]) -> dict[str, str]:
    if len(values) == 1 and isinstance(values[0], Mapping):
        pairs = dict(values[0])
    else:
        pairs = {name: "" for name in values}
    for name, default in pairs.items():
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
            raise InvalidArgumentError(f"Widget name must be a non-empty string without whitespace, got {name!r}.")
        if not isinstance(default, str):
            raise InvalidArgumentError(
                f"Default of '{name}' must be a string (widget values are strings), got {type(default).__name__}."
            )
    return pairs


def _init(kind: type[Arg], values: tuple[Any, ...]) -> dict[str, Any]:
    pairs = _names_and_defaults(values)
    dbutils = db.get_dbutils()
    shared: dict[str, str] | None = None
    result: dict[str, Any] = {}
    for name, default in pairs.items():
        widget = f"{name}{kind.suffix}"
        try:
            passed: str | None = dbutils.widgets.get(widget)
        except Exception:  # InputWidgetNotDefined (py4j on Databricks)
            passed = None
        if passed is None:
            if shared is None:
                shared = _shared_for_this_notebook(dbutils)
            default = shared.get(widget, default)
        dbutils.widgets.text(widget, default, widget)
        result[name] = kind(name, dbutils.widgets.get(widget))
    return result


def _shared_for_this_notebook(dbutils: Any) -> dict[str, str]:
    try:
        return shared_arguments(db.get_this_notebook_abs_path(dbutils))
    except Exception:  # no context available (e.g. serverless restrictions): nothing shared
        return {}


def init_args(*values: Any) -> dict[str, Arg]:
    """`init_args("a", "b")` or `init_args({"a": "default"})` -> {name: Arg}."""
    return _init(Arg, values)


def init_inputs(*values: Any) -> dict[str, Input]:
    """Like `init_args` for input tables (widgets `<name>_in`)."""
    return _init(Input, values)


def init_outputs(*values: Any) -> dict[str, Output]:
    """Like `init_args` for output tables (widgets `<name>_out`)."""
    return _init(Output, values)
