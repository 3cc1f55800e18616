"""Unity Catalog names on the local session (dtflw.local.uc*): three-level names, catalogs, volumes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.spark


def test_three_level_names_catalogs_schemas_and_tables(spark_session: Any) -> None:
    from pyspark.errors import AnalysisException

    spark = spark_session.spark
    cat = f"uc{uuid.uuid4().hex[:6]}"
    try:
        spark.sql(f"CREATE CATALOG IF NOT EXISTS {cat}")
        spark.sql(f"USE CATALOG {cat}")
        assert spark.sql("SELECT current_catalog(), current_schema()").first() == (cat, "default")
        assert spark.catalog.currentCatalog() == cat
        spark.sql(f"CREATE SCHEMA {cat}.sales")
        spark.sql(f"CREATE TABLE {cat}.sales.orders (id INT, v STRING)")
        spark.sql(f"INSERT INTO {cat}.sales.orders VALUES (1, 'a'), (2, 'b')")
        spark.createDataFrame([(3, "c")], "id INT, v STRING").write.mode("append").saveAsTable(f"{cat}.sales.orders")
        assert [r.id for r in spark.table(f"{cat}.sales.orders").orderBy("id").collect()] == [1, 2, 3]
        spark.sql("USE SCHEMA sales")
        assert spark.sql("SELECT o.id FROM orders o WHERE o.id > 1").count() == 2
        assert spark.read.table("sales.orders").count() == 3
        assert cat in [r.catalog for r in spark.sql("SHOW CATALOGS").collect()]
        assert [r.databaseName for r in spark.sql(f"SHOW SCHEMAS IN {cat}").collect()] == ["default", "sales"]
        shown = spark.sql(f"SHOW TABLES IN {cat}.sales").collect()  # temp views of the shared session too
        assert [r.tableName for r in shown if not r.isTemporary] == ["orders"]
        assert (spark_session.dbfs_root / "__unitystorage" / cat / "sales" / "orders" / "_delta_log").is_dir()
        spark.sql(f"CREATE VOLUME {cat}.sales.raw")
        assert (spark_session.volumes_root / cat / "sales" / "raw").is_dir()
        for statement in (
            f"GRANT SELECT ON TABLE {cat}.sales.orders TO `analysts`",
            "CREATE EXTERNAL LOCATION loc URL 'abfss://c@a.dfs.core.windows.net/x' WITH (STORAGE CREDENTIAL cred)",
            f"ALTER TABLE {cat}.sales.orders OWNER TO `someone`",
        ):
            assert spark.sql(statement).collect() == []  # recorded, not enforced
        grants = spark.sql(f"SHOW GRANTS ON TABLE {cat}.sales.orders").collect()
        assert [(g.Principal, g.ActionType) for g in grants] == [("analysts", "SELECT")]
        with pytest.raises(AnalysisException, match=r"\[TABLE_OR_VIEW_NOT_FOUND\].*`nope`\.`a`\.`b`"):
            spark.sql("SELECT * FROM nope.a.b")
        with pytest.raises(AnalysisException, match=rf"TABLE_OR_VIEW_NOT_FOUND.*`{cat}`\.`sales`\.`missing`"):
            spark.table(f"{cat}.sales.missing")
        with pytest.raises(AnalysisException, match=r"\[NO_SUCH_CATALOG_EXCEPTION\] Catalog 'nope'"):
            spark.sql("USE CATALOG nope")
        spark.sql(f"DROP TABLE {cat}.sales.orders")
        assert not (spark_session.dbfs_root / "__unitystorage" / cat / "sales" / "orders").exists()
    finally:
        spark.sql("USE CATALOG hive_metastore")
    # two-level names in hive_metastore keep working
    spark.sql("CREATE SCHEMA IF NOT EXISTS legacy_db")
    spark.sql("CREATE OR REPLACE TABLE legacy_db.t (id INT)")
    spark.sql("INSERT INTO hive_metastore.legacy_db.t VALUES (7)")
    assert spark.table("legacy_db.t").first() == (7,)
    assert spark.sql("SELECT current_catalog()").first() == ("hive_metastore",)
    assert "legacy_db" in [r.databaseName for r in spark.sql("SHOW SCHEMAS").collect()]


def test_catalogs_persist_on_the_dbfs_root_for_a_new_session(spark_session: Any, tmp_path: Any) -> None:
    spark = spark_session.spark
    cat = f"uc{uuid.uuid4().hex[:6]}"
    spark.sql(f"CREATE CATALOG {cat}")
    spark.sql(f"CREATE SCHEMA {cat}.s")
    spark.range(4).write.saveAsTable(f"{cat}.s.t")
    code = (
        "from dtflw.local.session import SessionConfig, get_or_create_session\n"
        f"spark = get_or_create_session(SessionConfig(dbfs_root={str(spark_session.dbfs_root)!r},"
        f" run_dir={str(tmp_path / 'other-run')!r}))\n"
        "print('CATALOGS', sorted(r[0] for r in spark.sql('SHOW CATALOGS').collect()))\n"
        f"print('SCHEMAS', [r[0] for r in spark.sql('SHOW SCHEMAS IN {cat}').collect()])\n"
        f"print('COUNT', spark.table('{cat}.s.t').count())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert f"'{cat}'" in out.split("CATALOGS", 1)[1].splitlines()[0], out + result.stderr[-3000:]
    assert "SCHEMAS ['default', 's']" in out and "COUNT 4" in out, out + result.stderr[-3000:]
