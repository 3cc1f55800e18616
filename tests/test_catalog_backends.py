"""The catalogue on every storage backend: DBFS through (fake) dbutils.fs, Azure Blob on Azurite,
and its frames as Spark DataFrames."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from dtflw.catalog import Catalog
from dtflw.run.history import HistoryStore, RunRecord, TableVersion, new_run_id
from dtflw.storage import storage_from_url
from dtflw.storage.base import Storage
from dtflw.testing import FakeDbutils

_names = itertools.count()


def record_runs(storage: Storage) -> list[str]:
    """Two runs of a two-notebook flow written through the storage's own history store."""
    store = HistoryStore(storage)
    orders, clean = storage.get_abs_path("t/Orders"), storage.get_abs_path("t/Clean")
    run_ids = []
    for n in range(2):
        run_id = new_run_id()
        run_ids.append(run_id)
        now = time.time()
        store.append(RunRecord(run_id, "a", "ingest", "/nb/ingest", 1, "succeeded", {"n": str(n)}, (),
                               (TableVersion("Orders", orders, f"v{n}"),), now, now + 2))  # fmt: skip
        store.append(RunRecord(run_id, "a", "clean", "/nb/clean", 1, "failed" if n else "succeeded", {},
                               (TableVersion("Orders", orders, f"v{n}"),), (TableVersion("Clean", clean, None),),
                               now + 2, now + 3))  # fmt: skip
        store.flush()
        time.sleep(0.01)
    return run_ids


def check(storage: Storage) -> None:
    first, second = record_runs(storage)
    catalog = Catalog(storage)
    assert catalog.who_writes("Orders") == ["/nb/ingest"] and catalog.who_reads("Orders") == ["/nb/clean"]
    assert catalog.impact("Orders")["notebooks"] == ["/nb/clean"]
    assert catalog.failing() == [("/nb/clean", 0.5, 1)]
    assert {(c.notebook, c.what) for c in catalog.diff(first, second)} == {
        ("/nb/ingest", "args"),
        ("/nb/clean", "input Orders"),
        ("/nb/clean", "status"),
    }
    assert catalog.index(min_age_seconds=0) == 2
    again = Catalog(storage)
    assert again.records(kind="records") == catalog.records(kind="records")


def test_catalog_on_dbfs_through_dbutils(tmp_path: Path) -> None:
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    check(storage_from_url("dbfs:/FileStore/me", dbutils=dbutils))
    assert list((tmp_path / "dbfs" / "FileStore" / "me" / "_dtflw" / "history" / "_index").glob("*.json"))


@pytest.mark.azurite
def test_catalog_on_azure_blob(azurite: str, azurite_server: Any) -> None:
    from dtflw.storage.azure import AzureStorage
    from dtflw.testing.azurite import DEV_ACCOUNT

    container = f"catalog-{next(_names)}"
    client = azurite_server.container(container)
    check(AzureStorage(DEV_ACCOUNT, container, "", credential=azurite))
    assert any(b.name.startswith("_dtflw/history/_index/") for b in client.list_blobs())


@pytest.mark.spark
def test_frames_are_spark_dataframes_when_asked(spark_session: Any, tmp_path: Path) -> None:
    _ = spark_session.spark
    from dtflw.storage.local import LocalStorage

    storage = LocalStorage(tmp_path / "t")
    record_runs(storage)
    frame = Catalog(storage).runs(kind="spark")
    assert frame.count() == 2 and "run_id" in frame.columns
    tables = Catalog(storage).tables(kind="spark")
    assert sorted(r.path.rsplit("/", 1)[1] for r in tables.collect()) == ["Clean", "Orders"]
