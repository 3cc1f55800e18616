"""The frozen declarations of a pipeline: one NotebookSpec per notebook, with its tables.

Specs are plain data: the builder (declare layer) produces them, the run layer executes them,
lineage and export read them. Name checks live here so every layer validates the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.model.schema import Schema

_BAD_NAME = re.compile(r"[\s/\\\x00-\x1f\x7f]")
MAX_NAME_LENGTH = 255


def check_name(kind: str, name: Any, notebook: str | None = None) -> str:
    """A table/notebook/argument name: non-empty, no whitespace, no `/`, not `..`."""
    where = f"Notebook '{notebook}': " if notebook else ""
    if not isinstance(name, str) or name == "":
        raise FlowDefinitionError(f"{where}{kind} name must be a non-empty string, got {name!r}.")
    if _BAD_NAME.search(name) or ".." in name or name == ".":
        raise FlowDefinitionError(
            f"{where}{kind} name {name!r} is invalid: it must not be '.' nor contain whitespace, control "
            "characters, '/', '\\' or '..'."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise FlowDefinitionError(
            f"{where}{kind} name {name[:40]!r}... has {len(name)} characters; at most {MAX_NAME_LENGTH} are allowed."
        )
    return name


def check_notebook_path(path: Any) -> str:
    """A notebook path: non-empty, no whitespace, no empty segments, `..` only as a whole segment."""
    if not isinstance(path, str) or not path.strip():
        raise FlowDefinitionError(f"Notebook path must be a non-empty string, got {path!r}.")
    if any(ch.isspace() or not ch.isprintable() for ch in path):
        raise FlowDefinitionError(
            f"Notebook path {path!r} is invalid: it must not contain whitespace or control characters."
        )
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for segment in segments:
        if segment == "" or (".." in segment and segment != ".."):
            raise FlowDefinitionError(f"Notebook path {path!r} is invalid: empty segment or '..' inside a name.")
    if segments[-1] in (".", ".."):
        raise FlowDefinitionError(f"Notebook path {path!r} is invalid: it names a folder, not a notebook.")
    return path


@attrs.frozen
class InputSpec:
    """A table a notebook reads: its name, resolved absolute path and where the path came from."""

    name: str
    path: str  # "" for an optional input that resolves to nothing
    source_table: str | None = None
    is_optional: bool = False
    producer: int | None = None  # declaration index of the producing notebook, if any
    explicit: bool = False  # path given with file_path=
    producers: tuple[int, ...] = ()  # every iteration of a for-each producer, when all of them are read
    template: str = ""  # a for-each iteration's input: the path with `{name}` placeholders it was filled from

    @property
    def widget(self) -> str:
        return f"{self.name}_in"

    @property
    def abs_file_path(self) -> str:
        """The resolved absolute path (dtflw 0.6.x name of `path`)."""
        return self.path


@attrs.frozen
class OutputSpec:
    """A table a notebook promises to write, published under `alias` (defaults to `name`)."""

    name: str
    path: str
    alias: str
    schema: Schema | None = None
    family: str = ""  # a for-each iteration's output: the path (folder or glob) of every iteration

    @property
    def widget(self) -> str:
        return f"{self.name}_out"

    @property
    def abs_file_path(self) -> str:
        """The absolute path (dtflw 0.6.x name of `path`)."""
        return self.path

    @property
    def cols(self) -> list[tuple[str, str | None]] | None:
        """The expected columns as `(name, type or None)` pairs (dtflw 0.6.x name), None if undeclared."""
        return None if self.schema is None else list(self.schema.columns)


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen(eq=False)
class NotebookSpec:
    """Everything declared about one notebook run; immutable once declared."""

    index: int
    path: str  # as declared (passed to dbutils.notebook.run)
    abs_path: str  # workspace path
    project_path: str  # path below the project folder (drives default output paths)
    args: Mapping[str, str] = attrs.field(converter=_frozen_map, factory=dict)
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    timeout: int = 0
    retries: int = 0
    retry_backoff_seconds: float = 0.0
    tags: frozenset[str] = frozenset()
    params: Mapping[str, str] = attrs.field(converter=_frozen_map, factory=dict)  # a for-each iteration's values
    group: int | None = None  # for-each iterations share it: the index of the group's first iteration
    concurrency: int = 0  # a for-each group's limit of iterations running at once (0: none)

    @property
    def label(self) -> str:
        """How results and plans name it: the path, and a for-each iteration's values."""
        if not self.params:
            return self.path
        return f"{self.path}[{', '.join(f'{k}={v}' for k, v in self.params.items())}]"

    def widget_values(self) -> dict[str, str]:
        """What the callee receives: args, `<input>_in` paths and `<output>_out` paths."""
        values = dict(self.args)
        values.update({i.widget: i.path for i in self.inputs})
        values.update({o.widget: o.path for o in self.outputs})
        return values
