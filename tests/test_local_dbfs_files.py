"""``/dbfs/...`` for Python file APIs during a local run (dtflw.local.dbfs_files)."""

from __future__ import annotations

import builtins
import glob
import importlib.util
import io
import os
import pathlib
import shutil
import textwrap
import threading
from pathlib import Path

import pytest

from dtflw.local import dbfs_files
from dtflw.local.dbfs_files import dbfs_mapped
from dtflw.local.runtime import LocalRuntime

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n"
REAL_DBFS = Path("/dbfs")


def notebook(folder: Path, name: str, *cells: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + SEP.join(textwrap.dedent(c).strip() + "\n" for c in cells))
    return path


def originals_restored() -> bool:
    return not any(hasattr(f, "__wrapped__") for f in (builtins.open, io.open, os.stat, os.scandir, os.rename, os.open))


@pytest.fixture(autouse=True)
def _real_dbfs_untouched():
    before = REAL_DBFS.exists() and sorted(os.listdir(REAL_DBFS))
    yield
    assert (REAL_DBFS.exists() and sorted(os.listdir(REAL_DBFS))) == before
    assert originals_restored()


def test_python_file_apis_reach_the_dbfs_root(tmp_path):
    root = tmp_path / "dbfs"
    with dbfs_mapped(root):
        os.makedirs("/dbfs/FileStore/in", exist_ok=True)
        with open("/dbfs/FileStore/in/a.csv", "w") as handle:
            handle.write("id\n1\n")
        assert handle.name == "/dbfs/FileStore/in/a.csv"
        assert os.path.exists("/dbfs/FileStore/in/a.csv") and os.path.isdir("/dbfs")
        assert os.listdir("/dbfs/FileStore/in") == ["a.csv"]
        assert pathlib.Path("/dbfs/FileStore/in/a.csv").read_text() == "id\n1\n"
        shutil.copy("/dbfs/FileStore/in/a.csv", tmp_path / "outside.csv")
        shutil.copy(tmp_path / "outside.csv", "/dbfs/FileStore/in/b.csv")
        shutil.copytree("/dbfs/FileStore/in", "/dbfs/FileStore/copy")
        os.rename("/dbfs/FileStore/copy/b.csv", "/dbfs/FileStore/copy/c.csv")
        assert sorted(glob.glob("/dbfs/FileStore/*/*.csv")) == [
            "/dbfs/FileStore/copy/a.csv",
            "/dbfs/FileStore/copy/c.csv",
            "/dbfs/FileStore/in/a.csv",
            "/dbfs/FileStore/in/b.csv",
        ]
        walked = [(top, sorted(files)) for top, _, files in os.walk("/dbfs/FileStore") if files]
        assert sorted(walked) == [
            ("/dbfs/FileStore/copy", ["a.csv", "c.csv"]),
            ("/dbfs/FileStore/in", ["a.csv", "b.csv"]),
        ]
        assert sorted(p.name for p in pathlib.Path("/dbfs/FileStore/copy").iterdir()) == ["a.csv", "c.csv"]
        assert [e.path for e in os.scandir("/dbfs/FileStore/in") if e.name == "a.csv"] == ["/dbfs/FileStore/in/a.csv"]
        assert os.stat(b"/dbfs/FileStore/in/a.csv").st_size == 5  # bytes paths too
        with pytest.raises(FileNotFoundError) as missing:
            open("/dbfs/FileStore/nope.csv")
        assert missing.value.filename == "/dbfs/FileStore/nope.csv"  # the caller's path, not the local one
        shutil.rmtree("/dbfs/FileStore/copy")
        os.remove("/dbfs/FileStore/in/b.csv")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "FileStore",
        "FileStore/in",
        "FileStore/in/a.csv",
    ]
    assert (tmp_path / "outside.csv").read_text() == "id\n1\n"


