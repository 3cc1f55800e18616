"""pytest fixtures for testing dtflw pipelines without a cluster (registered via `pytest11`).

- `fake_dbutils`: a FakeDbutils installed as the runtime's dbutils for the test.
- `local_storage`: a LocalStorage in a temporary directory.
- `local_flow`: a Flow on both, ready for `flow.notebook(...)`.
- `writes_outputs`: `dtflw.testing.write_outputs`, a factory of notebook handlers that stub the
  callee's declared output tables (`fake_dbutils.notebook.register("nb", writes_outputs())`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dtflw.databricks as db
from dtflw.declare.flow import Flow, init_flow
from dtflw.storage.local import LocalStorage
from dtflw.testing.fake_dbutils import FakeDbutils
from dtflw.testing.outputs import OutputsWriter, write_outputs


@pytest.fixture
def fake_dbutils(tmp_path: Path) -> Iterator[FakeDbutils]:
    """A FakeDbutils (user `user@example.com`, driver `/Users/user@example.com/project/main`)."""
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    with db.use_runtime(dbutils=dbutils):
        yield dbutils


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    """Tables as parquet under a temporary directory."""
    return LocalStorage(tmp_path / "tables")


@pytest.fixture
def local_flow(local_storage: LocalStorage, fake_dbutils: FakeDbutils) -> Flow:
    """A Flow on `local_storage` whose notebooks are `fake_dbutils` handlers."""
    return init_flow(local_storage, dbutils=fake_dbutils)


@pytest.fixture
def writes_outputs() -> OutputsWriter:
    """`write_outputs`: `writes_outputs(exit_value=None)` is a handler writing every `<name>_out` it gets."""
    return write_outputs
