"""Output-table stubs: notebook handlers that "write" the tables a callee declares, without Spark.

A flow passes every declared output to its notebook as a ``<name>_out`` argument holding the
table's absolute path. ``write_outputs()`` makes a ``FakeDbutils`` handler that creates a stub
table at each of those paths, so the flow's output checks, lazy runs and downstream inputs behave
as if the notebook had written real data::

    fake_dbutils.notebook.register("ingest", write_outputs())
    fake_dbutils.notebook.register("clean", write_outputs(exit_value="done"))

The stub is what Spark leaves for a finished parquet write: a folder with one ``part-*.parquet``
file and a ``_SUCCESS`` marker (it counts as complete for "parquet" and "delta" storages alike).
Local paths (``LocalStorage``) are written as they are; URIs such as ``dbfs:/...`` or
``/Volumes/...`` paths are mapped to local folders by the emulated dbutils (``FakeDbutils``'
``fs_root``): the one passed as ``dbutils=``, else the runtime's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from dtflw.databricks import get_dbutils
from dtflw.declare.callee import Output
from dtflw.emulated.dbutils import Handler
from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError

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


def write_parquet_stub(path: str | os.PathLike[str], dbutils: Any = None) -> None:
    """Make ``path`` look like a finished Spark parquet output.

    Creates the folder (and its parents) with ``part-00000.parquet`` and an empty ``_SUCCESS``;
    an existing stub is overwritten. A URI (``dbfs:/...``) is mapped through ``dbutils``'
    emulated file system (default: the runtime's dbutils).
    """
    folder = _local_folder(path, dbutils)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-00000.parquet").write_bytes(b"PAR1")
    (folder / "_SUCCESS").write_text("")


class OutputsWriter(Protocol):
    """The type of `write_outputs` (what the `writes_outputs` fixture gives a test)."""

    def __call__(self, exit_value: str | None = None, dbutils: Any = None) -> Handler: ...


def write_outputs(exit_value: str | None = None, dbutils: Any = None) -> Handler:
    """A notebook handler that stubs every ``<name>_out`` argument it gets and returns ``exit_value``.

    Arguments not ending in ``_out`` (inputs, parameters) are ignored. ``dbutils`` maps URIs
    such as ``dbfs:/...`` to local folders (see `write_parquet_stub`).
    """

    def handler(args: dict[str, str]) -> str | None:
        for key, value in args.items():
            if key.endswith(Output.NAME_SUFFIX):
                write_parquet_stub(value, dbutils)
        return exit_value

    return handler


__all__ = ["OutputsWriter", "write_outputs", "write_parquet_stub"]
