"""Output-table stubs: notebook handlers that "write" the tables a callee declares, without Spark.

A flow passes every declared output to its notebook as a ``<name>_out`` argument holding the
table's absolute path. ``write_outputs()`` makes a ``FakeDbutils`` handler that creates a stub
table at each of those paths, so the flow's output checks, lazy runs and downstream inputs behave
as if the notebook had written real data::

    fake_dbutils.notebook.register("ingest", write_outputs())
    fake_dbutils.notebook.register("clean", write_outputs(exit_value="done"))

The stub is what Spark leaves for a finished parquet write: a folder with one ``part-*.parquet``
file and a ``_SUCCESS`` marker (it counts as complete for "parquet" and "delta" storages alike).
Only paths on the local disk can be stubbed (``LocalStorage``, or ``FakeDbutils``' ``fs_root``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from dtflw.declare.callee import Output
from dtflw.emulated.dbutils import Handler


def write_parquet_stub(path: str | os.PathLike[str]) -> None:
    """Make the local folder ``path`` look like a finished Spark parquet output.

    Creates the folder (and its parents) with ``part-00000.parquet`` and an empty ``_SUCCESS``;
    an existing stub is overwritten.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-00000.parquet").write_bytes(b"PAR1")
    (folder / "_SUCCESS").write_text("")


class OutputsWriter(Protocol):
    """The type of `write_outputs` (what the `writes_outputs` fixture gives a test)."""

    def __call__(self, exit_value: str | None = None) -> Handler: ...


def write_outputs(exit_value: str | None = None) -> Handler:
    """A notebook handler that stubs every ``<name>_out`` argument it gets and returns ``exit_value``.

    Arguments not ending in ``_out`` (inputs, parameters) are ignored.
    """

    def handler(args: dict[str, str]) -> str | None:
        for key, value in args.items():
            if key.endswith(Output.suffix):
                write_parquet_stub(value)
        return exit_value

    return handler


__all__ = ["OutputsWriter", "write_outputs", "write_parquet_stub"]
