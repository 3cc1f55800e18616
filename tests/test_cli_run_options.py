"""`dtflw run` options that reach flow.run() in the driver, params files, --version, exit codes."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from dtflw.cli import main

HEADER = "# Databricks notebook source\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ingest -> report, on local storage; each notebook appends its name to calls.txt."""
    monkeypatch.chdir(tmp_path)
    calls = tmp_path / "calls.txt"
    body = (
        "import pathlib\n"
        "pathlib.Path({calls!r}).open('a').write('{name} ' + dbutils.widgets.get('day') + '\\n')\n"
        "if dbutils.widgets.get('fail') == '{name}': raise RuntimeError('asked to fail')\n"
        "for k, v in dbutils.widgets.getAll().items():\n"
        "    if k.endswith('_out'):\n"
        "        p = pathlib.Path(v); p.parent.mkdir(parents=True, exist_ok=True); p.write_bytes(b'PAR1')\n"
    )
    for name in ("ingest", "report"):
        (tmp_path / f"{name}.py").write_text(HEADER + body.format(calls=str(calls), name=name))
    (tmp_path / "driver.py").write_text(
        HEADER
        + "dbutils.widgets.text('day', 'none')\ndbutils.widgets.text('fail', '')\n"
        + "from dtflw import init_flow\nfrom dtflw.storage.local import LocalStorage\n"
        + f"flow = init_flow(LocalStorage({str(tmp_path / 'tables')!r}), name='cli-opts')\n"
        + "args = {'day': dbutils.widgets.get('day'), 'fail': dbutils.widgets.get('fail')}\n"
        + "flow.notebook('ingest').args(args).output('Raw').add()\n"
        + "flow.notebook('report').args(args).input('Raw').output('Report').add()\n"
        + "flow.run()\n"
    )
    return tmp_path


def calls(project: Path) -> list[str]:
    path = project / "calls.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def run(*extra: str) -> int:
    return main(["run", "driver.py", "--dbfs-root", "dbfs", "--report", "", "--quiet", *extra])


def test_lazy_and_only_reach_the_drivers_flow_run(project):
    assert run("-p", "day=1") == 0 and calls(project) == ["ingest 1", "report 1"]
    assert run("-p", "day=1", "--lazy", "true") == 0 and calls(project) == []
    assert run("-p", "day=2", "--only", "report") == 0 and calls(project) == ["report 2"]


def test_params_file_json_and_yaml_with_p_winning(project):
    (project / "p.json").write_text(json.dumps({"day": 7, "fail": None}))
    assert run("-f", "p.json") == 0 and calls(project) == ["ingest 7", "report 7"]
    (project / "p.yaml").write_text("day: 8\n")
    assert run("-f", "p.yaml", "-p", "day=9") == 0 and calls(project) == ["ingest 9", "report 9"]


def test_bad_params_files_are_usage_errors(project, capsys):
    (project / "bad.json").write_text("{bad")
    (project / "list.yaml").write_text("- 1\n- 2\n")
    for name, expected in (
        ("bad.json", "not valid JSON"),
        ("list.yaml", "expected a mapping"),
        ("nope.json", "cannot"),
    ):
        assert run("-f", name) == 2
        err = capsys.readouterr().err
        assert expected in err and name in err and "Traceback" not in err
    assert calls(project) == []


def test_a_failed_flow_ends_with_the_command_that_resumes_it(project, capsys):
    assert run("-p", "day=3", "-p", "fail=report", "-p", "api_key=abc123xyz", "--param=db_password=pw9") == 1
    err = capsys.readouterr().err
    assert "abc123xyz" not in err and "pw9" not in err
    assert "api_key=[REDACTED]" in err and "--param=db_password=[REDACTED]" in err
    line = next(x for x in err.splitlines() if x.startswith("Resume with: "))
    assert line.startswith("Resume with: dtflw run driver.py") and "--resume" in line
    assert calls(project) == ["ingest 3", "report 3"]
    argv = ["fail=" if a == "fail=report" else a for a in shlex.split(line.removeprefix("Resume with: dtflw "))]
    assert main(argv) == 0  # the same command, with the callee fixed
    assert calls(project) == ["report 3"]  # ingest succeeded in that run: not re-run


def test_version_and_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "dtflw", "--version"], capture_output=True, text=True, check=True)
    from dtflw import __version__

    assert out.stdout.strip() == f"dtflw {__version__}"
    helptext = subprocess.run([sys.executable, "-m", "dtflw", "run", "--help"], capture_output=True, text=True)
    assert helptext.returncode == 0 and "--params-file" in helptext.stdout and "--only" in helptext.stdout


def test_report_lists_declared_notebooks_writes_a_pdf_and_can_be_redrawn(project, capsys):
    argv = ["run", "driver.py", "--dbfs-root", "dbfs", "--report", "rep", "--report-format", "pdf", "--quiet"]
    assert main([*argv, "-p", "fail=ingest"]) == 1
    page = (project / "rep" / "index.html").read_text()
    assert "upstream_failed" in page and "asked to fail" in page  # report never ran: listed anyway
    assert (project / "rep" / "report.pdf").read_bytes().startswith(b"%PDF")
    (project / "rep" / "report.pdf").unlink()
    assert main(["report", "rep", "--pdf"]) == 0
    assert (project / "rep" / "report.pdf").exists()
    capsys.readouterr()
    assert main(["report", "nowhere"]) == 2 and "Traceback" not in capsys.readouterr().err


def test_export_bundle_paths_relative_to_the_bundle_root(project, capsys):
    yaml = pytest.importorskip("yaml")
    argv = ["export", "driver.py", "--dbfs-root", "dbfs", "--bundle", "--include-bundle", "--bundle-name", "demo"]
    assert main([*argv, "-o", "databricks.yml"]) == 0
    doc = yaml.safe_load((project / "databricks.yml").read_text())
    assert doc["bundle"]["name"] == "demo"
    (job,) = doc["resources"]["jobs"].values()
    assert [t["notebook_task"]["notebook_path"] for t in job["tasks"]] == ["./ingest.py", "./report.py"]
    assert main(["export", "driver.py", "--dbfs-root", "dbfs", "--job", "--include-bundle"]) == 2
    assert "need --bundle" in capsys.readouterr().err


def test_resume_last_on_a_flow_that_never_ran_just_runs(project):
    assert run("-p", "day=4", "--resume", "last") == 0
    assert calls(project) == ["ingest 4", "report 4"]
