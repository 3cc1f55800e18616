"""Progress lines go through `logging` when the user configured it, and are printed otherwise."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

from dtflw.cli import main


def run_script(body: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: logging unconfigured unless the script configures it."""
    script = (
        textwrap.dedent(
            """
        import logging, sys, tempfile
        from pathlib import Path
        from dtflw import init_flow
        from dtflw.storage.local import LocalStorage
        from dtflw.testing import FakeDbutils, writes_outputs

        tmp = Path(tempfile.mkdtemp())
        dbutils = FakeDbutils(fs_root=tmp / "dbfs")
        dbutils.notebook.register("ingest", writes_outputs())
        """
        )
        + textwrap.dedent(body)
        + textwrap.dedent(
            """
        flow = init_flow(LocalStorage(tmp / "tables"), dbutils=dbutils, name="log")
        flow.notebook("ingest").output("T").run()
        """
        )
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)


def test_unconfigured_logging_prints_each_line_once_to_stdout():
    out = run_script("")
    assert out.stdout.count("Running: '") == 1 and out.stderr == ""


def test_basic_config_shows_each_line_once_through_logging():
    out = run_script("logging.basicConfig(level=logging.INFO, format='LOG %(name)s %(message)s')\n")
    assert out.stdout.count("Running: '") == 0
    assert out.stderr.count("LOG dtflw Running: '") == 1


def test_a_warning_level_on_the_dtflw_logger_silences_progress():
    out = run_script("logging.getLogger('dtflw').setLevel(logging.WARNING)\n")
    assert "Running" not in out.stdout + out.stderr


def test_the_cli_writes_progress_to_stderr_and_only_the_exit_value_to_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "child.py").write_text("# Databricks notebook source\ndbutils.notebook.exit('child-done')\n")
    (tmp_path / "driver.py").write_text(
        "# Databricks notebook source\n"
        "from dtflw import init_flow\nfrom dtflw.storage.local import LocalStorage\n"
        f"flow = init_flow(LocalStorage({str(tmp_path / 't')!r}), name='cli-log')\n"
        "value = flow.notebook('child').run()\n"
        "dbutils.notebook.exit('exit:' + value)\n"
    )
    assert main(["run", "driver.py", "--dbfs-root", "dbfs", "--report", ""]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == ["exit:child-done"]
    assert "Running: '/Users/user@example.com/" in err and "[dtflw] finished" in err
    assert logging.getLogger("dtflw").handlers == []  # the CLI's handler is gone afterwards


def test_quiet_cli_prints_no_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nprint('hello')\n")
    assert main(["run", "nb.py", "--dbfs-root", "dbfs", "--report", "", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "hello" in out and err == ""
