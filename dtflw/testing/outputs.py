"""Output-table stubs: notebook handlers that "write" the tables a callee declares, without Spark.

A flow passes every declared output to its notebook as a ``<name>_out`` argument holding the
table's absolute path. ``writes_outputs()`` (alias ``write_outputs``) makes a ``FakeDbutils``
handler that creates a stub table at each of those paths, so the flow's output checks, lazy runs
and downstream inputs behave as if the notebook had written real data::

    fake_dbutils.notebook.register("ingest", writes_outputs())
    fake_dbutils.notebook.register("clean", writes_outputs(exit_value="done"))
    fake_dbutils.notebook.register("load", writes_outputs(cols={"Orders": "id BIGINT, day DATE"}))

The stub is what Spark leaves for a finished parquet write: a folder with one ``part-*.parquet``
file (a real parquet file, no rows, with the given columns) and a ``_SUCCESS`` marker (it counts
as complete for "parquet" and "delta" storages alike).
Local paths (``LocalStorage``) are written as they are; URIs such as ``dbfs:/...`` or
``/Volumes/...`` paths are mapped to local folders by the emulated dbutils (``FakeDbutils``'
``fs_root``): the one passed as ``dbutils=``, else the runtime's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from dtflw.databricks import get_dbutils
from dtflw.declare.callee import Output
from dtflw.emulated.dbutils import Handler
from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError
from dtflw.testing.parquet import parquet_bytes

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^/Volumes/")


def _local_folder(path: str | os.PathLike[str], dbutils: Any) -> Path:
    """`path` itself when it is local, else the folder an emulated dbutils maps the URI to."""
    text = os.fspath(path)
    if not _URI.match(text):
        return Path(text)
    if dbutils is None:
        try:
            dbutils = get_dbutils()
        except RuntimeNotAvailableError:
            dbutils = None
    path_map = getattr(dbutils, "path_map", None)
    if path_map is None:
        raise InvalidArgumentError(
            f"Cannot stub {text!r}: it is not a local path. Pass dbutils= (a FakeDbutils, whose fs_root "
            "holds dbfs:/ and /Volumes/ paths) or install one with dtflw.databricks.use_runtime()."
        )
    local: Path = path_map.to_local(text)
    return local


def write_parquet_stub(path: str | os.PathLike[str], dbutils: Any = None, cols: Any = None) -> None:
    """Make ``path`` look like a finished Spark parquet output.

    Creates the folder (and its parents) with ``part-00000.parquet`` and an empty ``_SUCCESS``;
    an existing stub is overwritten. The part file is a real parquet file without rows whose
    schema has the columns ``cols`` (as ``.output(cols=...)`` takes them: ``[(name, type)]`` or a
    DDL string; none by default), so Spark (or ``SchemaOnlySpark``) reads it and dtflw's ``cols=``
    checks pass. A URI (``dbfs:/...``) is mapped through ``dbutils``' emulated file system
    (default: the runtime's dbutils).
    """
    folder = _local_folder(path, dbutils)
    data = parquet_bytes(cols)  # bad column types fail before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*"):
        old.unlink()
    (folder / "part-00000.parquet").write_bytes(data)
    (folder / "_SUCCESS").write_text("")


class OutputsWriter(Protocol):
    """The type of `writes_outputs` (what the `writes_outputs` fixture gives a test)."""

    def __call__(
        self, exit_value: str | None = None, dbutils: Any = None, cols: Mapping[str, Any] | None = None
    ) -> Handler: ...


def writes_outputs(
    exit_value: str | None = None, dbutils: Any = None, cols: Mapping[str, Any] | None = None
) -> Handler:
    """A notebook handler that stubs every ``<name>_out`` argument it gets and returns ``exit_value``.

    ``cols`` maps an output name (``"Orders"``; ``"Orders_out"`` works too) to its columns, as
    ``.output(name, cols=...)`` takes them, so the flow's column checks pass::

        dbutils.notebook.register("ingest", writes_outputs(cols={"Orders": "id BIGINT, day DATE"}))

    Outputs not in ``cols`` get a parquet file without columns. Arguments not ending in ``_out``
    (inputs, parameters) are ignored. ``dbutils`` maps URIs such as ``dbfs:/...`` to local folders
    (see `write_parquet_stub`).
    """
    wanted = {_output_name(k): v for k, v in (cols or {}).items()}
    for spec in wanted.values():
        parquet_bytes(spec)  # fail at registration, not inside the flow run, on a bad column type
    suffix = Output.NAME_SUFFIX

    def handler(args: dict[str, str]) -> str | None:
        for key, value in args.items():
            if key.endswith(suffix):
                write_parquet_stub(value, dbutils, wanted.get(key[: -len(suffix)]))
        return exit_value

    return handler


def _output_name(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(f"writes_outputs cols: keys are output names, got {key!r}.")
    return key[: -len(Output.NAME_SUFFIX)] if key.endswith(Output.NAME_SUFFIX) else key


write_outputs = writes_outputs  # the earlier name (same function)


__all__ = ["OutputsWriter", "write_outputs", "write_parquet_stub", "writes_outputs"]
