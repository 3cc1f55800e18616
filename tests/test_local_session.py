"""dtflw.local.session: the local SparkSession and Databricks paths for Spark I/O (real Spark + Delta)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError
from dtflw.local import session as sess

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dtflw.emulated.paths import PathMap

pytestmark = pytest.mark.spark


class SparkEnv(Protocol):
    """What the `spark_session` fixture (tests/spark_fixtures.py, a conftest plugin) yields."""

    @property
    def spark(self) -> SparkSession: ...

    @property
    def path_map(self) -> PathMap: ...

    @property
    def dbfs_root(self) -> Path: ...

    @property
    def volumes_root(self) -> Path: ...

    @property
    def cloud_root(self) -> Path: ...

    @property
    def run_dir(self) -> Path: ...


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".parquet" or p.name.endswith(".csv"))


# -- dbfs:, scheme-less, /Volumes, file: ------------------------------------------------------------


def test_read_csv_from_dbfs_uri(spark_session: SparkEnv) -> None:
    uri = f"dbfs:/FileStore/{_unique('x')}.csv"
    local = spark_session.path_map.to_local(uri)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text("a,b\n1,x\n2,y\n")

    rows = spark_session.spark.read.csv(uri, header=True).orderBy("a").collect()

    assert [(r.a, r.b) for r in rows] == [("1", "x"), ("2", "y")]


def test_scheme_less_path_means_dbfs(spark_session: SparkEnv) -> None:
    spark = spark_session.spark
    path = f"/tmp/{_unique('x')}"

    spark.createDataFrame([(1, "a")], "id INT, v STRING").write.csv(path)

    local = spark_session.path_map.to_local(path)
    assert local == spark_session.dbfs_root / path.lstrip("/")
    assert (local / "_SUCCESS").is_file() and _data_files(local)
    assert not Path(path).exists()  # not the real /tmp
    assert spark.read.csv("dbfs:" + path).count() == 1


def test_delta_save_forpath_and_merge(spark_session: SparkEnv) -> None:
    from delta.tables import DeltaTable

    spark = spark_session.spark
    uri = f"dbfs:/{_unique('t')}"
    spark.createDataFrame([(1, "a"), (2, "b")], "id INT, v STRING").write.format("delta").save(uri)

    log = spark_session.dbfs_root / uri[len("dbfs:/") :] / "_delta_log"
    assert (log / "00000000000000000000.json").is_file()

    table = DeltaTable.forPath(spark, uri)
    updates = spark.createDataFrame([(2, "B"), (3, "c")], "id INT, v STRING")
    (
        table.alias("t")
        .merge(updates.alias("u"), "t.id = u.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )

    assert (log / "00000000000000000001.json").is_file()
    scheme_less = uri[len("dbfs:") :]
    rows = spark.read.format("delta").load(scheme_less).orderBy("id").collect()
    assert [(r.id, r.v) for r in rows] == [(1, "a"), (2, "B"), (3, "c")]
    assert DeltaTable.isDeltaTable(spark, uri)


def test_parquet_to_volumes_lands_where_pathmap_says(spark_session: SparkEnv) -> None:
    spark = spark_session.spark
    uri = f"/Volumes/c/s/v/{_unique('p')}"

    spark.range(3).write.parquet(uri)

    local = spark_session.path_map.to_local(uri)
    assert local.is_relative_to(spark_session.volumes_root)
    assert (local / "_SUCCESS").is_file() and _data_files(local)
    assert spark.read.parquet("dbfs:" + uri).count() == 3  # dbfs:/Volumes/... is the same place


def test_file_uris_stay_on_the_local_disk(spark_session: SparkEnv, tmp_path: Path) -> None:
    spark = spark_session.spark
    target = tmp_path / "out"

    spark.range(2).write.format("delta").save("file:" + str(target))
    spark.range(2).write.parquet("file:" + str(tmp_path / "pq"))

    assert (target / "_delta_log" / "00000000000000000000.json").is_file()
    assert _data_files(tmp_path / "pq")
    assert spark.read.format("delta").load(target.as_uri()).count() == 2
    assert not spark_session.path_map.to_local(str(target)).exists()  # nothing went to DBFS


# -- cloud authorities ------------------------------------------------------------------------------


def test_abfss_authority_registered_after_start(spark_session: SparkEnv) -> None:
    spark = spark_session.spark
    authority = f"{_unique('cont')}@acct.dfs.core.windows.net"
    uri = f"abfss://{authority}/x"

    with pytest.raises(Exception, match="register_cloud_authority"):  # unregistered: clear failure
        spark.range(2).write.parquet(uri)

    sess.register_cloud_authority(spark, authority)
    spark.range(2).write.parquet(uri)

    local = spark_session.path_map.to_local(uri)
    assert local == spark_session.cloud_root / "acct" / authority.split("@")[0] / "x"
    assert _data_files(local)
    assert spark.read.parquet(f"abfs://{authority}/x").count() == 2  # abfs:// is the same place
    sess.register_cloud_authority(spark, authority)  # idempotent


def test_new_authorities_in_config_apply_to_live_session(spark_session: SparkEnv) -> None:
    authority = f"{_unique('c')}@acct2.blob.core.windows.net"
    config = sess.SessionConfig(
        dbfs_root=spark_session.dbfs_root,
        run_dir=spark_session.run_dir,
        app_name="dtflw-tests",
        cloud_authorities={authority},
    )
    spark = sess.get_or_create_session(config)
    assert spark is spark_session.spark
    uri = f"wasbs://{authority}/d"

    spark.range(2).write.format("delta").save(uri)

    assert (spark_session.path_map.to_local(uri) / "_delta_log" / "00000000000000000000.json").is_file()
    assert spark.read.format("delta").load(uri).count() == 2


def test_changed_sql_settings_apply_to_live_session(spark_session: SparkEnv) -> None:
    key = "spark.sql.ansi.enabled"
    started = spark_session.spark.conf.get(key)
    flipped = "false" if started == "true" else "true"
    config = sess.SessionConfig(
        dbfs_root=spark_session.dbfs_root, run_dir=spark_session.run_dir, app_name="dtflw-tests", conf={key: flipped}
    )
    assert sess.get_or_create_session(config).conf.get(key) == flipped
    assert spark_session.spark.conf.get(key) == started  # the fixture's config again


def test_changed_roots_apply_to_live_session(spark_session: SparkEnv, tmp_path: Path) -> None:
    other = sess.SessionConfig(dbfs_root=tmp_path / "dbfs2", run_dir=spark_session.run_dir, app_name="dtflw-tests")
    try:
        spark = sess.get_or_create_session(other)
        spark.range(1).write.parquet("dbfs:/moved")
        assert _data_files(other.path_map.to_local("dbfs:/moved"))
        assert not spark_session.path_map.to_local("dbfs:/moved").exists()
    finally:
        spark = spark_session.spark  # back to the shared roots
    spark.range(1).write.parquet("dbfs:/moved")
    assert _data_files(spark_session.path_map.to_local("dbfs:/moved"))


def test_authorities_in_text() -> None:
    source = """
