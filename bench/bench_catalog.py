"""bench-catalog: the catalogue over the history of 1,000 runs x 50 notebooks (50,000 records).

The history is written as a real flow run writes it (one JSON-lines file per run under
`_dtflw/history/<run id>/`, on local disk). Measured: loading the catalogue and answering the
questions (who writes / reads a table, impact, diff of two runs, slowest, failing, unread
tables), first from the run files, then after `Catalog.index()`. Target: under 2 s. Prints a
markdown table.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from dtflw.catalog import Catalog
from dtflw.catalog.load import build_index
from dtflw.storage.local import LocalStorage

RUNS, NOTEBOOKS = 1_000, 50


def write_history(root: Path) -> None:
    rng = random.Random(3)
    base = root / "_dtflw" / "history"
    start = 1_780_000_000.0
    for run in range(RUNS):
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start + run * 3600)) + f"-{run:06x}"
        lines = []
        clock = start + run * 3600
        for nb in range(NOTEBOOKS):
            seconds = rng.uniform(1, 60)
            failed = rng.random() < 0.02
            ups = [f"{root}/tables/T{u}" for u in ((nb - 1, nb - 7) if nb >= 7 else (nb - 1,)) if u >= 0]
            record = {
                "run_id": run_id, "flow": f"flow{nb % 3}", "key": f"nb{nb}", "notebook": f"/Repos/p/nb{nb}",
                "attempt": 1, "status": "failed" if failed else "succeeded", "args": {"run": str(run)},
                "inputs": [{"name": f"T{u.rsplit('T', 1)[1]}", "path": u, "version": f"v{run}"} for u in ups],
                "outputs": [{"name": f"T{nb}", "path": f"{root}/tables/T{nb}", "version": f"v{run}"}],
                "started": clock, "ended": clock + seconds, "exit_value": None, "error": "boom" if failed else None,
                "reason": "", "fingerprint": "f", "source_hash": "s",
            }  # fmt: skip
            clock += seconds
            lines.append(json.dumps(record))
        folder = base / run_id
        folder.mkdir(parents=True)
        (folder / "00000000000000000001-aaaa.jsonl").write_text("\n".join(lines) + "\n")


def questions(catalog: Catalog) -> None:
    runs = [r["run_id"] for r in catalog.runs(kind="records")]
    assert len(runs) == RUNS
    assert catalog.who_writes("T10") == ["/Repos/p/nb10"]
    assert len(catalog.who_reads("T10")) == 2
    assert len(catalog.impact("T0")["notebooks"]) == NOTEBOOKS - 1
    assert catalog.diff(runs[0], runs[1])
    assert len(catalog.slowest(10, last_runs=100)) == 10 and catalog.failing(10)
    assert catalog.unread_tables()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dtflw-bench-catalog-") as tmp:
        root = Path(tmp)
        write_history(root)
        storage = LocalStorage(root)
        rows = []
        for label in ("from run files", "after Catalog.index()"):
            if label.startswith("after"):
                started = time.perf_counter()
                build_index(storage, min_age_seconds=0)  # what Catalog.index() does
                rows.append(("build the index (once)", time.perf_counter() - started, ""))
            started = time.perf_counter()
            catalog = Catalog(storage)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            questions(catalog)
            asked = time.perf_counter() - started
            rows.append((f"load {label}", loaded, f"{len(catalog.records(kind='records')):,} records"))
            rows.append((f"answer the questions ({label})", asked, ""))
            rows.append((f"total ({label}, target < 2 s)", loaded + asked, ""))
    print(f"(catalogue) {RUNS:,} runs x {NOTEBOOKS} notebooks")
    print("| step | seconds | |")
    print("|---|---:|---|")
    for step, seconds, note in rows:
        print(f"| {step} | {seconds:.2f} | {note} |")


if __name__ == "__main__":
    main()
