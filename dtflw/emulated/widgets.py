"""Emulated ``dbutils.widgets``: one notebook run's parameters.

Passed arguments win over widget defaults, re-declaring a widget never changes its value, and
arguments are readable with ``get`` even if never declared, as on Databricks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import attrs

from dtflw.emulated import help as _help
from dtflw.emulated.errors import InputWidgetNotDefined
from dtflw.errors import InvalidTypeError


@attrs.frozen
class WidgetSpec:
    """How a widget was declared (kind, default, choices, label); kept for introspection."""

    kind: str
    default: str
    choices: tuple[str, ...] = ()
    label: str | None = None


def _require_str(what: str, value: object) -> str:
    """Return ``value`` if it is a ``str``; widget names and values are strings only."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a str, got {type(value).__name__}: {value!r}")
    return value


def _require_name(name: object) -> str:
    """Validate a widget name: a non-empty string."""
    checked = _require_str("Widget name", name)
    if not checked:
        raise ValueError("Widget name must not be empty")
    return checked


def _require_choices(name: str, choices: Iterable[str]) -> tuple[str, ...]:
    """Validate ``choices``: a non-empty sequence of strings (a bare str is rejected)."""
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
        raise InvalidTypeError(f"Widget '{name}': choices must be a list of str, got {choices!r}")
    result = tuple(choices)
    for choice in result:
        _require_str(f"Widget '{name}' choice", choice)
    if not result:
        raise ValueError(f"Widget '{name}': choices must not be empty")
    return result


class Widgets:
    """Emulated ``dbutils.widgets`` for one run, seeded with the run's arguments (thread-safe)."""

    def __init__(self, arguments: Mapping[str, str] | None = None) -> None:
        self._lock = threading.RLock()
        self._arguments = self._check_arguments(arguments or {})
        self._values: dict[str, str] = dict(self._arguments)
        self._specs: dict[str, WidgetSpec] = {}

    @staticmethod
    def _check_arguments(arguments: Mapping[str, str]) -> dict[str, str]:
        """Copy the arguments, insisting on string names and values."""
        if not isinstance(arguments, Mapping):
            raise InvalidTypeError(f"Widget arguments must be a mapping of str to str, got {arguments!r}")
        for key, value in arguments.items():
            if key.__class__ is str and key and value.__class__ is str:
                continue  # the usual case, without building the messages below
            _require_name(key)
            _require_str(f"Value of argument '{key}'", value)
        return dict(arguments)

    def __repr__(self) -> str:
        return f"Widgets(names={sorted(self._values)!r})"

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.widgets`` (or one of them); returns ``None``."""
        return _help.print_help(_help.WIDGETS, method_name)

    # -- declaring ---------------------------------------------------------------------------

    def _declare(self, spec: WidgetSpec, name: str) -> None:
        """Record the widget; its value is the passed argument, else the default, else unchanged."""
        with self._lock:
            self._specs.setdefault(name, spec)
            if name not in self._values:
                self._values[name] = self._arguments.get(name, spec.default)

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        """Declare a free-text widget."""
        name = _require_name(name)
        _require_str(f"Default of widget '{name}'", defaultValue)
        self._declare(WidgetSpec("text", defaultValue, (), label), name)

    def dropdown(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:
        """Declare a single-choice widget; the default must be one of ``choices``."""
        name = _require_name(name)
        _require_str(f"Default of widget '{name}'", defaultValue)
        options = _require_choices(name, choices)
        if defaultValue not in options:
            raise ValueError(
                f"Widget '{name}': default value {defaultValue!r} is not one of the choices {list(options)!r}"
            )
        self._declare(WidgetSpec("dropdown", defaultValue, options, label), name)

    def combobox(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:
        """Declare a free-text widget with suggestions; the default need not be a choice."""
        name = _require_name(name)
        _require_str(f"Default of widget '{name}'", defaultValue)
        options = _require_choices(name, choices)
        self._declare(WidgetSpec("combobox", defaultValue, options, label), name)

    def multiselect(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:
        """Declare a multi-choice widget; its value is the selected choices joined by ``,``.

        ``defaultValue`` is one choice, or several already joined by ``,``; each must be a choice.
        """
        name = _require_name(name)
        _require_str(f"Default of widget '{name}'", defaultValue)
        options = _require_choices(name, choices)
        selected = [defaultValue] if defaultValue in options else defaultValue.split(",")
        unknown = [value for value in selected if value not in options]
        if unknown:
            raise ValueError(
                f"Widget '{name}': default value {defaultValue!r} is not one of the choices {list(options)!r}"
            )
        self._declare(WidgetSpec("multiselect", ",".join(selected), options, label), name)

    # -- reading -----------------------------------------------------------------------------

    def get(self, name: str) -> str:
        """The widget's value; raises ``InputWidgetNotDefined`` if neither declared nor passed."""
        _require_str("Widget name", name)
        with self._lock:
            try:
                return self._values[name]
            except KeyError:
                raise InputWidgetNotDefined(name) from None

    def getAll(self) -> dict[str, str]:
        """A snapshot of every widget's current value (declared or passed)."""
        with self._lock:
            return dict(self._values)

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:
        """Deprecated Databricks spelling: the value, or ``defaultValue`` when undefined."""
        with self._lock:
            return self._values.get(name, defaultValue)

    def spec(self, name: str) -> WidgetSpec | None:
        """How ``name`` was declared, or ``None`` if it was only passed (not part of dbutils)."""
        with self._lock:
            return self._specs.get(name)

    # -- removing ----------------------------------------------------------------------------

    def remove(self, name: str) -> None:
        """Remove a widget; re-declaring it later picks up the passed argument again, if any."""
        _require_str("Widget name", name)
        with self._lock:
            if name not in self._values:
                raise InputWidgetNotDefined(name)
            del self._values[name]
            self._specs.pop(name, None)

    def removeAll(self) -> None:
        """Remove every widget (passed arguments included)."""
        with self._lock:
            self._values.clear()
            self._specs.clear()
