"""AzureStorage on the Blob API, against Azurite: rules, request bounds, errors, secrets.

Request counts come from a `raw_request_hook` handed to the SDK client, so every HTTP attempt
(retries included) is counted where it is sent.
"""

from __future__ import annotations

import http.server
import itertools
import logging
import re
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.azure import AzureStorage, init_storage
from dtflw.storage.base import Storage
from dtflw.testing import FakeDbutils
from dtflw.testing.azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY, Azurite, RequestCounter, put_blobs

pytestmark = pytest.mark.azurite

MANY = 2000  # part files in the big folder: thousands of blobs, seeded in a few seconds
TREE = "tree"
FOLDER = {"hdi_isfolder": "true"}

# Every blob of the read-only tree; folder markers are listed apart (dbutils.fs cannot make them).
BLOBS = [
    *[f"tables/Small.parquet/part-{i:05d}.parquet" for i in range(10)],
    "tables/Small.parquet/_SUCCESS",
    *[f"tables/Temp.parquet/_temporary/0/part-{i:05d}.parquet" for i in range(3)],
    "tables/NoSuccess.parquet/_started_1",
    "tables/NoSuccess.parquet/part-00000.parquet",
    "tables/Started.parquet/_committed_1",
    "tables/Started.parquet/_started_1",
    "tables/Started.parquet/_temporary/0/x",
    "tables/Hidden.parquet/.hidden",
    "tables/Hidden.parquet/_meta",
    "tables/Single.parquet",
    "tables/Sibling.parquet-old/part-0.parquet",
    "tables/Sibling.parquet.bak",
    "tables/Sibling.parquet/part-0.parquet",
    "tables/SiblingOnly.parquet-old/part-0.parquet",
    *[f"tables/Underscores.parquet/_a{i}" for i in range(10)],
    "tables/Underscores.parquet/part-0.parquet",
    "tables/Partitioned.parquet/year=2021/part-0.parquet",
    "tables/Delta/_delta_log/00000000000000000000.crc",
    "tables/Delta/_delta_log/00000000000000000000.json",
    "tables/Delta/_delta_log/00000000000000000001.json",
    "tables/Delta/part-0.parquet",
    "tables/DeltaNoCommit/_delta_log/_last_checkpoint",
    "tables/DeltaNoCommit/part-0.parquet",
    "tables/Plain/part-0.parquet",
    "few/2021/_SUCCESS",
    *[f"few/2021/part-{i:04d}.csv" for i in range(10)],
    "many/2021/_SUCCESS",
    *[f"many/2021/part-{i:04d}.csv" for i in range(MANY)],
    *[f"wide/d{i:02d}/f.csv" for i in range(12)],
    "raw/2021/a.csv",
    "raw/2021/b.txt",
    "raw/2022/c.csv",
    "raw/x2022/d.csv",
    "other/e.csv",
    "raw/2023._dtflw_pending",
]
MARKERS = ["markers/Empty.parquet", "markers/Full.parquet", "markers/Busy.parquet._dtflw_pending"]
MARKED = ["markers/Full.parquet/_SUCCESS", "markers/Busy.parquet/_SUCCESS", "markers/Slashed.parquet/part-0.parquet"]
PLACEHOLDERS = ["markers/Slashed.parquet/", "markers/OnlySlash.parquet/"]  # folder blobs named with a '/'


# Expected existence (parquet format, then delta format) for paths of the tree.
EXPECTED = {
    "tables/Small.parquet": (True, True),
    "tables/Temp.parquet": (False, False),
    "tables/NoSuccess.parquet": (True, True),
    "tables/Started.parquet": (False, False),
    "tables/Hidden.parquet": (False, False),
    "tables/Single.parquet": (True, True),
    "tables/Sibling.parquet": (True, True),
    "tables/SiblingOnly.parquet": (False, False),
    "tables/Underscores.parquet": (True, True),
    "tables/Partitioned.parquet": (True, True),
    "tables/Delta": (True, True),
    "tables/DeltaNoCommit": (True, False),
    "tables/Plain": (True, True),
    "tables/Missing.parquet": (False, False),
    "tables/Missing": (False, False),
    "many/2021": (True, True),
    "few/2021": (True, True),
    "raw/2021/a.csv": (True, True),
}
MARKER_EXPECTED = {
    "markers/Empty.parquet": False,
    "markers/Full.parquet": True,
    "markers/Busy.parquet": False,
    "markers/Slashed.parquet": True,
    "markers/OnlySlash.parquet": False,
}


