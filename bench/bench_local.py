"""bench-local: one 4-notebook Spark pipeline run three ways, wall times compared.

(a) `dtflw run driver.py`: a driver calls the 4 notebooks with `dbutils.notebook.run`, one
    local SparkSession shared by all; (b) papermill executing equivalent `.ipynb` files, one
    kernel (and so one SparkSession) each, the way notebook schedulers do; (c) the same code as
    one plain Python script. Also: time from process start to the first cell, against a bare
    SparkSession start. Prints a markdown table. Every variant runs in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PY = sys.executable
BIN = Path(PY).parent

# Two 4-notebook pipelines; `root` is the data folder (the same in every variant).
# "delta": bronze/silver/gold Delta tables; "light": small parquet steps (notebooks whose own work
# is small next to starting Spark, the case notebook schedulers pay for most).
DELTA_STEPS = {
    "generate": """
        rows = [(i, f"customer{i % 50}", float(i % 97)) for i in range(20000)]
        spark.createDataFrame(rows, "id INT, customer STRING, amount DOUBLE") \\
            .write.mode("overwrite").parquet(f"{root}/raw")
    """,
    "bronze": """
        spark.read.parquet(f"{root}/raw").write.format("delta").mode("overwrite").save(f"{root}/bronze")
    """,
    "silver": """
        from pyspark.sql import functions as F
        (spark.read.format("delta").load(f"{root}/bronze").where("amount > 10")
            .withColumn("band", F.when(F.col("amount") > 50, "high").otherwise("low"))
            .write.format("delta").mode("overwrite").save(f"{root}/silver"))
    """,
    "gold": """
        (spark.read.format("delta").load(f"{root}/silver").groupBy("customer", "band")
            .agg({"amount": "sum"}).withColumnRenamed("sum(amount)", "total")
            .write.format("delta").mode("overwrite").save(f"{root}/gold"))
        print("gold rows", spark.read.format("delta").load(f"{root}/gold").count())
    """,
}
LIGHT_STEPS = {
    "generate": """spark.range(1000).selectExpr("id", "id % 7 AS k").write.mode("overwrite").parquet(f"{root}/a")""",
    "filter": """spark.read.parquet(f"{root}/a").where("k > 2").write.mode("overwrite").parquet(f"{root}/b")""",
    "aggregate": (
        """spark.read.parquet(f"{root}/b").groupBy("k").count()"""
        """.write.mode("overwrite").parquet(f"{root}/c")"""
    ),
    "report": """print("groups", spark.read.parquet(f"{root}/c").count())""",
}

SESSION = """
from dtflw.local.session import SessionConfig, get_or_create_session
spark = get_or_create_session(SessionConfig(dbfs_root=r"{run}/dbfs", run_dir=r"{run}"))
"""


def code(steps: dict[str, str], step: str) -> str:
    return textwrap.dedent(steps[step]).strip()


def write_dtflw_variant(steps: dict[str, str], folder: Path, root: Path) -> Path:
    """Databricks source notebooks plus a driver that runs them in order."""
    folder.mkdir(parents=True)
    for step in steps:
        (folder / f"{step}.py").write_text(
            "# Databricks notebook source\n"
            f"root = dbutils.widgets.get('root')\n\n# COMMAND ----------\n\n{code(steps, step)}\n"
        )
    calls = "\n".join(f"dbutils.notebook.run('{s}', 0, {{'root': r'{root}'}})" for s in steps)
    driver = folder / "driver.py"
    driver.write_text(
        "# Databricks notebook source\nimport time\n"
        "print('FIRST_CELL', time.time(), flush=True)\n\n# COMMAND ----------\n\n" + calls + "\n"
    )
    return driver


def write_ipynb_variant(steps: dict[str, str], folder: Path, root: Path, run: Path) -> list[Path]:
    """One `.ipynb` per step; each starts its own SparkSession (same configuration)."""
    folder.mkdir(parents=True)
    paths = []
    for step in steps:
        cells = [SESSION.format(run=run) + f"root = r'{root}'", code(steps, step)]
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
            "cells": [
                {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": c}
                for c in cells
            ],
        }
        path = folder / f"{step}.ipynb"
        path.write_text(json.dumps(nb))
        paths.append(path)
    return paths


def write_script_variant(steps: dict[str, str], folder: Path, root: Path, run: Path) -> Path:
    folder.mkdir(parents=True)
    script = folder / "pipeline.py"
    script.write_text(SESSION.format(run=run) + f"root = r'{root}'\n" + "\n".join(code(steps, s) for s in steps) + "\n")
    return script


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    started = time.time()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.time() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def measure(steps: dict[str, str]) -> tuple[float, float, float, float, float]:
    """(dtflw, papermill, script, first cell, bare start) seconds for one pipeline."""
    with tempfile.TemporaryDirectory(prefix="dtflw-bench-local-") as tmp:
        base = Path(tmp)
        bare_cmd = [PY, "-c", SESSION.format(run=base / "bare")]
        bare, _ = timed(bare_cmd, base)

        driver = write_dtflw_variant(steps, base / "dtflw", base / "data-dtflw")
        started = time.time()
        dtflw_time, out = timed(
            [
                str(BIN / "dtflw"),
                "run",
                str(driver),
                "--quiet",
                "--report",
                "",
                "--dbfs-root",
                str(base / "run-dtflw" / "dbfs"),
            ],
            base,
        )
        first_cell = (
            float(next(line.split()[1] for line in out.splitlines() if line.startswith("FIRST_CELL"))) - started
        )

        notebooks = write_ipynb_variant(steps, base / "ipynb", base / "data-pm", base / "run-pm")
        pm_time = 0.0
        for nb in notebooks:
            seconds, _ = timed(
                [str(BIN / "papermill"), "--log-level", "ERROR", str(nb), str(nb.with_suffix(".out.ipynb"))], base
            )
            pm_time += seconds

        script = write_script_variant(steps, base / "script", base / "data-script", base / "run-script")
        script_time, _ = timed([PY, str(script)], base)
    return dtflw_time, pm_time, script_time, first_cell, bare


def main() -> None:
    print(
        "| pipeline | dtflw run (s) | papermill, 1 kernel per notebook (s) | plain script (s) | "
        "papermill / dtflw (target >= 4x) | dtflw / script (target <= 1.15x) | start to first cell (s) | "
        "bare SparkSession start (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, steps in (("light (parquet)", LIGHT_STEPS), ("delta (bronze/silver/gold)", DELTA_STEPS)):
        dtflw_time, pm_time, script_time, first_cell, bare = measure(steps)
        print(
            f"| {label} | {dtflw_time:.1f} | {pm_time:.1f} | {script_time:.1f} | {pm_time / dtflw_time:.2f}x | "
            f"{dtflw_time / script_time:.2f}x | {first_cell:.2f} | {bare:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
