"""Legacy DBFS mounts of the emulated dbutils: mount / mounts / unmount / updateMount / refreshMounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dtflw.emulated import ExecutionError
from dtflw.emulated.fs import EmulatedFs
from dtflw.emulated.mounts import DEFAULT_MOUNTS, MountInfo
from dtflw.testing import FakeDbutils

ABFSS = "abfss://raw@acct.dfs.core.windows.net/landing"


@pytest.fixture
def dbutils(tmp_path: Path) -> FakeDbutils:
    return FakeDbutils(fs_root=tmp_path / "dbfs")


def source_folder(dbutils: FakeDbutils) -> Path:
    return dbutils.path_map.to_local(ABFSS)


def test_mount_maps_dbfs_paths_into_the_source_folder(dbutils, capsys):
    assert dbutils.fs.mount(ABFSS, "/mnt/raw") is True
    dbutils.fs.put("/mnt/raw/a.csv", "x,y\n", overwrite=True)
    assert (source_folder(dbutils) / "a.csv").read_text() == "x,y\n"
    assert [f.path for f in dbutils.fs.ls("dbfs:/mnt/raw")] == ["dbfs:/mnt/raw/a.csv"]
    assert dbutils.fs.head("/mnt/raw/a.csv") == "x,y\n"
    local = dbutils.path_map.to_local("dbfs:/mnt/raw/a.csv")
    assert local.resolve() == (source_folder(dbutils) / "a.csv").resolve()
    # data written straight into the source shows up under the mount
    (source_folder(dbutils) / "sub").mkdir()
    assert [f.name for f in dbutils.fs.ls("/mnt/raw")] == ["a.csv", "sub/"]
    assert [f.name for f in dbutils.fs.ls("/mnt")] == ["raw/"]


def test_mounts_lists_user_mounts_then_databricks_defaults(dbutils):
    dbutils.fs.mount(ABFSS, "dbfs:/mnt/raw/", encryption_type="sse-s3")
    mounts = dbutils.fs.mounts()
    assert mounts[0] == MountInfo(mountPoint="/mnt/raw", source=ABFSS, encryptionType="sse-s3")
    assert mounts[1:] == list(DEFAULT_MOUNTS)
    assert MountInfo._fields == ("mountPoint", "source", "encryptionType")
    assert any(m.mountPoint == "/databricks-datasets" for m in mounts)


def test_mounting_a_mounted_point_raises_like_databricks(dbutils):
    dbutils.fs.mount(ABFSS, "/mnt/raw")
    with pytest.raises(ExecutionError, match="Directory already mounted: /mnt/raw"):
        dbutils.fs.mount("wasbs://other@acct.blob.core.windows.net/", "dbfs:/mnt/raw")
    with pytest.raises(ExecutionError, match="Directory already mounted: /databricks-datasets|under /mnt/"):
        dbutils.fs.mount(ABFSS, "/databricks-datasets")
    with pytest.raises(ExecutionError, match="overlaps mount /mnt/raw"):
        dbutils.fs.mount(ABFSS, "/mnt/raw/inner")


def test_unmount_keeps_the_data_and_unmounting_twice_raises(dbutils, capsys):
    dbutils.fs.mount(ABFSS, "/mnt/raw")
    dbutils.fs.put("/mnt/raw/a.txt", "keep")
    capsys.readouterr()
    assert dbutils.fs.unmount("/mnt/raw") is True
    assert capsys.readouterr().out == "/mnt/raw has been unmounted.\n"
    assert (source_folder(dbutils) / "a.txt").read_text() == "keep"
    assert not (dbutils.path_map.dbfs_root / "mnt" / "raw").exists()
    assert all(m.mountPoint != "/mnt/raw" for m in dbutils.fs.mounts())
    with pytest.raises(ExecutionError, match="Directory not mounted: /mnt/raw"):
        dbutils.fs.unmount("/mnt/raw")
    with pytest.raises(ExecutionError, match="java.io.FileNotFoundException"):
        dbutils.fs.ls("/mnt/raw")


def test_mount_table_persists_per_root_and_refresh_restores_links(tmp_path):
    first = FakeDbutils(fs_root=tmp_path / "dbfs")
    first.fs.mount(ABFSS, "/mnt/raw", extra_configs={"fs.azure.account.key": "s3cr3t"})
    table = tmp_path / "dbfs" / ".dtflw" / "mounts.json"
    assert "s3cr3t" not in table.read_text()  # credentials are never written down
    assert json.loads(table.read_text())["mounts"][0]["mountPoint"] == "/mnt/raw"

    later = FakeDbutils(fs_root=tmp_path / "dbfs")
    assert later.fs.mounts()[0].source == ABFSS
    assert later.fs.mount_table.targets() == {"/mnt/raw": later.path_map.to_local(ABFSS)}
    (tmp_path / "dbfs" / "mnt" / "raw").unlink()  # the link disappears (rm -r of /mnt, moved root)
    assert later.fs.refreshMounts() is True
    later.fs.put("/mnt/raw/b.txt", "b")
    assert (later.path_map.to_local(ABFSS) / "b.txt").read_text() == "b"
    other_root = FakeDbutils(fs_root=tmp_path / "other")
    assert other_root.fs.mounts() == list(DEFAULT_MOUNTS)


def test_update_mount_switches_the_source(dbutils):
    dbutils.fs.mount(ABFSS, "/mnt/raw")
    dbutils.fs.put("/mnt/raw/old.txt", "old")
    with pytest.raises(ExecutionError, match="Directory not mounted: /mnt/nope"):
        dbutils.fs.updateMount(ABFSS, "/mnt/nope")
    assert dbutils.fs.updateMount("s3a://bucket/data", "/mnt/raw") is True
    dbutils.fs.put("/mnt/raw/new.txt", "new")
    cloud = dbutils.path_map.cloud_root
    assert (cloud / "s3" / "bucket" / "data" / "new.txt").read_text() == "new"
    assert [f.name for f in dbutils.fs.ls("/mnt/raw")] == ["new.txt"]
    assert dbutils.fs.mounts()[0].source == "s3a://bucket/data"


def test_rm_and_mv_refuse_the_mount_point_itself(dbutils):
    dbutils.fs.mount("gs://bucket", "/mnt/g")
    dbutils.fs.put("/mnt/g/x/f.txt", "f")
    with pytest.raises(ExecutionError, match="mount point /mnt/g; use dbutils.fs.unmount"):
        dbutils.fs.rm("/mnt/g", recurse=True)
    with pytest.raises(ExecutionError, match="mount point"):
        dbutils.fs.mv("/mnt/g", "/elsewhere", recurse=True)
    assert dbutils.fs.rm("/mnt/g/x", recurse=True) is True
    assert dbutils.fs.ls("/mnt/g") == []


@pytest.mark.parametrize(
    ("source", "point", "error", "match"),
    [
        (ABFSS, "/data/raw", ExecutionError, "under /mnt/"),
        (ABFSS, "/mnt", ExecutionError, "under /mnt/"),
        (ABFSS, "/mnt/../x", ExecutionError, "under /mnt/"),
        ("dbfs:/FileStore", "/mnt/x", ExecutionError, "Unsupported mount source"),
        ("abfss://no-account/x", "/mnt/x", ExecutionError, "Malformed"),
        (ABFSS, 42, TypeError, "wrong type"),
    ],
)
def test_bad_mount_arguments_raise(dbutils, source, point, error, match):
    with pytest.raises(error, match=match):
        dbutils.fs.mount(source, point)


def test_mounting_over_a_non_empty_dbfs_folder_raises(dbutils):
    dbutils.fs.put("/mnt/busy/f.txt", "f")
    with pytest.raises(ExecutionError, match="non-empty folder"):
        dbutils.fs.mount(ABFSS, "/mnt/busy")
    dbutils.fs.mkdirs("/mnt/empty")
    assert dbutils.fs.mount(ABFSS, "/mnt/empty") is True


@pytest.mark.spark
def test_spark_reads_and_writes_through_a_mount(spark_session, tmp_path):
    fs = EmulatedFs(spark_session.path_map)
    point = f"/mnt/spark-{tmp_path.name}"
    fs.mount("wasbs://c@acct.blob.core.windows.net/mounted", point)
    try:
        spark = spark_session.spark
        spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string").write.mode("overwrite").parquet(
            f"dbfs:{point}/t"
        )
        source = spark_session.path_map.to_local("wasbs://c@acct.blob.core.windows.net/mounted")
        assert any(p.suffix == ".parquet" for p in (source / "t").iterdir())
        assert sorted(r.id for r in spark.read.parquet(f"{point}/t").collect()) == [1, 2]
    finally:
        fs.unmount(point)
