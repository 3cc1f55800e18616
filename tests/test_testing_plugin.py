"""The dtflw pytest plugin's Spark fixtures (`dtflw_spark`, `spark`, `local_runtime`) and helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

NO_PYSPARK_CONFTEST = """
import sys
import pytest

@pytest.fixture(scope="session", autouse=True)
def no_pyspark():
    saved = {k: v for k, v in sys.modules.items() if k == "pyspark" or k.startswith("pyspark.")}
    for k in saved:
        del sys.modules[k]
    sys.modules["pyspark"] = None  # import pyspark -> ImportError, as in a core install
    yield
    del sys.modules["pyspark"]
    sys.modules.update(saved)
"""


def test_spark_fixtures_skip_with_a_reason_without_pyspark(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(NO_PYSPARK_CONFTEST)
    pytester.makepyfile(
        """
        def test_session(spark):
            pass

        def test_runtime(local_runtime):
            pass

        def test_core_still_works(local_flow, fake_dbutils, writes_outputs, schema_only_spark):
            fake_dbutils.notebook.register("nb", writes_outputs("done"))
            assert local_flow.notebook("nb").output("T").run() == "done"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED*needs pyspark: pip install 'dtflw?local?'"] * 2)


def test_a_users_own_spark_fixture_wins(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def spark():
            return "my session"
        """
    )
    pytester.makepyfile(
        """
        def test_mine(spark):
            assert spark == "my session"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_cols_checked_without_spark_in_a_user_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(NO_PYSPARK_CONFTEST)
    pytester.makepyfile(
        """
        import pytest
        from dtflw import init_flow
        from dtflw.errors import SchemaMismatchError
        from dtflw.storage.local import LocalStorage

        def test_outputs(tmp_path, fake_dbutils, writes_outputs, schema_only_spark):
            storage = LocalStorage(tmp_path / "tables", spark=schema_only_spark)
            flow = init_flow(storage, dbutils=fake_dbutils)
            fake_dbutils.notebook.register("ingest", writes_outputs(cols={"Orders": "id BIGINT, day DATE"}))
            fake_dbutils.notebook.register("bad", writes_outputs(cols={"Orders": "id STRING"}))
            flow.notebook("ingest").output("Orders", cols="id BIGINT, day DATE").run()
            with pytest.raises(SchemaMismatchError, match="id .expected bigint, found string."):
                flow.notebook("bad").output("Orders", cols="id BIGINT").run()
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


NOTEBOOK = """# Databricks notebook source
day = dbutils.widgets.get("day")
df = spark.createDataFrame([(1, day), (2, day)], "id INT, day STRING")
df.write.mode("overwrite").parquet("dbfs:/out/orders")

# COMMAND ----------
dbutils.notebook.exit(f"wrote {df.count()}")
"""


@pytest.mark.spark
def test_local_runtime_runs_a_notebook_file_on_the_shared_session(
    local_runtime, dtflw_spark, spark, tmp_path: Path
) -> None:
    from dtflw.testing import assert_columns, assert_df_equal, write_parquet_stub

    assert spark is dtflw_spark
    notebook = tmp_path / "project" / "ingest.py"
    notebook.parent.mkdir()
    notebook.write_text(NOTEBOOK)
    assert local_runtime.run_notebook(notebook, {"day": "2024-01-01"}) == "wrote 2"

    written = dtflw_spark.read.parquet("file:" + str(tmp_path / "dbfs" / "out" / "orders"))
    assert_df_equal(written, [(2, "2024-01-01"), (1, "2024-01-01")], schema="id INT, day STRING")
    assert_columns(written, "id INT, day STRING")
    with pytest.raises(AssertionError, match="day: expected date, found string"):
        assert_columns(written, "id INT, day DATE")
    with pytest.raises(AssertionError):
        assert_df_equal(written, [(1, "2024-01-01")], schema="id INT, day STRING")

    stub = tmp_path / "stub"
    write_parquet_stub(stub, cols="id BIGINT, amount DECIMAL(10,2), at TIMESTAMP")
    df = dtflw_spark.read.parquet("file:" + str(stub))  # the stub is a parquet table Spark reads
    assert df.dtypes == [("id", "bigint"), ("amount", "decimal(10,2)"), ("at", "timestamp")] and df.count() == 0
