"""Callee side: `init_args`, `init_inputs`, `init_outputs` read the widgets a driver passed.

Widget names are `<name>` for arguments, `<name>_in` for inputs and `<name>_out` for outputs.
A notebook opened by hand after an interactive driver ran (or called `share_arguments()`) picks
up the values the driver last sent it, shared through `spark.conf` as dtflw 0.6.x did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError
from dtflw.sharing import share_arguments, shared_arguments

__all__ = [
    "Argument",
    "Arg",
    "Input",
    "Output",
    "init_args",
    "init_inputs",
    "init_outputs",
    "share_arguments",
    "shared_arguments",
]


class Argument:
    """A value a notebook received: `.name`, `.value` (always a string) and `.has_value`.

    `str()` and `repr()` are the value itself, as in dtflw 0.6.x (`f"{args['year']}"`).
    """

    NAME_SUFFIX: ClassVar[str] = ""

    def __init__(self, name: str, value: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"{type(self).__name__} name must be a non-empty string, got {name!r}.")
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"{type(self).__name__} '{name}': value must be a string, got {type(value).__name__}."
            )
        self._name = name
        self._value = value

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> str:
        return self._value

    @classmethod
    def get_full_name(cls, name: str) -> str:
        """The widget that carries `name`: `<name>`, `<name>_in` or `<name>_out`."""
        return f"{name}{cls.NAME_SUFFIX}"

    @classmethod
    def create(cls, *values: Any) -> dict[str, Any]:
        """What `init_args` / `init_inputs` / `init_outputs` do, for this kind (dtflw 0.6.x)."""
        return _init(cls, values)

    @property
    def widget_name(self) -> str:
        return self.get_full_name(self._name)

    @property
    def has_value(self) -> bool:
        return True

    @property
    def hasValue(self) -> bool:  # noqa: N802 - dtflw 0.6.x spelling
        return self.has_value

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Argument)
            and type(other) is type(self)
            and (other.name, other.value)
            == (
                self.name,
                self.value,
            )
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._name, self._value))


class Input(Argument):
    """An input table's absolute path; empty for an optional input that does not exist."""

    NAME_SUFFIX = "_in"

    @property
    def has_value(self) -> bool:
        return len(self.value) > 0


class Output(Argument):
    """The absolute path where an output table must be written."""

    NAME_SUFFIX = "_out"

    @property
    def has_value(self) -> bool:
        return len(self.value) > 0


# Earlier 0.7 name of Argument.
Arg = Argument


def _names_and_defaults(values: tuple[Any, ...]) -> dict[str, str]:
    if len(values) == 1 and isinstance(values[0], Mapping):
        pairs = dict(values[0])
    else:
        pairs = {name: "" for name in values}
    for name in pairs:
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
            raise InvalidArgumentError(f"Widget name must be a non-empty string without whitespace, got {name!r}.")
    # Widget values are strings: other defaults are stringified (`init_args({"year": 2023})`), None is "".
    return {
        name: default if isinstance(default, str) else "" if default is None else str(default)
        for name, default in pairs.items()
    }


def _init(kind: type[Argument], values: tuple[Any, ...]) -> dict[str, Any]:
    pairs = _names_and_defaults(values)
    dbutils = db.get_dbutils()
    shared: dict[str, str] | None = None
    result: dict[str, Any] = {}
    for name, default in pairs.items():
        widget = kind.get_full_name(name)
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


def init_args(*values: Any) -> dict[str, Argument]:
    """`init_args("a", "b")` or `init_args({"a": "default"})` -> {name: Argument}."""
    return _init(Argument, values)


def init_inputs(*values: Any) -> dict[str, Input]:
    """Like `init_args` for input tables (widgets `<name>_in`)."""
    return _init(Input, values)


def init_outputs(*values: Any) -> dict[str, Output]:
    """Like `init_args` for output tables (widgets `<name>_out`)."""
    return _init(Output, values)