@pytest.fixture(scope="module")
def tree(azurite_server: Azurite) -> str:
    """The read-only container, seeded once (parallel small uploads)."""
    client = azurite_server.container(TREE)
    put_blobs(client, BLOBS + MARKED)
    put_blobs(client, MARKERS, data=b"", metadata=FOLDER)
    put_blobs(client, PLACEHOLDERS, data=b"")
    return TREE


_names = itertools.count()


@pytest.fixture
def work(azurite_server: Azurite) -> Any:
    """A fresh, empty container for a test that writes (its ContainerClient)."""
    return azurite_server.container(f"work-{next(_names)}")


def blob_storage(connection_string: str, container: str = TREE, **kwargs: Any) -> tuple[AzureStorage, RequestCounter]:
    counter = RequestCounter()
    storage = AzureStorage(
        DEV_ACCOUNT, container, "", credential=connection_string, client_options={"raw_request_hook": counter}, **kwargs
    )
    return storage, counter


def names(client: Any, prefix: str = "") -> list[str]:
    return sorted(b.name for b in client.list_blobs(name_starts_with=prefix or None))


# ---- existence ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_exists_follows_the_base_rules_and_matches_dbutils_fs(azurite, tree, tmp_path, fmt):
    storage, _ = blob_storage(azurite, format=fmt)
    dbutils = FakeDbutils(fs_root=tmp_path)
    fallback = AzureStorage(DEV_ACCOUNT, TREE, "", dbutils=dbutils, format=fmt)
    for name in BLOBS:
        local = dbutils.path_map.to_local(fallback.get_abs_path(name))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text("x")
    column = 0 if fmt == "parquet" else 1
    for path, expected in EXPECTED.items():
        abs_path = storage.get_abs_path(path)
        assert storage.exists(path) is expected[column], path
        assert Storage._table_is_complete(storage, abs_path) is expected[column], path  # base algorithm
        assert fallback.exists(path) is expected[column], path  # dbutils.fs, same layout on disk
    for path, expected in MARKER_EXPECTED.items():
        assert storage.exists(path) is expected, path
        complete = expected or path == "markers/Busy.parquet"  # complete, but pending
        assert Storage._table_is_complete(storage, storage.get_abs_path(path)) is complete, path
    assert storage.list("markers/*") == [
        storage.get_abs_path(f"markers/{name}.parquet") for name in ("Busy", "Empty", "Full", "OnlySlash", "Slashed")
    ]
    assert storage.list("markers/Slashed.parquet/*") == [storage.get_abs_path("markers/Slashed.parquet/part-0.parquet")]
    assert storage.is_pending("markers/Busy.parquet")  # a folder marker, as dbutils.fs.mkdirs leaves
    with pytest.raises(InvalidArgumentError, match=r"list\(\)"):
        storage.exists("tables/*.parquet")


def test_exists_is_one_request_whatever_the_table_size(azurite, tree):
    storage, requests = blob_storage(azurite)
    delta, delta_requests = blob_storage(azurite, format="delta")
    for path in ("few/2021", "many/2021", "tables/Single.parquet", "tables/Started.parquet"):
        storage.exists(path, ignore_pending=True)
        assert requests.take() == 1, path
    assert storage.exists("many/2021") and requests.take() == 1  # the marker would be in the same page
    storage.mark_pending("many/2021", "nb")
    requests.take()
    assert not storage.exists("many/2021") and requests.take() == 1
    storage.clear_pending("many/2021")
    requests.take()
    assert not storage.exists("tables/Missing.parquet") and requests.take() == 1  # no marker check
    assert delta.exists("tables/Delta", ignore_pending=True) and delta_requests.take() == 1
    assert delta.exists("tables/Delta") and delta_requests.take() == 1
    assert not delta.exists("tables/Missing") and delta_requests.take() == 2  # no commit, nothing at all


def test_tables_exist_asks_several_at_a_time_and_answers_as_exists(azurite, tree):
    """What a lazy run asks before it starts: every output at once, a request each, in parallel."""
    storage, requests = blob_storage(azurite)
    paths = [*EXPECTED, *MARKER_EXPECTED]
    one_by_one = [storage.table_exists(p) for p in paths]
    assert one_by_one == [e[0] for e in EXPECTED.values()] + list(MARKER_EXPECTED.values())
    sent = requests.take()
    assert storage.tables_exist(paths, max_workers=8) == one_by_one
    assert requests.take() == sent  # the same requests, only not one after another