def test_other_paths_pass_through_unchanged(tmp_path):
    other = tmp_path / "dbfsx"
    other.mkdir()
    with dbfs_mapped(tmp_path / "dbfs"):
        assert dbfs_files.map_path("/dbfsx/a") is None
        assert dbfs_files.map_path("/dbfs/../etc/hosts") is None  # leaves DBFS: the real path
        assert dbfs_files.map_path("relative/dbfs/x") is None
        assert dbfs_files.map_path(3) is None
        assert dbfs_files.map_path(pathlib.PurePosixPath("/dbfs/a/./b")) == str(tmp_path / "dbfs" / "a" / "b")
        (other / "f.txt").write_text("plain")
        assert open(other / "f.txt").read() == "plain"
        assert os.stat(str(other)).st_mode == other.stat().st_mode
        with os.scandir(other) as entries:
            assert [type(e) for e in entries] == [os.DirEntry]  # untouched objects off /dbfs
    assert not (tmp_path / "dbfs" / "f.txt").exists()


def test_nested_and_threaded_activations_are_reference_counted(tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    seen: list[str] = []
    with dbfs_mapped(outer):
        with dbfs_mapped(inner):
            Path("/dbfs/where.txt").write_text("inner")

            def plain_thread() -> None:  # no copied context: the latest activation
                seen.append(str(dbfs_files.local_path("/dbfs/x")))

            worker = threading.Thread(target=plain_thread)
            worker.start()
            worker.join()
        assert hasattr(os.stat, "__wrapped__")  # still installed for the outer run
        Path("/dbfs/where.txt").write_text("outer")
    assert originals_restored()
    assert (outer / "where.txt").read_text() == "outer"
    assert (inner / "where.txt").read_text() == "inner"
    assert seen == [str(inner / "x")]


def test_concurrent_runs_map_to_their_own_roots(tmp_path):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            with dbfs_mapped(tmp_path / name):
                barrier.wait()
                for i in range(50):
                    Path(f"/dbfs/{i}.txt").write_text(name)
                barrier.wait()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name in ("a", "b"):
        assert {p.read_text() for p in (tmp_path / name).iterdir()} == {name}
    assert originals_restored()


def test_a_local_notebook_uses_dbfs_paths_and_mounts(tmp_path):
    project = tmp_path / "proj"
    dbfs_root = tmp_path / "run" / "dbfs"
    notebook(
        project,
        "main.py",
        """
        import os, pathlib, shutil
        os.makedirs("/dbfs/FileStore/in", exist_ok=True)
        with open("/dbfs/FileStore/in/x.csv", "w") as f:
            f.write("id,v\\n1,a\\n2,b\\n")
        """,
        """
        try:
            import pandas as pd
        except ImportError:
            pd = None
        if pd is not None:
            df = pd.read_csv("/dbfs/FileStore/in/x.csv")
            df.to_csv("/dbfs/FileStore/pandas.csv", index=False)
        rows = pathlib.Path("/dbfs/FileStore/in/x.csv").read_text().splitlines()
        assert rows[0] == "id,v" and os.path.exists("/dbfs/FileStore/in/x.csv")
        """,
        """
        dbutils.fs.mount("abfss://lake@acct.dfs.core.windows.net/raw", "/mnt/lake")
        display(dbutils.fs.mounts())
        shutil.copy("/dbfs/FileStore/in/x.csv", "/dbfs/mnt/lake/x.csv")
        listed = [f.name for f in dbutils.fs.ls("/mnt/lake")]
        dbutils.notebook.exit(",".join(listed + sorted(os.listdir("/dbfs/mnt/lake"))))
        """,
    )
    runtime = LocalRuntime(dbfs_root=dbfs_root, progress=False)
    assert runtime.run_notebook(project / "main.py") == "x.csv,x.csv"
    assert (dbfs_root / "FileStore" / "in" / "x.csv").read_text().startswith("id,v")
    if importlib.util.find_spec("pandas") is not None:
        assert (dbfs_root / "FileStore" / "pandas.csv").read_text().splitlines() == ["id,v", "1,a", "2,b"]
    lake = runtime.path_map.to_local("abfss://lake@acct.dfs.core.windows.net/raw")
    assert (lake / "x.csv").read_text().startswith("id,v")
    shown = "\n".join(str(o) for cell in runtime.records[0].cells for o in cell.outputs)
    assert "/mnt/lake" in shown and "abfss://lake@acct.dfs.core.windows.net/raw" in shown
