"""bench-core: declare + resolve + lazily run (all skipped) a chain of N notebooks.

FakeDbutils + LocalStorage, outputs pre-created so every notebook is skipped: this measures
dtflw's own overhead per notebook (declaration, resolution, existence checks), which must grow
linearly. Prints a markdown table.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dtflw import Logger, init_flow
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

SIZES = (10, 100, 1_000, 10_000)


def build_and_run(n: int, root: Path) -> float:
    """Seconds to declare and lazily run a chain of `n` notebooks whose outputs all exist."""
    storage = LocalStorage(root)
    dbutils = FakeDbutils(fs_root=root / "dbfs")
    for i in range(n):  # set-up, not timed: every output already exists
        out = Path(storage.derive_table_path(f"project/nb{i}", f"T{i}"))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"PAR1")
    flow = init_flow(storage, dbutils=dbutils, logger=Logger("silent"))
    started = time.perf_counter()
    for i in range(n):
        nb = flow.notebook(f"nb{i}").args({"i": str(i)})
        if i:
            nb.input(f"T{i - 1}")
        nb.output(f"T{i}").run(is_lazy=True)
    elapsed = time.perf_counter() - started
    assert not dbutils.notebook.calls, "every notebook should have been skipped"
    return elapsed


def main() -> None:
    rows = []
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append((n, build_and_run(n, Path(tmp))))
    base_per_nb = rows[1][1] / rows[1][0]
    print("| notebooks | total (s) | per notebook (µs) | per-notebook cost vs 100 |")
    print("|---:|---:|---:|---:|")
    for n, secs in rows:
        per = secs / n
        print(f"| {n:,} | {secs:.3f} | {per * 1e6:.0f} | {per / base_per_nb:.2f}x |")


if __name__ == "__main__":
    main()