def test_a_flow_on_blob_storage_runs_then_skips_what_is_there(azurite, work):
    """End to end on Azurite: pending markers and history on the container, outputs checked in
    one go by the lazy run, a deleted output brought back."""
    from dtflw import Logger, init_flow

    storage, _ = blob_storage(azurite, container=work.container_name)
    dbutils = FakeDbutils()

    def writer(args: dict[str, str]) -> None:
        for key, value in args.items():
            if key.endswith("_out"):
                put_blobs(work, [value[len(storage.base_path) :] + "/part-0.parquet"])

    def declared() -> Any:
        flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"), name="blobs")
        flow.notebook("a").output("A").add()
        flow.notebook("b").input("A").output("B").add()
        flow.notebook("c").input("B").output("C").add()
        return flow

    for name in "abc":
        dbutils.notebook.register(name, writer)
    first = declared()
    assert [r.status for r in first.run(max_workers=2)] == ["succeeded"] * 3
    assert not [n for n in names(work) if "_dtflw_pending" in n]  # every marker cleared
    assert [r.status for r in declared().run(max_workers=4, lazy=True)] == ["skipped"] * 3
    storage.delete(first["B"])
    again = declared().run(max_workers=4, lazy=True)
    assert [(r.notebook, r.status) for r in again] == [("a", "skipped"), ("b", "succeeded"), ("c", "skipped")]
    assert len({n.split("/")[2] for n in names(work, "_dtflw/history/") if n.endswith(".jsonl")}) == 3  # runs


# ---- globs ----------------------------------------------------------------------------------
def test_glob_matches_per_segment(azurite, tree):
    storage, _ = blob_storage(azurite)
    base = storage.base_path
    assert storage.list("raw/20??/*.csv") == [f"{base}raw/2021/a.csv", f"{base}raw/2022/c.csv"]
    assert storage.list(f"{base}raw/*/[bc].*") == [f"{base}raw/2021/b.txt", f"{base}raw/2022/c.csv"]
    assert storage.list("raw/[!x]*") == [f"{base}raw/2021", f"{base}raw/2022"]  # the marker never matches
    assert storage.list("raw/2021/a.csv") == [f"{base}raw/2021/a.csv"]
    assert storage.list("raw/*/none*") == [] and storage.list("missing/*") == []
    assert storage.list("tables/Sibling.parquet*") == [
        f"{base}tables/Sibling.parquet",
        f"{base}tables/Sibling.parquet-old",
        f"{base}tables/Sibling.parquet.bak",
    ]
    assert len(storage.list("many/2021/part-*.csv")) == MANY
    assert storage.list("*") == [f"{base}{top}" for top in ("few", "many", "markers", "other", "raw", "tables", "wide")]


def test_glob_requests_grow_with_matching_folders_not_files(azurite, tree, monkeypatch):
    storage, requests = blob_storage(azurite)
    for pattern, expected in [("{}/20*", 1), ("{}/*/_SUCCESS", 2), ("{}/2021/part-000?.csv", 1)]:
        few = storage.list(pattern.format("few"))
        assert requests.take() == expected, pattern
        many = storage.list(pattern.format("many"))
        assert requests.take() == expected, pattern  # 10 or 2,000 files: the same requests
        assert len(few) == len(many)
    assert len(storage.list("wide/d0?/*.csv")) == 10 and requests.take() == 11  # 1 + 10 matching folders
    assert len(storage.list("wide/d1?/*.csv")) == 2 and requests.take() == 3
    # With 100 entries per page, the folder of 2,001 blobs would take 21 pages; the literal
    # start of the segment ('part-000') prunes the listing to one.
    monkeypatch.setattr("dtflw.storage.azure_blob.PAGE_SIZE", 100)
    assert len(storage.list("many/2021/part-000?.csv")) == 10 and requests.take() == 1
    assert len(storage.list("many/2021/*.csv")) == MANY and requests.take() == 21


