"""bench-dag: parallel efficiency, planning cost, and the cost of a no-op incremental re-run.

(1) A synthetic 50-notebook DAG whose FakeDbutils handlers sleep given durations: wall time
    divided by the critical-path time, for `flow.run(max_workers=...)` and for 0.6.x-style
    sequential eager runs. Target: <= 1.10 for the DAG run.
(2) `flow.plan(lazy=True)` (DAG build, selection, one existence check per output) at 100, 1,000
    and 10,000 notebooks: must grow linearly.
(3) Scale: 10,000-notebook chain, wide (one source, many readers) and random DAGs on FakeDbutils
    with handlers that only stub their outputs: a full run, the same handlers called alone (so the
    overhead of dtflw is the difference) and a no-op lazy run (lazy=True, all outputs exist);
    targets: overhead and no-op run each under 1 s. Tables on disk, and in memory where possible.
    For scale, the same handlers also run under a minimal executor on as many threads: a ready
    queue, one journal line before and after each notebook, a stat of its output and an in-memory
    record, nothing else. Its overhead is what any threaded runner pays on this machine.
(4) examples/sales as a DAG (`examples/sales/dag.py`) on the local runtime: a full run, then a
    no-op re-run with lazy="auto"; re-run time / full-run time. Target: <= 5%.
Prints markdown tables.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dtflw import Logger, init_flow
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

ROOT = Path(__file__).resolve().parent.parent


def synthetic_dag(n: int, seed: int = 7) -> list[tuple[str, float, list[int]]]:
    """(name, seconds, upstream indexes) for n notebooks; each waits for 0-3 earlier ones."""
    rng = random.Random(seed)
    nodes = []
    for i in range(n):
        ups = rng.sample(range(max(0, i - 12), i), k=min(i, rng.randint(0, 3))) if i else []
        nodes.append((f"nb{i:03d}", round(rng.uniform(0.05, 0.3), 3), sorted(ups)))
    return nodes


def critical_path(nodes: list[tuple[str, float, list[int]]]) -> float:
    finish: list[float] = []
    for _, seconds, ups in nodes:
        finish.append(seconds + max((finish[u] for u in ups), default=0.0))
    return max(finish)


def declare(flow, nodes, run_eagerly: bool) -> None:
    for i, (name, _, ups) in enumerate(nodes):
        nb = flow.notebook(name).output(f"T{i}")
        for u in ups:
            nb.input(f"T{u}")
        if run_eagerly:
            nb.run()
        else:
            nb.add()


def handler_for(seconds: float):
    """A notebook stand-in: sleeps `seconds`, then writes a stub file at each output path."""

    def handler(args):
        if seconds:
            time.sleep(seconds)
        for key, value in args.items():
            if key.endswith("_out"):
                Path(value).parent.mkdir(parents=True, exist_ok=True)
                Path(value).write_bytes(b"PAR1")

    return handler


def make_flow(root: Path, nodes):
    dbutils = FakeDbutils(fs_root=root / "dbfs")
    for name, seconds, _ in nodes:
        dbutils.notebook.register(name, handler_for(seconds))
    return init_flow(LocalStorage(root / "tables"), dbutils=dbutils, logger=Logger("silent"), name="bench")


def parallel_efficiency() -> None:
    nodes = synthetic_dag(50)
    cp = critical_path(nodes)
    total = sum(s for _, s, _ in nodes)
    rows = []
    for label, workers in (
        ("flow.run(max_workers=16)", 16),
        ("flow.run(max_workers=4)", 4),
        ("sequential eager .run() (0.6.x)", None),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            flow = make_flow(Path(tmp), nodes)
            started = time.perf_counter()
            declare(flow, nodes, run_eagerly=workers is None)
            if workers is not None:
                flow.run(max_workers=workers)
            wall = time.perf_counter() - started
        rows.append((label, wall, wall / cp))
    print(f"(1) 50-notebook DAG: critical path {cp:.2f} s, sum of durations {total:.2f} s")
    print("| execution | wall (s) | wall / critical path |")
    print("|---|---:|---:|")
    for label, wall, ratio in rows:
        print(f"| {label} | {wall:.2f} | {ratio:.2f} |")
    print()


def planning_cost() -> None:
    print("(2) planning cost: declare + flow.plan(lazy=True) on a random DAG (outputs exist)")
    print("| notebooks | declare (s) | plan (s) | plan per notebook (µs) |")
    print("|---:|---:|---:|---:|")
    for n in (100, 1_000, 10_000):
        nodes = synthetic_dag(n)
        with tempfile.TemporaryDirectory() as tmp:
            flow = make_flow(Path(tmp), [])
            for i, (name, _, _) in enumerate(nodes):  # outputs exist, so each is checked
                path = Path(flow.ctx.storage.derive_table_path(f"project/{name}", f"T{i}"))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"PAR1")
            started = time.perf_counter()
            declare(flow, nodes, run_eagerly=False)
            declared = time.perf_counter() - started
            started = time.perf_counter()
            plan = flow.plan(lazy=True)
            planned = time.perf_counter() - started
            assert len(plan) == n and not plan.to_run
        print(f"| {n:,} | {declared:.3f} | {planned:.3f} | {planned / n * 1e6:.0f} |")
    print()


def shaped(kind: str, n: int) -> list[tuple[str, float, list[int]]]:
    """Nodes of a chain, a wide fan-out or a random DAG (no sleeping)."""
    if kind == "chain":
        return [(f"nb{i:05d}", 0.0, [i - 1] if i else []) for i in range(n)]
    if kind == "wide":
        return [(f"nb{i:05d}", 0.0, [0] if i else []) for i in range(n)]
    return [(name, 0.0, ups) for name, _, ups in synthetic_dag(n)]


def bare_handlers(root: Path, nodes) -> float:
    """Seconds the same handlers take called one after another, in order, without dtflw."""
    storage = LocalStorage(root / "tables")
    calls = [
        (handler_for(seconds), {f"T{i}_out": storage.derive_table_path(f"project/{name}", f"T{i}")})
        for i, (name, seconds, _) in enumerate(nodes)
    ]
    started = time.perf_counter()
    for handler, args in calls:
        handler(args)
    return time.perf_counter() - started


def minimal_executor(root: Path, nodes, workers: int) -> float:
    """Seconds the same handlers take under the least a threaded DAG runner does per notebook: take
    a ready notebook, append a journal line, call it, stat its output, append a journal line,
    keep a record, release its readers. No markers, widgets, history or validation beyond the stat."""
    storage = LocalStorage(root / "tables")
    n = len(nodes)
    calls = [
        (handler_for(seconds), storage.derive_table_path(f"project/{name}", f"T{i}"))
        for i, (name, seconds, _) in enumerate(nodes)
    ]
    readers: list[list[int]] = [[] for _ in range(n)]
    waiting = [len(ups) for _, _, ups in nodes]
    for i, (_, _, ups) in enumerate(nodes):
        for u in ups:
            readers[u].append(i)
    ready = collections.deque(i for i in range(n) if not waiting[i])
    records: list[tuple[int, float, int]] = []
    turn = threading.Condition()
    (root / "tables").mkdir(parents=True, exist_ok=True)
    journal = os.open(root / "tables" / "journal", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)

    def work() -> None:
        while True:
            with turn:
                while not ready and len(records) < n:
                    turn.wait()
                if len(records) >= n:
                    return
                i = ready.popleft()
            handler, path = calls[i]
            os.write(journal, f"+ {path}\n".encode())
            handler({f"T{i}_out": path})
            size = os.stat(path).st_size
            os.write(journal, f"- {path}\n".encode())
            with turn:
                records.append((i, time.time(), size))
                for r in readers[i]:
                    waiting[r] -= 1
                    if not waiting[r]:
                        ready.append(r)
                turn.notify(max(1, len(readers[i])) if len(records) < n else workers)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    os.close(journal)
    assert len(records) == n
    return elapsed


def scale(n: int = 10_000) -> None:
    """Wall times on the temp folder's disk and, where there is one, in memory (/dev/shm): the
    disk's cost of creating files varies a lot between machines, so both are shown."""
    print(f"(3) scale on FakeDbutils: {n:,} notebooks, handlers only stub their outputs, 8 workers")
    print(
        "| DAG | tables on | full run (s) | handlers alone (s) | overhead (s) "
        "| minimal executor's overhead (s) | no-op lazy run (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    places = [("disk", None)] + ([("memory", "/dev/shm")] if Path("/dev/shm").is_dir() else [])
    for kind in ("chain", "wide", "random"):
        nodes = shaped(kind, n)
        for where, folder in places:
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                bare = bare_handlers(Path(tmp) / "bare", nodes)
                least = minimal_executor(Path(tmp) / "least", nodes, workers=8)
                flow = make_flow(Path(tmp), nodes)
                declare(flow, nodes, run_eagerly=False)
                started = time.perf_counter()
                flow.run(max_workers=8)
                full = time.perf_counter() - started
                again = make_flow(Path(tmp), nodes)
                declare(again, nodes, run_eagerly=False)
                started = time.perf_counter()
                result = again.run(max_workers=8, lazy=True)
                noop = time.perf_counter() - started
                assert all(r.status == "skipped" for r in result)
            print(
                f"| {kind} | {where} | {full:.2f} | {bare:.2f} | {full - bare:.2f} | {least - bare:.2f} | {noop:.2f} |"
            )
    print()


def noop_rerun() -> None:
    dtflw = str(Path(sys.executable).parent / "dtflw")
    with tempfile.TemporaryDirectory(prefix="dtflw-bench-dag-") as tmp:
        cmd = [
            dtflw,
            "run",
            str(ROOT / "examples" / "sales" / "dag.py"),
            "--quiet",
            "--report",
            "",
            "--dbfs-root",
            f"{tmp}/dbfs",
        ]
        times = []
        for _ in range(2):
            started = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            times.append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
        assert proc.stdout.strip().splitlines()[-1] == "up to date", proc.stdout[-500:]
    full, noop = times
    print("(4) examples/sales/dag.py on the local runtime (separate processes)")
    print("| run | wall (s) |")
    print("|---|---:|")
    print(f"| full run | {full:.1f} |")
    print(f"| no-op re-run (lazy='auto') | {noop:.2f} |")
    print(f"\nno-op / full: {noop / full * 100:.1f}% (target <= 5%)")


def main() -> None:
    parallel_efficiency()
    planning_cost()
    scale(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    noop_rerun()


if __name__ == "__main__":
    main()
