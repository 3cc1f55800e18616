"""Storage backends: path derivation, existence rules, globbing, versions, pending markers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage import available_schemes, get_storage_class, register_storage, storage_from_url
from dtflw.storage.azure import AzureStorage
from dtflw.storage.azure import init_storage as azure_init
from dtflw.storage.base import Storage
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.dbfs import init_storage as dbfs_init
from dtflw.storage.local import LocalStorage
from dtflw.storage.volumes import VolumeStorage
from dtflw.testing import FakeDbutils, write_parquet_stub


def test_dbfs_default_root_and_derived_path_match_the_0_6_layout():
    dbutils = FakeDbutils(user="me@x.com", notebook_path="/Users/me@x.com/sales/main")
    storage = dbfs_init(dbutils=dbutils)
    assert storage.root_dir == "FileStore/me@x.com"
    assert storage.base_path == "dbfs:/"
    assert (
        storage.derive_table_path("sales/ingest_data", "Orders")
        == "dbfs:/FileStore/me@x.com/sales/ingest_data/Orders.parquet"
    )


def test_path_helpers():
    s = DbfsStorage("root", dbutils=FakeDbutils())
    assert s.is_abs_path("dbfs:/x") and not s.is_abs_path("x")
    assert s.get_abs_path("a/b") == "dbfs:/a/b"
    assert s.get_abs_path("dbfs:/a/b") == "dbfs:/a/b"
    assert s.get_path_in_root_dir("a") == "root/a"
    assert s.get_path_with_file_extension("a/T") == "a/T.parquet"
    delta = DbfsStorage("", dbutils=FakeDbutils(), format="delta")
    assert delta.get_path_with_file_extension("a/T") == "a/T"
    assert delta.get_path_in_root_dir("a") == "a"
    with pytest.raises(StorageError, match="not on this storage"):
        s.get_abs_path("wasbs://c@a.blob.core.windows.net/x")
    with pytest.raises(InvalidArgumentError):
        s.get_abs_path("")
    with pytest.raises(InvalidArgumentError, match="format"):
        DbfsStorage("r", format="csv")
    with pytest.raises(InvalidArgumentError, match=r"\.\."):
        DbfsStorage("a/../b")


def test_azure_paths_validation_and_compat_import():
    s = AzureStorage("acct01", "my-container", "me", spark=None, dbutils=FakeDbutils())
    assert s.base_path == "wasbs://my-container@acct01.blob.core.windows.net/"
    a = AzureStorage("acct01", "data", "", dbutils=FakeDbutils(), protocol="abfss")
    assert a.base_path == "abfss://data@acct01.dfs.core.windows.net/"
    for bad in ("AB", "a" * 25, "has-dash", ""):
        with pytest.raises(InvalidArgumentError, match="account name"):
            AzureStorage(bad, "data", "")
    for bad in ("Ab", "a--b", "-ab", "ab"):
        with pytest.raises(InvalidArgumentError, match="container name"):
            AzureStorage("acct01", bad, "")
    with pytest.raises(InvalidArgumentError, match="protocol"):
        AzureStorage("acct01", "data", "", protocol="s3")
    storage = azure_init("acct01", "data", dbutils=FakeDbutils(user="u@x.com"))
    assert storage.root_dir == "u@x.com"
    from dtflw.io.azure import AzureStorage as Old

    assert Old is AzureStorage


def test_volumes_paths():
    v = VolumeStorage("main", "sales", "raw", root_dir="dtflw", dbutils=FakeDbutils())
    assert v.base_path == "/Volumes/main/sales/raw/"
    assert v.derive_table_path("p/nb", "T") == "/Volumes/main/sales/raw/dtflw/p/nb/T.parquet"
    with pytest.raises(InvalidArgumentError, match="catalog"):
        VolumeStorage("bad name", "s", "v")


def test_registry_by_scheme_and_custom_backend(tmp_path):
    assert isinstance(storage_from_url(f"file://{tmp_path}"), LocalStorage)
    assert isinstance(storage_from_url("dbfs:/FileStore/me", dbutils=FakeDbutils()), DbfsStorage)
    v = storage_from_url("/Volumes/c/s/v/root", dbutils=FakeDbutils())
    assert isinstance(v, VolumeStorage) and v.root_dir == "root"
    az = storage_from_url("abfss://data@acct01.dfs.core.windows.net/me")
    assert isinstance(az, AzureStorage) and az.protocol == "abfss" and az.root_dir == "me"
    assert {"file", "dbfs", "volumes", "abfss", "wasbs"} <= set(available_schemes())
    with pytest.raises(InvalidArgumentError, match="No storage backend for scheme 's3'"):
        storage_from_url("s3://bucket/x")

    class MemStorage(LocalStorage):
        @classmethod
        def from_url(cls, url, **kw):
            return cls(tmp_path / url.split("://", 1)[1])

    register_storage("mem", MemStorage)
    assert get_storage_class("mem") is MemStorage
    assert isinstance(storage_from_url("mem://x"), MemStorage)

    class NoUrlStorage(Storage):  # from_url is declared on the base: a backend without it says so
        base_path = "nourl://"
        _list_dir = _stat = _write_text = _delete = None  # type: ignore[assignment]

    register_storage("nourl", NoUrlStorage)
    with pytest.raises(StorageError, match="NoUrlStorage cannot be built from a URL 'nourl://x'"):
        storage_from_url("nourl://x")


@pytest.fixture(params=["local", "dbfs"])
def storage(request, tmp_path) -> Storage:
    """The same behaviour through a plain directory and through (fake) dbutils.fs."""
    if request.param == "local":
        return LocalStorage(tmp_path / "root")
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    return DbfsStorage("root", dbutils=dbutils)


def _local(storage: Storage, path: str) -> Path:
    if isinstance(storage, LocalStorage):
        return Path(path)
    return storage.dbutils.path_map.to_local(path)


def test_parquet_existence_rules(storage):
    t = storage.get_abs_path("root/T.parquet")
    assert not storage.exists(t)
    folder = _local(storage, t)
    folder.mkdir(parents=True)
    assert not storage.exists(t)  # an empty folder is no table
    (folder / "_temporary").mkdir()
    assert not storage.exists(t)  # neither is a half-written one
    write_parquet_stub(str(folder))
    assert storage.exists(t)
    single = storage.get_abs_path("root/single.parquet")
    _local(storage, single).write_bytes(b"PAR1")
    assert storage.exists(single)
    with pytest.raises(InvalidArgumentError, match="list\\(\\)"):
        storage.exists(storage.get_abs_path("root/*.parquet"))


def test_pending_marker_hides_a_table_until_cleared(storage):
    t = storage.get_abs_path("root/T.parquet")
    write_parquet_stub(str(_local(storage, t)))
    storage.mark_pending(t, "/Users/u/nb")
    assert storage.is_pending(t) and not storage.exists(t)
    assert storage.list(storage.get_abs_path("root/*")) == [t]  # markers never match globs
    storage.clear_pending(t)
    assert storage.exists(t) and not storage.is_pending(t)
    storage.delete(t)
    assert not storage.exists(t)


def test_delta_existence_needs_a_commit(tmp_path):
    storage = LocalStorage(tmp_path, format="delta")
    t = storage.derive_table_path("p/nb", "T")
    assert t.endswith("/p/nb/T")
    log = Path(t) / "_delta_log"
    log.mkdir(parents=True)
    assert not storage.exists(t)
    (log / "00000000000000000000.json").write_text("{}")
    assert storage.exists(t)
    assert storage.version(t) == "delta:0"
    (log / "00000000000000000003.json").write_text("{}")
    assert storage.version(t) == "delta:3"


def test_glob_matches_per_segment(storage):
    for rel in ["raw/2021/a.csv", "raw/2021/b.txt", "raw/2022/c.csv", "raw/x2022/d.csv", "other/e.csv"]:
        p = _local(storage, storage.get_abs_path(rel))
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    base = storage.base_path
    assert storage.list(f"{base}raw/20??/*.csv") == [f"{base}raw/2021/a.csv", f"{base}raw/2022/c.csv"]
    assert storage.list("raw/*/[bc].*") == [f"{base}raw/2021/b.txt", f"{base}raw/2022/c.csv"]
    assert storage.list("raw/2021/a.csv") == [f"{base}raw/2021/a.csv"]
    assert storage.list("raw/*/none*") == []
    assert storage.list("missing/*") == []


def test_glob_lists_only_folders_the_pattern_can_match(tmp_path, mocker):
    storage = LocalStorage(tmp_path)
    for i in range(20):
        d = tmp_path / f"dir{i}"
        d.mkdir()
        (d / "f.csv").write_text("x")
    spy = mocker.spy(storage, "_list_dir")
    assert len(storage.list("dir1/*.csv")) == 1
    assert spy.call_count == 1  # the literal prefix 'dir1' is not listed


def test_file_versions_change_with_content(tmp_path):
    storage = LocalStorage(tmp_path)
    folder = tmp_path / "T.parquet"
    write_parquet_stub(str(folder))
    v1 = storage.version(str(folder))
    (folder / "part-00001.parquet").write_bytes(b"PAR1PAR1")
    v2 = storage.version(str(folder))
    assert v1 and v2 and v1 != v2
    assert storage.version(str(tmp_path / "none")) is None
    (tmp_path / "a.csv").write_text("1")
    assert storage.version(str(tmp_path) + "/*.csv") is not None


def test_dbutils_failures_other_than_not_found_become_storage_errors(tmp_path):
    class Broken:
        class fs:
            @staticmethod
            def ls(path):
                raise PermissionError("403 This request is not authorized")

    storage = DbfsStorage("r", dbutils=Broken())
    with pytest.raises(StorageError, match="Listing 'dbfs:/r/T.parquet'"):
        storage.exists("dbfs:/r/T.parquet")


def test_local_storage_validates_root():
    with pytest.raises(InvalidArgumentError):
        LocalStorage("")


def test_local_storage_reads_and_writes_real_tables_via_spark_path(tmp_path):
    storage = LocalStorage(tmp_path)
    assert storage._spark_path(str(tmp_path / "x")) == f"file:{tmp_path}/x"
    assert os.path.isabs(storage.base_path)


def test_a_pattern_below_a_file_matches_nothing(storage):
    p = _local(storage, storage.get_abs_path("raw/a.csv"))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("x")
    assert storage.list("raw/a.csv/*") == []


def test_versions_see_changes_inside_partition_folders(tmp_path):
    storage = LocalStorage(tmp_path)
    part = tmp_path / "T.parquet" / "year=2022"
    part.mkdir(parents=True)
    (part / "part-0.parquet").write_bytes(b"PAR1")
    v1 = storage.version(str(tmp_path / "T.parquet"))
    (part / "part-1.parquet").write_bytes(b"PAR1")
    assert storage.version(str(tmp_path / "T.parquet")) != v1


def test_backends_are_discovered_through_entry_points(monkeypatch, tmp_path):
    import importlib.metadata as md

    import dtflw.storage as registry

    class PluginStorage(LocalStorage):
        @classmethod
        def from_url(cls, url, **kw):
            return cls(tmp_path / "plugin")

    monkeypatch.setitem(sys.modules, "third_party_backend", type(sys)("third_party_backend"))
    sys.modules["third_party_backend"].PluginStorage = PluginStorage
    ep = md.EntryPoint(name="memfs", value="third_party_backend:PluginStorage", group="dtflw.storage")
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == "dtflw.storage" else [])
    assert "memfs" in registry.available_schemes()
    assert isinstance(registry.storage_from_url("memfs://anything"), PluginStorage)


def test_local_storage_urls_in_every_file_form(tmp_path):
    from dtflw.storage import storage_from_url

    for url in (f"file:{tmp_path}", f"file://{tmp_path}", str(tmp_path)):
        assert storage_from_url(url).base_path == f"{tmp_path}/", url
    with pytest.raises(InvalidArgumentError, match="needs an absolute path"):
        storage_from_url("file:relative/dir")


@pytest.mark.parametrize(
    "url",
    [
        "abfss://data:SuperSecretPw1@acct.dfs.core.windows.net/x",
        "abfss://data@:SuperSecretPw1@acct.dfs.core.windows.net",
        "abfss://data@acct.dfs.core.windows.net/x?sv=2020-01-01&sig=SuperSecretPw1",
        "wasbs://data@acct.blob.core.windows.net/x;AccountKey=SuperSecretPw1",
        "abfss://data@acct.dfs.core.windows.net:SuperSecretPw1/x",
        "file://user:SuperSecretPw1@host/x",
        "dbfs:/x?token=SuperSecretPw1",
        "dbfs:/x#SuperSecretPw1",
    ],
)
def test_a_storage_url_holding_credentials_is_refused_without_repeating_them(url):
    from dtflw.errors import InvalidArgumentError
    from dtflw.storage import storage_from_url
    from dtflw.storage.azure import AzureStorage

    with pytest.raises(InvalidArgumentError) as info:
        storage_from_url(url, dbutils=FakeDbutils())
    assert "SuperSecretPw1" not in str(info.value) and "not repeated" in str(info.value)
    if url.startswith(("abfss", "wasbs")):
        with pytest.raises(InvalidArgumentError) as direct:
            AzureStorage.from_url(url)
        assert "SuperSecretPw1" not in str(direct.value)


@pytest.mark.parametrize("url, scheme", [("DBFS:/FileStore/me", "dbfs"), ("mailto:x", None), (" dbfs:/x", None)])
def test_scheme_typos_are_not_read_as_local_folders(url, scheme):
    from dtflw.errors import InvalidArgumentError
    from dtflw.storage import storage_from_url
    from dtflw.storage.local import LocalStorage

    if scheme is None:
        with pytest.raises(InvalidArgumentError):
            storage_from_url(url, dbutils=FakeDbutils())
    else:
        storage = storage_from_url(url, dbutils=FakeDbutils())
        assert not isinstance(storage, LocalStorage) and storage.base_path.startswith(f"{scheme}:")
