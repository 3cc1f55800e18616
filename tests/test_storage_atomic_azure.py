"""Owner-based pending markers and run history on the Blob API, against Azurite."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

import pytest

from dtflw.errors import ConcurrentWriteError
from dtflw.run.history import HistoryStore, RunRecord, new_run_id
from dtflw.storage.azure import AzureStorage
from dtflw.testing.azurite import DEV_ACCOUNT, Azurite, RequestCounter

pytestmark = pytest.mark.azurite
_names = itertools.count()


@pytest.fixture
def blobs(azurite: str, azurite_server: Azurite) -> tuple[AzureStorage, RequestCounter, Any]:
    name = f"atomic-{next(_names)}"
    client = azurite_server.container(name)
    counter = RequestCounter()
    storage = AzureStorage(DEV_ACCOUNT, name, "", credential=azurite, client_options={"raw_request_hook": counter})
    return storage, counter, client


def test_owner_markers_on_blobs_keep_exists_at_one_request(blobs):
    storage, requests, client = blobs
    client.upload_blob("t/T.parquet/part-0.parquet", b"PAR1")
    p1 = storage.mark_pending("t/T.parquet", "nb", lease_seconds=0.01)
    time.sleep(0.05)  # P1's lease runs out: a later writer may proceed
    p2 = storage.mark_pending("t/T.parquet", "nb")
    requests.take()
    assert not storage.exists("t/T.parquet") and requests.take() == 1  # the owner entries are in the page
    storage.clear_pending("t/T.parquet", p1)
    assert storage.is_pending("t/T.parquet") and storage.pending_owners("t/T.parquet") == [p2]
    storage.clear_pending("t/T.parquet", p2)
    storage.clear_pending("t/T.parquet", p2)  # idempotent
    requests.take()
    assert storage.exists("t/T.parquet") and requests.take() == 1
    assert sorted(b.name for b in client.list_blobs()) == ["t/T.parquet/part-0.parquet"]


def test_a_legacy_blob_marker_is_pending_and_superseded(blobs):
    storage, _, client = blobs
    client.upload_blob("t/T.parquet/part-0.parquet", b"PAR1")
    client.upload_blob("t/T.parquet._dtflw_pending", b"written by notebook old\n")
    assert storage.is_pending("t/T.parquet") and not storage.exists("t/T.parquet")
    owner = storage.mark_pending("t/T.parquet", "nb")
    storage.clear_pending("t/T.parquet", owner)
    assert storage.exists("t/T.parquet")


def test_concurrent_clears_on_blobs_never_raise(blobs):
    storage, _, client = blobs
    client.upload_blob("t/T.parquet/part-0.parquet", b"PAR1")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                try:
                    owner = storage.mark_pending("t/T.parquet", "nb")
                except ConcurrentWriteError:  # another thread holds it: this one withdrew
                    continue
                storage.clear_pending("t/T.parquet", owner)
                storage.clear_pending("t/T.parquet", owner)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and storage.exists("t/T.parquet")


def test_a_second_live_writer_on_blobs_fails_up_front_naming_the_first(blobs):
    storage, requests, client = blobs
    client.upload_blob("t/T.parquet/part-0.parquet", b"PAR1")
    p1 = storage.mark_pending("t/T.parquet", "/Repos/p/ingest", owner="run-1.a", lease_seconds=60, run_id="run-1")
    requests.take()
    with pytest.raises(ConcurrentWriteError, match=r"run run-1 .*notebook '/Repos/p/ingest'") as caught:
        storage.mark_pending("t/T.parquet", "/Repos/p/ingest", lease_seconds=60)
    assert caught.value.owner == p1 and caught.value.run_id == "run-1"
    assert storage.pending_owners("t/T.parquet") == [p1]  # the second writer left nothing behind
    storage.clear_pending("t/T.parquet", p1)
    assert storage.exists("t/T.parquet")
    assert sorted(b.name for b in client.list_blobs()) == ["t/T.parquet/part-0.parquet"]


def test_history_on_blobs_skips_a_corrupt_record_and_merges_latest(blobs, caplog):
    storage, _, client = blobs
    store = HistoryStore(storage)
    run_id = new_run_id()
    store.append(RunRecord(run_id, "f", "a", "/nb/a", 1, "succeeded", ended=1.0))
    store.flush()  # records are buffered per run and written in batches
    client.upload_blob(f"_dtflw/history/{run_id}/00000-bad.json", b"\x00\xff")
    caplog.set_level(logging.WARNING, logger="dtflw.run.history")
    assert [r.key for r in store.records(run_id)] == ["a"]
    assert "00000-bad.json" in caplog.text
    store.save_latest_successes("f", {"a": {"ended": 1.0, "key": "a"}})
    HistoryStore(storage).save_latest_successes("f", {"b": {"ended": 2.0, "key": "b"}})
    assert set(store.latest_successes("f")) == {"a", "b"}
