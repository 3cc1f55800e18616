"""pytest fixtures for testing dtflw pipelines without a cluster (registered via `pytest11` as `dtflw`).

Without pyspark (the core install):

- `fake_dbutils`: a FakeDbutils installed as the runtime's dbutils for the test.
- `local_storage`: a LocalStorage in a temporary directory.
- `local_flow`: a Flow on both, ready for `flow.notebook(...)`.
- `writes_outputs`: `dtflw.testing.writes_outputs`, a factory of notebook handlers that stub the
  callee's declared output tables (`fake_dbutils.notebook.register("nb", writes_outputs(cols=...))`).
- `schema_only_spark`: a `SchemaOnlySpark` (reads parquet schemas only) for `cols=` checks.

With pyspark (`pip install dtflw[local]`; without it these fixtures skip the test, saying why):

- `dtflw_spark` (session scope): one local SparkSession (Delta, Databricks paths mapped) shared by
  every test of the session; stopped at the end.
- `spark` (session scope): the same session. A `spark` fixture of your own (in a conftest.py or
  the test module) takes precedence over this one; `dtflw_spark` and `local_runtime` never use it.
- `local_runtime`: a `dtflw.local.runtime.LocalRuntime` with its dbfs:/ root in the test's
  temporary directory, on the shared session: `local_runtime.run_notebook("notebooks/main.py")`.

Engines: `pytest --dtflw-engine sail` (or `connect`, or `DTFLW_ENGINE=...`) runs these fixtures,
and every LocalRuntime the tests make, on that Spark engine. A test that cannot pass on an engine
says so with `@pytest.mark.dtflw_engine_gap(sail="why", connect="why")`: on that engine it is an
expected failure (strict: a test that starts passing is reported), never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dtflw.databricks as db
from dtflw.declare.flow import Flow, init_flow
from dtflw.errors import RuntimeNotAvailableError
from dtflw.storage.local import LocalStorage
from dtflw.testing.fake_dbutils import FakeDbutils
from dtflw.testing.outputs import OutputsWriter
from dtflw.testing.outputs import writes_outputs as _writes_outputs
from dtflw.testing.parquet import SchemaOnlySpark

if TYPE_CHECKING:
    from dtflw.local.runtime import LocalRuntime

NEEDS_PYSPARK = "needs pyspark: pip install 'dtflw[local]'"
ENGINES = ("local", "connect", "sail")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--dtflw-engine",
        choices=ENGINES,
        default=None,
        help="Spark engine for dtflw's local runtime in these tests (default: $DTFLW_ENGINE, else local)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dtflw_engine_gap(**reasons): expected to fail on the named Spark engines, for the given reason"
    )
    engine = config.getoption("--dtflw-engine", default=None)
    if engine:  # every LocalRuntime of the test process picks it up, also in subprocesses
        os.environ["DTFLW_ENGINE"] = engine


def current_engine() -> str:
    """The Spark engine this test process uses: what LocalRuntime would pick (`--dtflw-engine` /
    `DTFLW_ENGINE`, else the remote settings, else local)."""
    from dtflw.local.engines import resolve_engine  # light: no pyspark import

    return resolve_engine().engine.value


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = current_engine()
    for item in items:
        for mark in item.iter_markers("dtflw_engine_gap"):
            unknown = set(mark.kwargs) - set(ENGINES)
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: dtflw_engine_gap names unknown engines {sorted(unknown)}")
            if engine in mark.kwargs:
                item.add_marker(pytest.mark.xfail(strict=True, reason=f"engine {engine}: {mark.kwargs[engine]}"))


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
    """`writes_outputs(exit_value=None, dbutils=None, cols=None)`: a handler writing every `<name>_out` it gets."""
    return _writes_outputs


@pytest.fixture
def schema_only_spark() -> SchemaOnlySpark:
    """A SparkSession stand-in reading parquet schemas only: `LocalStorage(root, spark=schema_only_spark)`."""
    return SchemaOnlySpark()


def _runtime(root: Path) -> LocalRuntime:
    pytest.importorskip("pyspark", reason=NEEDS_PYSPARK)
    from dtflw.local.runtime import LocalRuntime

    return LocalRuntime(dbfs_root=root / "dbfs", run_dir=root / "run", progress=False)


def _session(runtime: LocalRuntime) -> Any:
    """The runtime's SparkSession (`runtime.spark`); skips the test when Spark cannot start."""
    try:
        return runtime.spark
    except RuntimeNotAvailableError as error:  # pyspark without Java, say
        pytest.skip(f"local Spark could not start: {error}")


@pytest.fixture(scope="session")
def dtflw_spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The local SparkSession every test of the session shares (skips the test without pyspark)."""
    spark = _session(_runtime(tmp_path_factory.mktemp("dtflw-spark")))
    try:
        yield spark
    finally:
        spark.stop()


@pytest.fixture(scope="session")
def spark(dtflw_spark: Any) -> Any:
    """`dtflw_spark` under the usual name; your own `spark` fixture overrides this one."""
    return dtflw_spark


@pytest.fixture
def local_runtime(tmp_path: Path, dtflw_spark: Any) -> LocalRuntime:
    """A LocalRuntime on the shared session, dbfs:/ under the test's temporary directory."""
    runtime = _runtime(tmp_path)
    _session(runtime)  # adopt the shared session with this runtime's roots
    return runtime
