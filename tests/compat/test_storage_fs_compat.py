"""dtflw 0.6.x custom storages on dtflw 0.7: `dtflw.storage.fs`, 0.6.x overrides, 0.6.x constructors.

Written the way a 0.6.x user wrote tests: a storage subclassing `FileStorageBase` with only a
`base_path`, on a fake dbutils, plugged into `init_flow` and running notebooks.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import dtflw
import dtflw.databricks as db
from dtflw import MissingInputError, MissingOutputError, NotebookRunError, SchemaMismatchError, init_flow
from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.azure import AzureStorage
from dtflw.storage.azure import init_storage as azure_init_storage
from dtflw.storage.base import PENDING_SUFFIX, Storage
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.dbfs import init_storage as dbfs_init_storage
from dtflw.storage.dbutils_fs import DbutilsFsStorage
from dtflw.storage.fs import FileStorageBase, file_exists
from dtflw.storage.local import LocalStorage
from dtflw.storage.volumes import VolumeStorage
from dtflw.testing import FakeDbutils, write_parquet_stub

LAKE = "dbfs:/lake/"


# ---- 0.6.x-style storages -------------------------------------------------------------------


class LakeStorage(FileStorageBase):
    """The minimal 0.6.x custom storage: a base path, nothing else."""

    @property
    def base_path(self) -> str:
        return LAKE


class CountingExistsStorage(FileStorageBase):
    """0.6.x override of `exists` with ONE argument; `answer` forces its result when set."""

    def __init__(self, spark: Any, dbutils: Any, root_dir: str = "") -> None:
        super().__init__(spark, dbutils, root_dir)
        self.asked: list[str] = []
        self.answer: bool | None = None

    @property
    def base_path(self) -> str:
        return LAKE

    def exists(self, path):  # type: ignore[no-untyped-def, override]  # untyped, as 0.6.x code was
        self.asked.append(path)
        if self.answer is not None:
            return self.answer
        return file_exists(path if self.is_abs_path(path) else self.get_abs_path(path), self.dbutils)


class DeltaLakeStorage(FileStorageBase):
    """0.6.x way to store Delta tables: no `.parquet` extension, reads through a format."""

    @property
    def base_path(self) -> str:
        return LAKE

    def get_path_with_file_extension(self, file_path):  # type: ignore[no-untyped-def]  # untyped, as 0.6.x code was
        return file_path


class SchemaStorage(FileStorageBase):
    """0.6.x override of `read_table(path)`: returns a DataFrame-like object with `dtypes`."""

    def __init__(self, spark: Any, dbutils: Any, dtypes: list[tuple[str, str]]) -> None:
        super().__init__(spark, dbutils, "root")
        self.dtypes = dtypes
        self.read: list[str] = []

    @property
    def base_path(self) -> str:
        return LAKE

    def read_table(self, path):  # type: ignore[no-untyped-def]  # untyped, as 0.6.x code was
        self.read.append(path)
        return _Frame(self.dtypes)


class NaiveAbsPathStorage(FileStorageBase):
    """0.6.x `get_abs_path` as 0.6.x's own: prefixes the base path unconditionally."""

    @property
    def base_path(self) -> str:
        return LAKE

    def get_abs_path(self, rel_path):  # type: ignore[no-untyped-def]  # untyped, as 0.6.x code was
        return f"{self.base_path}{rel_path}"


class OldListStorage(FileStorageBase):
    """0.6.x `list(path_pattern, lister=None)` override."""

    @property
    def base_path(self) -> str:
        return LAKE

    def list(self, path_pattern, lister=None):  # type: ignore[no-untyped-def]  # untyped, as 0.6.x code was
        self.listed = path_pattern
        return ["dbfs:/lake/raw/only_this.csv"]