# ---- versions, size, pending, delete --------------------------------------------------------
def test_versions_change_with_the_table(azurite, work):
    storage, _ = blob_storage(azurite, work.container_name, format="delta")
    put_blobs(work, ["d/T/_delta_log/00000000000000000000.json", "d/T/part-0.parquet"])
    assert storage.version("d/T") == "delta:0"
    put_blobs(work, ["d/T/_delta_log/00000000000000000001.json", "d/T/_delta_log/00000000000000000001.crc"])
    assert storage.version("d/T") == "delta:1"
    files, _ = blob_storage(azurite, work.container_name)
    put_blobs(work, ["p/T.parquet/_SUCCESS", "p/T.parquet/part-0.parquet", "p/S.parquet"])
    v1 = files.version("p/T.parquet")
    put_blobs(work, ["p/T.parquet/year=2021/part-1.parquet"])  # a change below a sub-folder counts too
    v2 = files.version("p/T.parquet")
    assert v1 and v2 and v1 != v2 and v1.startswith("files:")
    single = files.version("p/S.parquet")
    put_blobs(work, ["p/S.parquet"], data=b"longer")
    assert single and files.version("p/S.parquet") not in (None, single)
    assert files.version("p/None.parquet") is None
    assert files.version("p/*.parquet") is not None
    assert files.size("p/T.parquet") == 3 and files.size("p/S.parquet") == 6 and files.size("p/None") is None


def test_pending_markers_hide_tables_until_cleared(azurite, work):
    storage, _ = blob_storage(azurite, work.container_name)
    put_blobs(work, ["t/T.parquet/_SUCCESS", "t/T.parquet/part-0.parquet"])
    assert storage.exists("t/T.parquet") and not storage.is_pending("t/T.parquet")
    storage.mark_pending("t/T.parquet", "/Users/u/nb")
    assert storage.is_pending("t/T.parquet") and not storage.exists("t/T.parquet")
    assert storage.exists("t/T.parquet", ignore_pending=True)
    assert storage.list("t/*") == [storage.get_abs_path("t/T.parquet")]
    storage.clear_pending("t/T.parquet")
    assert storage.exists("t/T.parquet") and names(work, "t/_dtflw") == []


def test_small_text_files_round_trip(azurite, work):
    storage, _ = blob_storage(azurite, work.container_name)
    storage._write_text(storage.get_abs_path("history/run-1.json"), '{"état": 1}')
    assert storage._read_text(storage.get_abs_path("history/run-1.json")) == '{"état": 1}'
    assert storage._read_text(storage.get_abs_path("history/none.json")) is None
    assert storage._read_text(storage.get_abs_path("history")) is None  # a folder is no text file
    missing, _ = blob_storage(azurite, "no-such-container")
    with pytest.raises(StorageError, match="container does not exist"):
        missing._read_text(missing.get_abs_path("history/run-1.json"))


def test_delete_removes_table_and_marker_but_not_siblings(azurite, work):
    storage, requests = blob_storage(azurite, work.container_name)
    parts = [f"t/T.parquet/p={i % 3}/part-{i:04d}.parquet" for i in range(300)]
    put_blobs(work, [*parts, "t/T.parquet/_SUCCESS", "t/T.parquet.bak", "t/T.parquet-old/x"])
    put_blobs(work, ["t/T.parquet/p=0"], data=b"", metadata=FOLDER)  # a folder marker goes last
    storage.mark_pending("t/T.parquet", "nb")
    requests.take()
    storage.delete("t/T.parquet")
    assert names(work) == ["t/T.parquet-old/x", "t/T.parquet.bak"]
    assert requests.take() == 1 + 2 + 2  # listing, 2 batches of <= 256 blobs, marker: listing + delete
    assert not storage.exists("t/T.parquet")
    storage.delete("t/T.parquet")  # deleting what is gone is fine


# ---- paths ----------------------------------------------------------------------------------
def test_abfss_and_wasbs_paths_reach_the_same_blobs(azurite, tree):
    wasbs, _ = blob_storage(azurite)
    abfss, _ = blob_storage(azurite, protocol="abfss")
    assert abfss.base_path == f"abfss://{TREE}@{DEV_ACCOUNT}.dfs.core.windows.net/"
    assert abfss.exists(f"{abfss.base_path}tables/Small.parquet") and wasbs.exists("tables/Small.parquet")
    assert (
        [p.split("/", 3)[3] for p in abfss.list("raw/20*/*.csv")]
        == [p.split("/", 3)[3] for p in wasbs.list("raw/20*/*.csv")]
        == ["raw/2021/a.csv", "raw/2022/c.csv"]
    )
    assert abfss.version("tables/Small.parquet") == wasbs.version("tables/Small.parquet")
    with pytest.raises(StorageError, match="not on this storage"):
        abfss.exists(f"{wasbs.base_path}tables/Small.parquet")
    via_url = AzureStorage.from_url(f"abfss://{TREE}@{DEV_ACCOUNT}.dfs.core.windows.net/tables", credential=azurite)
    assert via_url.root_dir == "tables" and via_url.exists(via_url.get_path_in_root_dir("Small.parquet"))


