"""Inputs nobody in the run writes are checked before any notebook starts."""

from __future__ import annotations

import pytest

from dtflw import init_flow
from dtflw.errors import MissingInputError
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils, write_parquet_stub, writes_outputs


@pytest.fixture
def setup(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    for name in ("ingest", "clean", "report"):
        dbutils.notebook.register(name, writes_outputs())
    return storage, dbutils, dbutils.notebook.calls  # every notebook.run, as called


def test_a_missing_explicit_input_fails_the_run_before_upstream_notebooks_start(setup):
    storage, dbutils, calls = setup
    flow = init_flow(storage, dbutils=dbutils, name="pre")
    flow.notebook("ingest").output("Raw").add()
    flow.notebook("clean").input("Raw").output("Clean").add()
    flow.notebook("report").input("Clean").input("Rates", file_path="ref/rates.csv").add()
    with pytest.raises(MissingInputError) as info:
        flow.run()
    assert calls == []
    assert info.value.notebook == "report" and info.value.table == "Rates" and "ref/rates.csv" in str(info.value)


def test_every_missing_input_is_listed_and_optional_ones_are_not(setup):
    storage, dbutils, calls = setup
    flow3 = init_flow(storage, dbutils=dbutils, name="pre3")
    flow3.notebook("ingest").input("Seed", file_path="seed/*.csv").input(
        "Maybe", file_path="m.csv", is_optional=True
    ).output("Raw").add()
    flow3.notebook("clean").input("Rates", file_path="rates.csv").add()
    with pytest.raises(MissingInputError) as info:
        flow3.run()
    text = str(info.value)
    assert "matches no file" in text and "Also missing: clean: Rates" in text and "Maybe" not in text
    assert calls == []


def test_an_input_of_a_notebook_left_out_of_the_selection_must_exist_already(setup):
    storage, dbutils, calls = setup
    flow = init_flow(storage, dbutils=dbutils, name="pre")
    flow.notebook("ingest").output("Raw").add()
    flow.notebook("clean").input("Raw").output("Clean").add()
    with pytest.raises(MissingInputError, match="no notebook selected for this run writes it"):
        flow.run(only=["clean"])
    assert calls == []
    write_parquet_stub(storage.derive_table_path("project/ingest", "Raw"))
    again = init_flow(storage, dbutils=dbutils, name="pre")
    again.notebook("ingest").output("Raw").add()
    again.notebook("clean").input("Raw").output("Clean").add()
    assert again.run(only=["clean"]).ok and [c.path for c in calls] == ["clean"]