class AssigningStorage(FileStorageBase):
    """0.6.x subclasses kept their own handles: `self.spark = spark` must not fail."""

    def __init__(self, spark: Any, dbutils: Any) -> None:
        super().__init__(spark, dbutils)
        self.spark = spark
        self.dbutils = dbutils

    @property
    def base_path(self) -> str:
        return LAKE


class _Frame:
    def __init__(self, dtypes: list[tuple[str, str]]) -> None:
        self.dtypes = dtypes


class _Reader:
    def __init__(self, spark: FakeSpark) -> None:
        self._spark = spark

    def parquet(self, path: str) -> _Frame:
        self._spark.reads.append(("parquet", path))
        return _Frame(self._spark.dtypes)

    def format(self, name: str) -> _Reader:
        self._spark.formats.append(name)
        return self

    def load(self, path: str) -> _Frame:
        self._spark.reads.append((self._spark.formats[-1], path))
        return _Frame(self._spark.dtypes)


class FakeSpark:
    """Just enough of a SparkSession for `read_table`: `spark.read.parquet/format().load`."""

    def __init__(self, dtypes: list[tuple[str, str]]) -> None:
        self.dtypes = dtypes
        self.reads: list[tuple[str, str]] = []
        self.formats: list[str] = []
        self.read = _Reader(self)


class _Writer:
    def __init__(self, log: list[tuple[str, ...]]) -> None:
        self.log = log

    def mode(self, mode: str) -> _Writer:
        self.log.append(("mode", mode))
        return self

    def parquet(self, path: str) -> None:
        self.log.append(("parquet", path))


class _WritableFrame:
    def __init__(self) -> None:
        self.log: list[tuple[str, ...]] = []
        self.write = _Writer(self.log)


def stub_outputs(fake: FakeDbutils, exit_value: str | None = None) -> Any:
    """A notebook handler that writes a parquet stub at every `<name>_out` path, through the
    fake's file system (so `dbfs:/...` paths land under its `fs_root`)."""

    def handler(args: dict[str, str]) -> str | None:
        for key, value in args.items():
            if key.endswith("_out"):
                write_parquet_stub(fake.path_map.to_local(value))
        return exit_value

    return handler


# ---- FileStorageBase: the 0.6.x base class ------------------------------------------------------


def test_subclass_with_only_base_path_has_the_0_6_path_helpers(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils, "analysis")
    assert storage.root_dir == "analysis"
    assert storage.is_abs_path("dbfs:/lake/x") and not storage.is_abs_path("x")
    assert storage.get_abs_path("a/b") == "dbfs:/lake/a/b"
    assert storage.get_path_in_root_dir("p/T") == "analysis/p/T"
    assert storage.get_path_with_file_extension("p/T") == "p/T.parquet"
    assert LakeStorage(None, fake_dbutils).get_path_in_root_dir("p/T") == "p/T"  # root_dir defaults to ""
    assert storage.derive_table_path("project/ingest", "Orders") == "dbfs:/lake/analysis/project/ingest/Orders.parquet"


def test_subclass_with_only_base_path_checks_lists_and_versions_through_dbutils_fs(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils, "analysis")
    table = "dbfs:/lake/analysis/p/T.parquet"
    assert not storage.exists(table)
    assert storage.version(table) is None
    write_parquet_stub(fake_dbutils.path_map.to_local(table))
    assert storage.exists(table) and storage.exists("analysis/p/T.parquet")
    first = storage.version(table)
    assert first is not None
    fake_dbutils.fs.put(table + "/part-00001.parquet", "more", True)
    assert storage.version(table) not in (None, first)

    fake_dbutils.fs.put("dbfs:/lake/raw/sales_2021.csv", "a", True)
    fake_dbutils.fs.put("dbfs:/lake/raw/sales_2022.csv", "a", True)
    fake_dbutils.fs.put("dbfs:/lake/raw/other.csv", "a", True)
    assert storage.list("dbfs:/lake/raw/sales_*.csv") == [
        "dbfs:/lake/raw/sales_2021.csv",
        "dbfs:/lake/raw/sales_2022.csv",
    ]
    assert storage.list("dbfs:/lake/raw/none_*.csv") == []


