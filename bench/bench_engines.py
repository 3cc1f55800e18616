"""bench-engines: the same notebooks on the three Spark engines, wall times and results compared.

Pipelines: the two 4-notebook pipelines of bench-local ("light" parquet steps, "delta" bronze/
silver/gold) and examples/sales (CSV -> Delta -> SQL MERGE -> two gold tables -> report). Each runs
as `dtflw run DRIVER --engine E` in a fresh process (start-up included: JVM, Spark Connect server or
Sail), for E in local, connect (a Spark Connect server dtflw starts on 127.0.0.1) and sail.

Targets: sail <= 0.2x local on the light and delta pipelines; connect <= 1.3x local; the results
(row counts and sums printed by each pipeline's last cell) equal across engines. Prints a markdown
table; exits 1 when results differ.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_local import DELTA_STEPS, LIGHT_STEPS, code, write_dtflw_variant

ROOT = Path(__file__).resolve().parent.parent
DTFLW = str(Path(sys.executable).parent / "dtflw")
ENGINES = ("local", "connect", "sail")
CHECKS = {
    "light": """
        c = spark.read.parquet(f"{root}/c")
        print("RESULT", c.count(), c.agg({"count": "sum"}).first()[0])
    """,
    "delta": """
        g = spark.read.format("delta").load(f"{root}/gold")
        print("RESULT", g.count(), round(g.agg({"total": "sum"}).first()[0], 2))
    """,
}


def write_pipeline(name: str, steps: dict[str, str], folder: Path, root: Path) -> Path:
    """bench-local's notebooks and driver, the driver ending with a cell that prints the result."""
    driver = write_dtflw_variant(steps, folder, root)
    check = f"root = r'{root}'\n" + code(CHECKS, name)
    driver.write_text(driver.read_text() + f"\n# COMMAND ----------\n\n{check}\n")
    return driver


def run(driver: Path, engine: str, work: Path) -> tuple[float, str]:
    cmd = [DTFLW, "run", str(driver), "--engine", engine, "--report", "", "--dbfs-root", str(work / "dbfs")]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    results = [line for line in lines if line.startswith("RESULT ")]
    return elapsed, (results[-1] if results else lines[-1])


def main() -> None:
    rows = []
    differ = False
    with tempfile.TemporaryDirectory(prefix="dtflw-bench-engines-") as tmp:
        base = Path(tmp)
        for name, steps in (("light", LIGHT_STEPS), ("delta", DELTA_STEPS), ("examples/sales", None)):
            times, results = {}, {}
            for engine in ENGINES:
                work = base / f"{name.replace('/', '-')}-{engine}"
                work.mkdir(parents=True)
                if steps is None:
                    driver = ROOT / "examples" / "sales" / "main.py"
                else:
                    driver = write_pipeline(name, steps, work / "nb", work / "data")
                times[engine], results[engine] = run(driver, engine, work)
            same = len(set(results.values())) == 1
            differ |= not same
            rows.append((name, times, results["local"], same))
    print("| pipeline | local (s) | connect (s) | sail (s) | connect / local (target <= 1.3x) | "
          "sail / local (target <= 0.2x) | result (equal on all engines?) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, times, result, same in rows:
        local = times["local"]
        print(
            f"| {name} | {local:.1f} | {times['connect']:.1f} | {times['sail']:.1f} | "
            f"{times['connect'] / local:.2f}x | {times['sail'] / local:.3f}x | "
            f"{result.removeprefix('RESULT ')} ({'equal' if same else 'DIFFERENT'}) |"
        )
    if differ:
        raise SystemExit("results differ between engines")


if __name__ == "__main__":
    main()
