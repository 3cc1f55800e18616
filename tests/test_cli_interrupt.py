"""Ctrl-C on `dtflw run` (a real SIGINT to a real process): a summary, the resume command, exit 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n"


def project(tmp_path: Path, slow_seconds: float) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    started = tmp_path / "slow-started"
    (folder / "slow.py").write_text(
        HEADER
        + f"import pathlib, time\npathlib.Path({str(started)!r}).write_text('x')\ntime.sleep({slow_seconds})\n"
        + SEP
        + "out = pathlib.Path(dbutils.widgets.get('A_out'))\n"
        + "out.parent.mkdir(parents=True, exist_ok=True)\nout.write_bytes(b'PAR1')\n"
    )
    (folder / "after.py").write_text(HEADER + f"open({str(tmp_path / 'after-ran')!r}, 'w').write('x')\n")
    (folder / "driver.py").write_text(
        HEADER
        + "from dtflw import init_flow\nfrom dtflw.storage.local import LocalStorage\n"
        + f"flow = init_flow(LocalStorage({str(tmp_path / 'tables')!r}), name='cli-cancel')\n"
        + "flow.notebook('slow').output('A').add()\n"
        + "flow.notebook('after').input('A').add()\n"
        + "flow.run()\n"
    )
    return folder / "driver.py"


def start(tmp_path: Path, driver: Path, *extra: str) -> subprocess.Popen[str]:
    dtflw = str(Path(sys.executable).parent / "dtflw")
    return subprocess.Popen(
        [dtflw, "run", str(driver), "--dbfs-root", str(tmp_path / "dbfs"), "--report", "", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )


def wait_for(path: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_ctrl_c_prints_the_resume_command_exits_130_and_resume_finishes(tmp_path):
    driver = project(tmp_path, slow_seconds=1.0)
    proc = start(tmp_path, driver)
    wait_for(tmp_path / "slow-started")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not (tmp_path / "after-ran").exists()
    resume_line = next(line for line in err.splitlines() if line.startswith("Resume with: "))
    assert "--resume" in resume_line and str(driver) in resume_line

    again = start(tmp_path, driver, "--resume", resume_line.rsplit(" ", 1)[-1])
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert (tmp_path / "after-ran").exists()


def test_a_second_ctrl_c_does_not_wait_for_the_running_notebook(tmp_path):
    driver = project(tmp_path, slow_seconds=30.0)
    proc = start(tmp_path, driver)
    wait_for(tmp_path / "slow-started")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 20  # well before the 30 s notebook would have ended
    assert proc.returncode == 130 and "Traceback" not in err
    assert (tmp_path / "tables" / "proj" / "slow" / "A.parquet._dtflw_pending").exists()
    assert "outputs of interrupted notebooks stay pending" in err.lower()