def test_subclass_with_only_base_path_keeps_pending_markers_and_text_files(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils)
    table = "dbfs:/lake/p/T.parquet"
    write_parquet_stub(fake_dbutils.path_map.to_local(table))
    storage.mark_pending(table, "/Users/u/p/nb")
    assert fake_dbutils.path_map.to_local(table + PENDING_SUFFIX).exists()
    assert storage.is_pending(table)
    assert not storage.exists(table) and storage.exists(table, ignore_pending=True)
    storage.clear_pending(table)
    assert storage.exists(table)

    storage._write_text("dbfs:/lake/_dtflw/history/x.json", '{"a": 1}')
    assert storage._read_text("dbfs:/lake/_dtflw/history/x.json") == '{"a": 1}'
    assert storage._read_text("dbfs:/lake/_dtflw/history/missing.json") is None
    storage.delete(table)
    assert not fake_dbutils.path_map.to_local(table).exists()


def test_subclass_reads_and_writes_tables_with_spark():
    spark = FakeSpark([("id", "int")])
    storage = LakeStorage(spark, FakeDbutils())
    assert storage.read_table("p/T.parquet").dtypes == [("id", "int")]
    assert spark.reads == [("parquet", "dbfs:/lake/p/T.parquet")]
    frame = _WritableFrame()
    storage.write_table(frame, "dbfs:/lake/p/U.parquet")
    assert frame.log == [("mode", "overwrite"), ("parquet", "dbfs:/lake/p/U.parquet")]

    delta = LakeStorage(spark, FakeDbutils(), format="delta")
    assert delta.format == "delta"
    assert delta.get_path_with_file_extension("p/T") == "p/T"
    delta.read_table("p/T")
    assert spark.reads[-1] == ("delta", "dbfs:/lake/p/T")


def test_constructor_keeps_the_0_6_argument_order():
    spark, dbutils = FakeSpark([]), FakeDbutils()
    storage = LakeStorage(spark, dbutils, "root")
    assert storage.spark is spark and storage.dbutils is dbutils and storage.root_dir == "root"
    with pytest.raises(TypeError):
        LakeStorage(spark, dbutils, "root", "delta")  # type: ignore[call-arg]  # format is keyword-only
    with pytest.raises(InvalidArgumentError, match="format"):
        LakeStorage(spark, dbutils, format="csv")


def test_subclass_may_assign_its_own_spark_and_dbutils():
    spark, dbutils = FakeSpark([]), FakeDbutils()
    storage = AssigningStorage(spark, dbutils)
    assert storage.spark is spark and storage.dbutils is dbutils


def test_spark_and_dbutils_come_from_the_runtime_when_not_given(fake_dbutils):
    storage = LakeStorage(None, None)
    assert storage.dbutils is fake_dbutils


def test_a_subclass_without_base_path_cannot_be_built():
    class NoBase(FileStorageBase):
        pass

    with pytest.raises(TypeError, match="base_path"):
        NoBase(None, FakeDbutils())  # type: ignore[abstract]


# ---- isinstance: 0.6.x code checked storages against FileStorageBase --------------------------


def test_every_dtflw_storage_is_a_file_storage_base(tmp_path):
    dbutils = FakeDbutils()
    storages = [
        DbfsStorage("root", None, dbutils),
        AzureStorage("acct01", "data", "me", None, dbutils),
        VolumeStorage("main", "sales", "raw", dbutils=dbutils),
        LocalStorage(tmp_path),
        LakeStorage(None, dbutils),
    ]
    for storage in storages:
        assert isinstance(storage, FileStorageBase), storage
    assert issubclass(Storage, FileStorageBase)