df = spark.read.load("abfss://raw@lake.dfs.core.windows.net/sales/2024")
other = 'wasbs://$web@site.blob.core.windows.net/index.html'
plain = "abfs://c-1@acct9.dfs.core.windows.net"  # no path
not_azure = "s3://bucket/x"; dynamic = f"abfss://{c}@{a}.dfs.core.windows.net/x"
"""
    assert sess.authorities_in_text(source) == {
        "raw@lake.dfs.core.windows.net",
        "$web@site.blob.core.windows.net",
        "c-1@acct9.dfs.core.windows.net",
    }
    assert sess.authorities_in_text("nothing here") == set()


def test_malformed_authority_is_rejected(spark_session: SparkEnv) -> None:
    with pytest.raises(InvalidArgumentError):
        sess.register_cloud_authority(spark_session.spark, "no-container.dfs.core.windows.net")


# -- catalog, display, UDFs -------------------------------------------------------------------------


def test_create_table_using_delta_warehouse_on_dbfs_metastore_in_run_dir(spark_session: SparkEnv) -> None:
    spark = spark_session.spark
    name = _unique("tbl_")
    spark.sql(f"CREATE TABLE {name} (id INT, v STRING) USING delta")
    spark.sql(f"INSERT INTO {name} VALUES (1, 'a')")

    assert spark.table(name).count() == 1
    location = spark.sql(f"DESCRIBE DETAIL {name}").first().location
    assert location == f"dbfs:/user/hive/warehouse/{name}"  # as on Databricks
    assert (spark_session.path_map.to_local(location) / "_delta_log").is_dir()
    # Derby metastore in the run dir of whoever started the shared session (normally this fixture)
    url = spark.sparkContext.getConf().get("spark.hadoop.javax.jdo.option.ConnectionURL")
    metastore = Path(url.split("databaseName=", 1)[1].split(";", 1)[0])
    assert metastore.name == "metastore_db" and metastore.is_dir() and metastore.parent != Path.cwd()
    assert not Path("spark-warehouse", name).exists() and not Path("metastore_db").exists()  # not in the CWD


def test_scheme_less_schema_location_means_dbfs(spark_session: SparkEnv) -> None:
    spark = spark_session.spark
    schema = _unique("sch_")
    folder = f"/mnt/lake/{schema}"
    spark.sql(f"CREATE SCHEMA {schema} LOCATION '{folder}'")
    spark.range(2).write.format("delta").saveAsTable(f"{schema}.t")

    assert spark.sql(f"DESCRIBE DETAIL {schema}.t").first().location == f"dbfs:{folder}/t"
    assert (spark_session.path_map.to_local(folder) / "t" / "_delta_log").is_dir()
    assert not Path(folder).exists()  # not the real /mnt


def test_dataframe_display_calls_the_hook(spark_session: SparkEnv, capsys: pytest.CaptureFixture[str]) -> None:
    spark = spark_session.spark
    seen = []
    previous = sess.set_display_hook(seen.append)
    try:
        df = spark.range(2)
        df.display()
        assert seen == [df]
    finally:
        sess.set_display_hook(previous)
    sess.set_display_hook(None)
    spark.createDataFrame([("a long value that is not truncated at all",)], "v STRING").display()
    assert "a long value that is not truncated at all" in capsys.readouterr().out


def test_python_udf_runs_with_this_interpreter(spark_session: SparkEnv) -> None:
    from pyspark.sql.functions import udf

    exe = udf(lambda _: sys.executable, "string")
    assert spark_session.spark.range(1).select(exe("id")).first()[0] == sys.executable


def test_session_settings(spark_session: SparkEnv) -> None:
    conf = spark_session.spark.sparkContext.getConf()
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.ui.showConsoleProgress") == "false"
    assert spark_session.spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark_session.spark.conf.get("spark.databricks.delta.snapshotPartitions") == "2"


# -- missing jars / start-up failures ---------------------------------------------------------------


def test_missing_jars_raise_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sess.JARS_ENV_VAR, raising=False)
    with pytest.raises(RuntimeNotAvailableError) as info:
        sess.delta_jar_paths(m2_root=tmp_path)
    message = str(info.value)
    assert "make jars" in message
    for artifact in sess.DELTA_ARTIFACTS:
        assert f"mvn dependency:get -Dtransitive=false -Dmaven.repo.local={tmp_path} -Dartifact={artifact}" in message


def test_jars_env_var_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jars = [tmp_path / "a.jar", tmp_path / "b.jar"]
    for jar in jars:
        jar.write_bytes(b"")
    monkeypatch.setenv(sess.JARS_ENV_VAR, ",".join(map(str, jars)))
    assert sess.delta_jar_paths(m2_root=tmp_path / "empty") == jars
    monkeypatch.setenv(sess.JARS_ENV_VAR, str(tmp_path / "missing.jar"))
    with pytest.raises(RuntimeNotAvailableError, match="missing.jar"):
        sess.delta_jar_paths()


def test_missing_jars_fail_before_spark_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.sql import SparkSession

    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("Spark was started although the jars are missing")

    monkeypatch.setattr(sess, "_session", None)  # as if no session were running
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", must_not_start)
    monkeypatch.setenv(sess.JARS_ENV_VAR, str(tmp_path / "nope.jar"))
    with pytest.raises(RuntimeNotAvailableError, match="nope.jar"):
        sess.get_or_create_session(sess.SessionConfig(dbfs_root=tmp_path / "dbfs"))
    assert not (tmp_path / "dbfs").exists()


def test_start_errors_are_translated() -> None:
    gateway = RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.")
    ivy = RuntimeError(
        "java.lang.RuntimeException: [unresolved dependency: io.delta#delta-spark_4.2_2.13;4.4.1: not found]"
    )
    for error in (gateway, ivy):
        clear = sess._start_error(error)
        assert isinstance(clear, RuntimeNotAvailableError)
        assert "make jars" in str(clear) and sess.DELTA_SPARK_ARTIFACT in str(clear)
    assert sess._start_error(ValueError("something else")) is None


def test_gateway_failure_in_a_fresh_process_is_clear(tmp_path: Path) -> None:
    code = (
        "from dtflw.local.session import SessionConfig, get_or_create_session\n"
        "from dtflw.errors import RuntimeNotAvailableError\n"
        "try:\n"
        f"    get_or_create_session(SessionConfig(dbfs_root={str(tmp_path / 'dbfs')!r}))\n"
        "except RuntimeNotAvailableError as e:\n"
        "    print('CLEAR:', e)\n"
    )
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "no-java"))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "CLEAR:" in result.stdout and "make jars" in result.stdout, result.stdout + result.stderr


# -- configuration ----------------------------------------------------------------------------------


def test_config_defaults_follow_pathmap(tmp_path: Path) -> None:
    from dtflw.emulated.paths import PathMap

    config = sess.SessionConfig(dbfs_root=tmp_path / "dbfs")
    expected = PathMap(tmp_path / "dbfs")
    assert (config.volumes_root, config.cloud_root) == (expected.volumes_root, expected.cloud_root)
    assert config.path_map == expected and config.run_dir == tmp_path
    for bad in ({"shuffle_partitions": 0}, {"log_level": "LOUD"}, {"cloud_authorities": {"nope"}}):
        with pytest.raises(InvalidArgumentError):
            sess.SessionConfig(dbfs_root=tmp_path, **bad)


def test_spark_conf_merges_user_settings(tmp_path: Path) -> None:
    config = sess.SessionConfig(
        dbfs_root=tmp_path / "dbfs",
        conf={
            "spark.sql.ansi.enabled": "false",
            "spark.jars": "/x/extra.jar",
            "spark.sql.extensions": "my.Ext",
            "spark.sql.shuffle.partitions": "7",
        },
    )
    conf = sess.spark_conf(config, [Path("/j/a.jar"), Path("/j/b.jar")])
    assert conf["spark.sql.ansi.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "7"  # --conf wins
    assert conf["spark.jars"] == "/j/a.jar,/j/b.jar,/x/extra.jar"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension,my.Ext"
    assert conf["spark.hadoop.fs.defaultFS"] == "dbfs:///"
    assert conf["spark.hadoop.fs.viewfs.mounttable.default.linkFallback"] == (tmp_path / "dbfs").as_uri()
    assert conf["spark.sql.warehouse.dir"] == "dbfs:/user/hive/warehouse"
    assert sess.SessionConfig(dbfs_root=tmp_path, warehouse=tmp_path / "wh").warehouse == f"file:{tmp_path / 'wh'}"
    assert sess.SessionConfig(dbfs_root=tmp_path, warehouse="/wh").warehouse == "dbfs:/wh"