# ---- credentials ----------------------------------------------------------------------------
def _sas(container: str, key: str = DEV_ACCOUNT_KEY) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        DEV_ACCOUNT,
        container,
        account_key=key,
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True, list=True),
    )


def test_every_credential_form_reaches_the_container(azurite_server, tree):
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    endpoint = azurite_server.blob_endpoint
    forms = {
        "account key": DEV_ACCOUNT_KEY,
        "SAS token": "?" + _sas(TREE),
        "named key credential": AzureNamedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
        "SAS credential": AzureSasCredential(_sas(TREE)),
    }
    for kind, credential in forms.items():
        storage = AzureStorage(DEV_ACCOUNT, TREE, "tables", credential=credential, endpoint=endpoint)
        assert storage.auth == kind
        assert storage.exists(storage.get_path_in_root_dir("Small.parquet")), kind
    bare_sas = AzureStorage(DEV_ACCOUNT, TREE, credential=_sas(TREE), endpoint=endpoint)
    assert bare_sas.auth == "SAS token" and bare_sas.exists("tables/Single.parquet")

    class Token:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("not called in this test")

    assert AzureStorage(DEV_ACCOUNT, TREE, credential=Token()).auth == "token credential (Token)"


def test_wrong_key_and_sas_are_rejected_without_leaking(azurite_server, tree, caplog):
    caplog.set_level(logging.DEBUG)  # the SDK's own request logging must not leak either
    wrong_key = "A" * 86 + "=="
    wrong_sas = _sas(TREE, key=wrong_key)
    for secret in (wrong_key, wrong_sas):
        storage = AzureStorage(DEV_ACCOUNT, TREE, credential=secret, endpoint=azurite_server.blob_endpoint)
        with pytest.raises(StorageError, match="credentials were rejected") as caught:
            storage.exists("tables/Small.parquet")
        shown = "".join(traceback.format_exception(caught.value)) + repr(storage) + repr(storage._blobs)
        shown += caplog.text
        assert f"'{DEV_ACCOUNT}'" in str(caught.value) and f"'{TREE}'" in str(caught.value)
        signature = wrong_sas.split("sig=")[1]
        assert secret not in shown and signature not in shown and unquote(signature) not in shown
        assert re.findall(r"sig=(?!REDACTED|\*)", shown) == []


def test_missing_container_is_a_clear_error(azurite):
    storage, _ = blob_storage(azurite, "no-such-container")
    for call in (lambda: storage.exists("t/T.parquet"), lambda: storage.list("t/*"), storage.check_access):
        with pytest.raises(
            StorageError,
            match=r"account 'devstoreaccount1', container 'no-such-container': "
            r"the container does not exist",
        ):
            call()


def test_configuration_mistakes_are_clear_and_show_no_secret(azurite, monkeypatch):
    with pytest.raises(InvalidArgumentError, match="account name"):
        AzureStorage("Bad_Account", "data", credential=azurite)
    with pytest.raises(InvalidArgumentError, match="container name"):
        AzureStorage(DEV_ACCOUNT, "Bad--name", credential=azurite)
    with pytest.raises(InvalidArgumentError, match="connection string is for Azure storage account 'devstoreaccount1'"):
        AzureStorage("otheraccount", "data", credential=azurite)
    with pytest.raises(InvalidArgumentError, match="carries its own endpoint"):
        AzureStorage(DEV_ACCOUNT, "data", credential=azurite, endpoint="http://127.0.0.1:1/x")
    with pytest.raises(InvalidArgumentError, match="must not carry a query") as caught:
        AzureStorage(DEV_ACCOUNT, "data", credential=DEV_ACCOUNT_KEY, endpoint="https://h/x?sv=1&sig=SECRET")
    assert "SECRET" not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="not recognised") as caught:
        AzureStorage(DEV_ACCOUNT, "data", credential="not a key!")
    assert "not a key!" not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="type int is not supported"):
        AzureStorage(DEV_ACCOUNT, "data", credential=42)
    with pytest.raises(InvalidArgumentError, match="need a credential"):
        AzureStorage(DEV_ACCOUNT, "data", endpoint="http://127.0.0.1:1/x")
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    with pytest.raises(StorageError, match="needs the azure-identity package"):
        AzureStorage(DEV_ACCOUNT, "data", credential="default")


