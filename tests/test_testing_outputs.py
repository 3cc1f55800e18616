"""dtflw.testing.outputs: output-table stubs for FakeDbutils notebook handlers."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtflw import init_flow
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_outputs, write_parquet_stub


def test_write_parquet_stub_makes_a_complete_parquet_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "tables")
    path = storage.get_abs_path("a/T.parquet")

    write_parquet_stub(path)
    write_parquet_stub(path)  # again: overwrites, no error

    assert sorted(p.name for p in Path(path).iterdir()) == ["_SUCCESS", "part-00000.parquet"]
    assert storage.exists(path)


def test_write_outputs_stubs_only_output_arguments_and_returns_the_exit_value(tmp_path: Path) -> None:
    handler = write_outputs("done")
    out, inp = tmp_path / "T.parquet", tmp_path / "S.parquet"

    assert handler({"T_out": str(out), "S_in": str(inp), "day": "2024-01-01"}) == "done"
    assert (out / "_SUCCESS").is_file()
    assert not inp.exists()
    assert write_outputs()({}) is None


def test_write_outputs_satisfies_a_flows_output_check(tmp_path: Path) -> None:
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    flow = init_flow(storage, dbutils=dbutils)
    dbutils.notebook.register("ingest", write_outputs("ok"))
    dbutils.notebook.register("report", write_outputs())

    assert flow.notebook("ingest").output("Orders").output("Customers").run() == "ok"
    flow.notebook("report").input("Orders").output("Report").run()

    assert storage.exists(flow["Orders"]) and storage.exists(flow["Customers"]) and storage.exists(flow["Report"])
    assert dbutils.notebook.calls[1].arguments["Orders_in"] == flow["Orders"]


def test_uris_are_stubbed_inside_the_fake_file_system(tmp_path: Path, monkeypatch) -> None:
    from dtflw.errors import InvalidArgumentError
    from dtflw.storage.dbfs import DbfsStorage

    monkeypatch.chdir(tmp_path)
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    flow = init_flow(DbfsStorage("lake", dbutils=dbutils), dbutils=dbutils)
    dbutils.notebook.register("ingest", write_outputs("ok", dbutils=dbutils))
    assert flow.notebook("ingest").output("Orders").run() == "ok"
    assert flow["Orders"].startswith("dbfs:/lake/") and flow.ctx.storage.exists(flow["Orders"])
    assert not (tmp_path / "dbfs:").exists()  # nothing written to a folder named after the scheme
    with pytest.raises(InvalidArgumentError, match="not a local path"):
        write_parquet_stub("dbfs:/lake/x")  # no dbutils given and none installed
