"""Input and output table specs, name validation, and static table resolution.

Resolution is static: an input named X resolves to the output X (or alias X) of the latest
notebook declared before the consumer. The catalog records producers in declaration order.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.schema import Schema

_BAD_NAME = re.compile(r"[\s/\\]")


def check_name(kind: str, name: Any, notebook: str | None = None) -> str:
    """A table/notebook/argument name: non-empty, no whitespace, no `/`, not `..`."""
    where = f"Notebook '{notebook}': " if notebook else ""
    if not isinstance(name, str) or name == "":
        raise FlowDefinitionError(f"{where}{kind} name must be a non-empty string, got {name!r}.")
    if _BAD_NAME.search(name) or ".." in name:
        raise FlowDefinitionError(
            f"{where}{kind} name {name!r} is invalid: it must not contain whitespace, '/', '\\' or '..'."
        )
    return name


@attrs.frozen
class InputSpec:
    """A table a notebook reads: its name, resolved absolute path and where the path came from."""

    name: str
    path: str  # "" for an optional input that resolves to nothing
    source_table: str | None = None
    is_optional: bool = False
    producer: int | None = None  # declaration index of the producing notebook, if any
    explicit: bool = False  # path given with file_path=

    @property
    def widget(self) -> str:
        return f"{self.name}_in"


@attrs.frozen
class OutputSpec:
    """A table a notebook promises to write, published under `alias` (defaults to `name`)."""

    name: str
    path: str
    alias: str
    schema: Schema | None = None

    @property
    def widget(self) -> str:
        return f"{self.name}_out"


@attrs.frozen
class Publication:
    """One producer of a table name: which notebook (declaration index, path) and where."""

    index: int
    notebook: str
    path: str


class TableCatalog:
    """Producers of every table name, in declaration order; answers static resolution."""

    def __init__(self) -> None:
        self._producers: dict[str, list[Publication]] = {}

    def declare(self, index: int, notebook: str, outputs: tuple[OutputSpec, ...]) -> None:
        """Register the outputs of the notebook declared at `index`."""
        for out in outputs:
            self._producers.setdefault(out.alias, []).append(Publication(index, notebook, out.path))

    def resolve(self, name: str, before: int | None = None) -> Publication | None:
        """Latest producer of `name` declared before index `before` (any, when None)."""
        pubs = self._producers.get(name)
        if not pubs:
            return None
        if before is None:
            return pubs[-1]
        for pub in reversed(pubs):
            if pub.index < before:
                return pub
        return None

    def names(self) -> list[str]:
        return list(self._producers)

    def producers(self, name: str) -> list[Publication]:
        return list(self._producers.get(name, ()))