def test_non_storages_are_not_file_storage_bases():
    assert not isinstance(object(), FileStorageBase)
    assert not isinstance("dbfs:/", FileStorageBase)
    assert not issubclass(dict, FileStorageBase)


def test_a_user_subclass_claims_only_its_own_subclasses(tmp_path):
    dbutils = FakeDbutils()
    assert isinstance(LakeStorage(None, dbutils), LakeStorage)
    assert not isinstance(DbfsStorage("root", None, dbutils), LakeStorage)
    assert not isinstance(LocalStorage(tmp_path), LakeStorage)
    assert not isinstance(DeltaLakeStorage(None, dbutils), LakeStorage)
    assert not issubclass(LakeStorage, DeltaLakeStorage)


def test_the_claim_does_not_leak_to_other_storage_classes(tmp_path):
    local = LocalStorage(tmp_path)
    assert not isinstance(local, DbutilsFsStorage)
    assert not isinstance(local, DbfsStorage) and not isinstance(local, AzureStorage)
    assert not isinstance(DbfsStorage("r", None, FakeDbutils()), AzureStorage)
    assert isinstance(LakeStorage(None, FakeDbutils()), DbutilsFsStorage)


# ---- file_exists ------------------------------------------------------------------------------


def test_file_exists_for_files_and_folders(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.fs.put("dbfs:/data/a.csv", "x", True)
    assert file_exists("dbfs:/data/a.csv", dbutils)
    assert file_exists("dbfs:/data", dbutils)
    assert not file_exists("dbfs:/data/b.csv", dbutils)
    assert not file_exists("dbfs:/nothing/here", dbutils)


def test_file_exists_uses_the_runtime_dbutils_by_default(fake_dbutils):
    fake_dbutils.fs.put("dbfs:/x.txt", "x", True)
    assert file_exists("dbfs:/x.txt")
    assert not file_exists("dbfs:/y.txt")


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_file_exists_rejects_an_empty_path(bad):
    with pytest.raises(InvalidArgumentError) as err:
        file_exists(bad, FakeDbutils())
    assert isinstance(err.value, ValueError)  # as 0.6.x raised ValueError


def test_file_exists_raises_other_dbutils_errors():
    class BrokenFs:
        def ls(self, path: str) -> list[Any]:
            raise RuntimeError("com.databricks.backend: 403 Forbidden")

    class BrokenDbutils:
        fs = BrokenFs()

    with pytest.raises(StorageError, match="403 Forbidden") as err:
        file_exists("dbfs:/x", BrokenDbutils())
    assert isinstance(err.value.__cause__, RuntimeError)


# ---- 0.6.x storages in a flow -----------------------------------------------------------------


def test_flow_on_a_base_path_only_storage_runs_and_derives_0_6_paths(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils, "analysis")
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    fake_dbutils.notebook.register("clean", stub_outputs(fake_dbutils, "done"))
    flow = init_flow(storage, dbutils=fake_dbutils)

    flow.notebook("ingest").output("Orders").run()
    assert flow.notebook("clean").input("Orders").output("CleanOrders").run() == "done"

    assert flow["Orders"] == "dbfs:/lake/analysis/project/ingest/Orders.parquet"
    assert fake_dbutils.notebook.calls[1].arguments == {
        "Orders_in": "dbfs:/lake/analysis/project/ingest/Orders.parquet",
        "CleanOrders_out": "dbfs:/lake/analysis/project/clean/CleanOrders.parquet",
    }
    assert fake_dbutils.path_map.to_local(flow["CleanOrders"]).joinpath("_SUCCESS").exists()
    assert not storage.is_pending(flow["CleanOrders"])


def test_lazy_run_skips_when_outputs_exist(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils)
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    init_flow(storage, dbutils=fake_dbutils).notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 1
    again = init_flow(storage, dbutils=fake_dbutils)
    again.notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 1
    assert again["T"] == "dbfs:/lake/project/ingest/T.parquet"
    again.notebook("ingest").output("T").run(is_lazy=False)
    assert len(fake_dbutils.notebook.calls) == 2


def test_dag_run_keeps_history_and_versions_on_the_storage(fake_dbutils):
    storage = LakeStorage(None, fake_dbutils, "analysis")
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    fake_dbutils.notebook.register("agg", stub_outputs(fake_dbutils))

    def declare() -> dtflw.Flow:
        flow = init_flow(storage, dbutils=fake_dbutils, name="compat")
        flow.notebook("ingest").output("T").add()
        flow.notebook("agg").input("T").output("U").add()
        return flow

    first = declare().run(lazy="auto")
    assert [r.status for r in first] == ["succeeded", "succeeded"]
    assert fake_dbutils.path_map.to_local("dbfs:/lake/analysis/_dtflw/history").is_dir()
    assert len(declare().history()) == 2
    second = declare().run(lazy="auto")
    assert [r.status for r in second] == ["skipped", "skipped"]
    assert len(fake_dbutils.notebook.calls) == 2


def test_one_argument_exists_override_is_used(fake_dbutils):
    storage = CountingExistsStorage(None, fake_dbutils)
    fake_dbutils.notebook.register("ingest", lambda args: None)  # writes nothing
    flow = init_flow(storage, dbutils=fake_dbutils)

    storage.answer = True  # the override vouches for the output: no MissingOutputError
    flow.notebook("ingest").output("T").run()
    assert "dbfs:/lake/project/ingest/T.parquet" in storage.asked

    storage.answer = False
    with pytest.raises(MissingOutputError):
        flow.notebook("ingest").output("T").run()
    with pytest.raises(MissingInputError, match="does not exist"):
        flow.notebook("clean").input("Raw", file_path="raw/a.csv").run()
    assert storage.asked[-1] == "dbfs:/lake/raw/a.csv"


def test_one_argument_exists_override_decides_lazy_skips(fake_dbutils):
    storage = CountingExistsStorage(None, fake_dbutils)
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").output("T").run(is_lazy=True)
    flow.notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 1
    storage.answer = False  # the override says it is gone, though the files are there
    with pytest.raises(MissingOutputError):
        flow.notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 2


def test_half_written_output_is_not_complete_even_if_a_one_argument_exists_says_so(fake_dbutils):
    storage = CountingExistsStorage(None, fake_dbutils)

    def crash_after_writing(args: dict[str, str]) -> None:
        stub_outputs(fake_dbutils)(args)
        raise RuntimeError("died halfway")

    fake_dbutils.notebook.register("ingest", crash_after_writing)
    flow = init_flow(storage, dbutils=fake_dbutils)
    with pytest.raises(NotebookRunError, match="died halfway"):
        flow.notebook("ingest").output("T").run()
    table = "dbfs:/lake/project/ingest/T.parquet"
    assert storage.exists(table)  # the override alone would call it complete
    assert storage.is_pending(table)
    assert not storage.table_exists(table)
    assert storage.table_exists(table, ignore_pending=True)

    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow.notebook("ingest").output("T").run(is_lazy=True)  # not skipped: the marker is still there
    assert len(fake_dbutils.notebook.calls) == 2
    assert not storage.is_pending(table) and storage.table_exists(table)


def test_table_exists_passes_ignore_pending_to_exists_that_takes_it(fake_dbutils):
    seen: list[tuple[str, bool]] = []

    class NewStyle(LakeStorage):
        def exists(self, path: str, ignore_pending: bool = False) -> bool:
            seen.append((path, ignore_pending))
            return True

    class KwargsStyle(LakeStorage):
        def exists(self, path: str, **kwargs: Any) -> bool:  # type: ignore[override]
            seen.append((path, kwargs["ignore_pending"]))
            return True

    for cls in (NewStyle, KwargsStyle):
        storage = cls(None, fake_dbutils)
        owner = storage.mark_pending("dbfs:/lake/T", "nb")  # exists() decides alone: the marker is its business
        assert storage.table_exists("dbfs:/lake/T") and storage.table_exists("dbfs:/lake/T", ignore_pending=True)
        storage.clear_pending("dbfs:/lake/T", owner)  # one writer at a time
    assert seen == [("dbfs:/lake/T", False), ("dbfs:/lake/T", True)] * 2


def test_exists_signature_is_inspected_once_per_class(fake_dbutils, monkeypatch):
    class Fresh(CountingExistsStorage):
        pass

    inspected: list[object] = []
    real_signature = inspect.signature

    def counting_signature(obj: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
        inspected.append(obj)
        return real_signature(obj, *args, **kwargs)

    storage = Fresh(None, fake_dbutils)
    monkeypatch.setattr(inspect, "signature", counting_signature)
    for _ in range(3):
        assert not storage.table_exists("dbfs:/lake/T")
    assert inspected == [CountingExistsStorage.exists]
    assert storage.asked == ["dbfs:/lake/T"] * 3


def test_dtflw_backends_keep_their_own_exists(fake_dbutils):
    storage = DbfsStorage("", None, fake_dbutils)
    table = "dbfs:/t/T.parquet"
    write_parquet_stub(fake_dbutils.path_map.to_local(table))
    storage.mark_pending(table, "nb")
    assert not storage.table_exists(table) and storage.table_exists(table, ignore_pending=True)


def test_get_path_with_file_extension_override_changes_derived_paths(fake_dbutils):
    storage = DeltaLakeStorage(None, fake_dbutils, "gold")
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").output("Orders").run()
    assert flow["Orders"] == "dbfs:/lake/gold/project/ingest/Orders"
    assert fake_dbutils.notebook.calls[0].arguments == {"Orders_out": "dbfs:/lake/gold/project/ingest/Orders"}
    assert storage.derive_table_path("p/nb", "T") == "dbfs:/lake/gold/p/nb/T"


def test_read_table_override_is_used_for_schema_checks(fake_dbutils):
    storage = SchemaStorage(None, fake_dbutils, [("id", "int"), ("name", "string")])
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").output("T", cols=[("id", "int"), ("name", "string")]).run()
    assert storage.read == ["dbfs:/lake/root/project/ingest/T.parquet"]
    with pytest.raises(SchemaMismatchError, match="missing columns: amount"):
        flow.notebook("ingest").output("T", cols=[("id", "int"), ("amount", "double")]).run()


def test_base_read_table_is_used_for_schema_checks_with_the_storage_spark(fake_dbutils):
    spark = FakeSpark([("id", "int")])
    storage = LakeStorage(spark, fake_dbutils)
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").output("T", cols=[("id", "int")]).run()
    assert spark.reads == [("parquet", "dbfs:/lake/project/ingest/T.parquet")]
    with pytest.raises(SchemaMismatchError, match="mistyped columns: id"):
        flow.notebook("ingest").output("T", cols=[("id", "string")]).run()


def test_get_abs_path_override_that_always_prefixes_gets_only_relative_paths(fake_dbutils):
    storage = NaiveAbsPathStorage(None, fake_dbutils, "r")
    fake_dbutils.notebook.register("ingest", stub_outputs(fake_dbutils))
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").output("T").output("U", file_path="silver/U.parquet").run(is_lazy=True)
    assert flow["T"] == "dbfs:/lake/r/project/ingest/T.parquet"
    assert flow["U"] == "dbfs:/lake/silver/U.parquet"
    assert storage.exists(flow["T"]) and storage.version(flow["T"]) is not None
    assert not storage.is_pending(flow["T"])
    flow.notebook("ingest").output("T").run(is_lazy=True)
    assert len(fake_dbutils.notebook.calls) == 1


def test_list_override_with_the_0_6_signature_serves_glob_inputs(fake_dbutils):
    storage = OldListStorage(None, fake_dbutils)
    fake_dbutils.notebook.register("ingest", lambda args: None)
    flow = init_flow(storage, dbutils=fake_dbutils)
    flow.notebook("ingest").input("Raw", file_path="raw/*.csv").run()
    assert storage.listed == "dbfs:/lake/raw/*.csv"
    assert fake_dbutils.notebook.calls[0].arguments == {"Raw_in": "dbfs:/lake/raw/*.csv"}


# ---- 0.6.x constructors and factories of dtflw's own storages ---------------------------------


def test_dbfs_storage_and_init_storage_take_0_6_positional_arguments(fake_dbutils):
    spark = FakeSpark([])
    storage = DbfsStorage("FileStore/me", spark, fake_dbutils)
    assert (storage.root_dir, storage.spark, storage.dbutils) == ("FileStore/me", spark, fake_dbutils)
    made = dbfs_init_storage("FileStore/x", spark, fake_dbutils)
    assert isinstance(made, DbfsStorage) and made.root_dir == "FileStore/x" and made.spark is spark
    assert dbfs_init_storage().root_dir == "FileStore/user@example.com"  # 0.6.x default root_dir
    assert dbfs_init_storage(format="delta").format == "delta"  # 0.7 keyword still works


def test_azure_storage_and_init_storage_take_0_6_positional_arguments(fake_dbutils):
    spark = FakeSpark([])
    storage = AzureStorage("acct01", "data", "analysis", spark, fake_dbutils)
    assert storage.account_name == "acct01" and storage.container_name == "data"
    assert (storage.root_dir, storage.spark, storage.dbutils) == ("analysis", spark, fake_dbutils)
    assert storage.base_path == "wasbs://data@acct01.blob.core.windows.net/"
    made = azure_init_storage("acct01", "data", "analysis", spark, fake_dbutils)
    assert made.root_dir == "analysis" and made.spark is spark and made.dbutils is fake_dbutils
    assert azure_init_storage("acct01", "data").root_dir == "user@example.com"  # 0.6.x default root_dir
    assert azure_init_storage("acct01", "data", "x", protocol="abfss").base_path.startswith("abfss://")
    with pytest.raises(ValueError):  # 0.6.x raised ValueError for an empty name; InvalidArgumentError is one
        azure_init_storage("", "data", "x", spark, fake_dbutils)


def test_runtime_handles_installed_with_use_runtime_reach_0_6_storages(tmp_path):
    fake = FakeDbutils(fs_root=tmp_path / "dbfs")
    with db.use_runtime(dbutils=fake):
        storage = LakeStorage(None, None)
        fake.fs.put("dbfs:/lake/x.csv", "1", True)
        assert storage.list("dbfs:/lake/*.csv") == ["dbfs:/lake/x.csv"]


class PrefixingStorage(FileStorageBase):
    """0.6.x `get_abs_path`: always puts the base path in front (no check for absolute paths)."""

    @property
    def base_path(self) -> str:
        return LAKE

    def get_abs_path(self, rel_path):  # type: ignore[no-untyped-def]  # untyped, as 0.6.x code was
        return f"{self.base_path}{rel_path}"


def test_explicit_absolute_file_paths_are_not_prefixed_twice(tmp_path) -> None:
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    flow = init_flow(PrefixingStorage(None, dbutils), dbutils=dbutils)
    nb = flow.notebook("ingest").input("Raw", file_path=f"{LAKE}raw/a.csv").output("T", file_path=f"{LAKE}out/T")
    nb.input("Rel", file_path="raw/b.csv")
    assert nb.get_inputs()["Raw"].abs_file_path == "dbfs:/lake/raw/a.csv"
    assert nb.get_inputs()["Rel"].abs_file_path == "dbfs:/lake/raw/b.csv"
    assert nb.get_outputs()["T"].abs_file_path == "dbfs:/lake/out/T"