def test_repr_shows_the_kind_of_credential_never_the_secret(azurite):
    storage, _ = blob_storage(azurite)
    shown = repr(storage) + str(vars(storage).get("_blobs"))
    assert "auth='connection string'" in shown and "endpoint='http://127.0.0.1:" in shown
    assert DEV_ACCOUNT_KEY not in shown and "AccountKey" not in shown
    fallback = AzureStorage(DEV_ACCOUNT, TREE, dbutils=FakeDbutils())
    assert "auth='dbutils.fs'" in repr(fallback)
    sas_string = "BlobEndpoint=https://acct01.blob.core.windows.net;SharedAccessSignature=sv=2024-01-01&sig=SECRETSIG"
    with_sas = AzureStorage("acct01", "data", credential=sas_string)
    assert with_sas.auth == "connection string" and "SECRETSIG" not in repr(with_sas) + repr(with_sas._blobs)


# ---- throttling -------------------------------------------------------------------------------
class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers every request as a throttled storage service does."""

    def _busy(self) -> None:
        body = b"<?xml version='1.0'?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>"
        self.send_response(503)
        self.send_header("x-ms-error-code", "ServerBusy")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_DELETE = _busy

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def busy_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{DEV_ACCOUNT}"
    server.shutdown()
    server.server_close()


def test_throttling_is_retried_with_backoff_then_a_clear_error(busy_endpoint):
    from azure.storage.blob import ExponentialRetry

    counter = RequestCounter()
    retry = ExponentialRetry(initial_backoff=0.01, increment_base=0.01, retry_total=2, random_jitter_range=0)
    storage = AzureStorage(
        DEV_ACCOUNT,
        "data",
        credential=DEV_ACCOUNT_KEY,
        endpoint=busy_endpoint,
        client_options={"retry_policy": retry, "raw_request_hook": counter},
    )
    with pytest.raises(StorageError, match=r"container 'data': throttled after 2 retries .*HTTP 503 ServerBusy"):
        storage.exists("t/T.parquet")
    assert counter.count == 3


# ---- without a credential: dbutils.fs, as in 0.6.x --------------------------------------------
def test_without_credential_dbutils_fs_does_the_work(tmp_path):
    dbutils = FakeDbutils(fs_root=tmp_path)
    storage = AzureStorage(DEV_ACCOUNT, "data", "me", dbutils=dbutils, protocol="abfss")
    assert storage.auth == "dbutils.fs" and storage._blobs is None
    table = storage.get_abs_path("me/T.parquet")
    folder = dbutils.path_map.to_local(table)
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"PAR1")
    (folder / "_SUCCESS").write_text("")
    assert storage.exists(table) and storage.list("me/*") == [table]
    assert storage.size(table) == 4 and storage.version(table)
    storage.mark_pending(table, "nb")
    assert not storage.exists(table)
    storage.delete(table)
    assert not folder.exists() and not storage.is_pending(table)
    assert init_storage(DEV_ACCOUNT, "data", dbutils=FakeDbutils(user="u@x.com")).root_dir == "u@x.com"


def test_init_storage_with_a_credential_needs_no_runtime(azurite, tree):
    storage = init_storage(DEV_ACCOUNT, TREE, root_dir="tables", credential=azurite)
    assert storage.derive_table_path("", "Small") == f"{storage.base_path}tables/Small.parquet"
    assert storage.exists(storage.get_path_in_root_dir("Small.parquet"))
    storage.check_access()


def test_dtflw_imports_without_the_azure_sdk():
    code = (
        "import sys\n"
        "for name in ('azure', 'azure.storage', 'azure.storage.blob', 'azure.core'):\n"
        "    sys.modules[name] = None\n"
        "from dtflw.errors import StorageError\n"
        "from dtflw.storage.azure import AzureStorage\n"
        "import dtflw, dtflw.storage.azure_blob\n"
        "AzureStorage('acct01', 'data', '', dbutils=object())\n"
        "try:\n"
        "    AzureStorage('acct01', 'data', '', credential='sv=x')\n"
        "except StorageError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert "needs the azure-storage-blob package" in done.stdout
