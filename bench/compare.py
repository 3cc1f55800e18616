"""bench-compare: run benchmarks against another git revision and print new/old ratios.

    python bench/compare.py BASE [bench_core.py bench_dag.py ...]

BASE's package is checked out into a temporary git worktree and put first on PYTHONPATH; the
benchmark scripts of the working tree run once against it and once against the working tree,
alternating script by script so machine drift hits both. Every markdown table row printed by both
runs is shown with each numeric cell as `old → new (new/old)`. Ratios below 1 mean faster now
(for times); read each column's meaning from the benchmark's own header.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCHES = ("bench_core.py", "bench_dag.py")
_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+")


def run(script: str, package_root: Path | None) -> str:
    env = dict(os.environ)
    if package_root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package_root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} failed ({'base' if package_root else 'working tree'}):\n{done.stderr[-3000:]}")
    return done.stdout


def number(cell: str) -> float | None:
    match = _NUMBER.match(cell.strip().replace("`", ""))
    return float(match.group(0).replace(",", "")) if match else None


def compare(old: str, new: str) -> list[str]:
    """Rows of `new` with numeric cells annotated against the row with the same label in `old`."""
    old_rows = {line.split("|")[1].strip(): line for line in old.splitlines() if line.startswith("|")}
    out = []
    for line in new.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            out.append(line)
            continue
        cells = line.split("|")[1:-1]
        before = old_rows.get(cells[0].strip())
        if before is None:
            out.append(line)
            continue
        old_cells = before.split("|")[1:-1]
        shown = [cells[0]]
        for cell, old_cell in zip(cells[1:], old_cells[1:]):
            a, b = number(old_cell), number(cell)
            if a is None or b is None:
                shown.append(cell)
            else:
                ratio = f"{b / a:.2f}" if a else "n/a"
                shown.append(f" {old_cell.strip()} → {cell.strip()} ({ratio}) ")
        out.append("|" + "|".join(shown) + "|")
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    base, scripts = argv[0], argv[1:] or list(DEFAULT_BENCHES)
    with tempfile.TemporaryDirectory(prefix="dtflw-bench-base-") as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), base], cwd=ROOT, check=True)
        try:
            for script in scripts:
                old = run(script, tree)
                new = run(script, None)
                print(f"## {script}: {base} → working tree\n")
                print("\n".join(compare(old, new)))
                print()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
