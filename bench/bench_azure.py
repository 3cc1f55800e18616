"""Benchmark: AzureStorage's Blob API checks vs a naive recursive listing, on Azurite.

Tables of 10, 1,000 and 10,000 blobs (a `_SUCCESS` and part files, 100 per `day=` folder) are
seeded into a local Azurite. For each, requests (counted by an SDK request hook) and wall time
(median of several runs) are measured for:

- exists: `AzureStorage.exists(table)` (table probe + its pending marker), and with
  `ignore_pending=True` (the probe alone),
- glob of folders: `<table>/day=00[0-4]?` (the day folders of a date range),
- glob of files: `<table>/day=000?/part-*.parquet` (the files of ten days),
- naive walk: listing every folder recursively, one request per folder page, as walking
  `dbutils.fs.ls` does; that is what answering the same questions by listing costs.

Run with `make bench-azure`; takes about a minute (seeding 11,000 blobs dominates).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtflw.storage.azure import AzureStorage
from dtflw.testing.azurite import DEV_ACCOUNT, Azurite, RequestCounter, find_binary, put_blobs

SIZES = (10, 1_000, 10_000)
PER_FOLDER = 100
RUNS = 5
CONTAINER = "bench"


def table_blobs(size: int) -> list[str]:
    """`size` blob names of one partitioned parquet table under `n<size>/Sales.parquet/`."""
    root = f"n{size}/Sales.parquet"
    parts = [f"{root}/day={i // PER_FOLDER:04d}/part-{i:05d}.parquet" for i in range(size - 1)]
    return [f"{root}/_SUCCESS", *parts]


def naive_walk(client: Any, prefix: str) -> list[str]:
    """Every blob under `prefix`, listing each folder separately (one request per folder page)."""
    from azure.storage.blob import BlobPrefix

    found: list[str] = []
    for item in client.walk_blobs(name_starts_with=prefix, delimiter="/"):
        if isinstance(item, BlobPrefix):
            found += naive_walk(client, item.name)
        else:
            found.append(item.name)
    return found


def measure(counter: RequestCounter, action: Callable[[], object]) -> tuple[int, float, object]:
    """(requests of one run, median milliseconds over RUNS runs, result)."""
    times, result, requests = [], None, 0
    for _ in range(RUNS):
        counter.count = 0
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
        requests = counter.count
    return requests, statistics.median(times), result


def bench_one(server: Azurite, size: int) -> list[str]:
    counter = RequestCounter()
    storage = AzureStorage(
        DEV_ACCOUNT, CONTAINER, "", credential=server.connection_string, client_options={"raw_request_hook": counter}
    )
    naive_client = server.container(CONTAINER, raw_request_hook=counter)
    table = f"n{size}/Sales.parquet"
    checks = [
        ("exists", lambda: storage.exists(table), True),
        ("exists, ignore_pending", lambda: storage.exists(table, ignore_pending=True), True),
        ("glob folders", lambda: len(storage.list(f"{table}/day=00[0-4]?")), min(50, -(-(size - 1) // PER_FOLDER))),
        ("glob files", lambda: len(storage.list(f"{table}/day=000?/part-*.parquet")), min(size - 1, 1000)),
        ("naive walk", lambda: len(naive_walk(naive_client, table + "/")), size),
    ]
    cells = [f"{size:,}"]
    for label, action, expected in checks:
        requests, millis, result = measure(counter, action)
        if result != expected:
            raise SystemExit(f"{label} on {size} blobs returned {result!r}, expected {expected!r}")
        cells.append(f"{requests} / {millis:.1f}")
    return cells


def main() -> int:
    binary = find_binary(Path(__file__).resolve().parent)
    if binary is None:
        print("Azurite is not installed: run `make bench-azure` (it installs node_modules/).", file=sys.stderr)
        return 1
    start = time.perf_counter()
    with Azurite(binary, in_memory=True) as server:
        client = server.container(CONTAINER)
        seeded = sum(put_blobs(client, table_blobs(size)) for size in SIZES)
        seed_time = time.perf_counter() - start
        rows = [bench_one(server, size) for size in SIZES]
    print(
        f"Azurite, {seeded:,} blobs seeded in {seed_time:.1f}s; cells are `requests / median ms` "
        f"over {RUNS} runs; {PER_FOLDER} blobs per day folder.\n"
    )
    header = [
        "blobs in table",
        "exists",
        "exists (ignore_pending)",
        "glob `day=00[0-4]?`",
        "glob `day=000?/part-*.parquet`",
        "naive recursive listing",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\ntotal {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
