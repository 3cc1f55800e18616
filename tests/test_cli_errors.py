"""`dtflw` never shows a traceback for a user's mistake: one `dtflw <command> failed: ...` line, exit 1.

Notebooks here are Spark-free, so the local runtime never starts a session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dtflw.cli import main
from dtflw.errors import NotebookRunError
from dtflw.testing import FakeDbutils

NOTEBOOK = '# Databricks notebook source\nprint("hi")\n'
EXITING = "# Databricks notebook source\nimport sys\nsys.exit({code})\n"
DRIVER = """\
# Databricks notebook source
from dtflw import init_flow
from dtflw.storage.dbfs import init_storage

flow = init_flow(init_storage(), name="errors-demo")
flow.notebook("nb").output("Table").add()
"""
UNWRITABLE = "/proc/dtflw-no-such-dir"  # /proc refuses new entries, even for root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.py").write_text(NOTEBOOK, encoding="utf-8")
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    return tmp_path


def failed(capsys: pytest.CaptureFixture[str], argv: list[str], *names: str, code: int = 2) -> str:
    """Run the CLI; it must exit with `code`, no traceback, naming every one of `names` on stderr."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"dtflw {argv[0]} failed: " in err
    for name in names:
        assert name in err, (name, err)
    return err


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str], *names: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in names:
        assert name in err, (name, err)


def quiet_run(*extra: str, notebook: str = "nb.py") -> list[str]:
    return ["run", notebook, "--dbfs-root", "dbfs", "--report", "rep", "--quiet", *extra]


# ---- run: options LocalRuntime rejects -------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, names",
    [
        (["--secrets-file", "bad.json"], ["--secrets-file", "bad.json", "JSON"]),
        (["--secrets-file", "missing.json"], ["--secrets-file", "missing.json", "no such file"]),
        (["--secrets-file", "adir"], ["--secrets-file", "adir", "a folder"]),
        (["--user", "a/b"], ["--user", "'a/b'"]),
        (["--user", " "], ["--user"]),
        (["--workspace-dir", "rel/dir"], ["--workspace-dir", "rel/dir", "absolute"]),
        (["--dbfs-root", "afile"], ["--dbfs-root", "afile", "is a file"]),
        (["--volumes-root", "afile/sub"], ["--volumes-root", "afile", "not a folder"]),
    ],
)
def test_run_rejects_bad_runtime_options(project, capsys, extra, names):
    (project / "bad.json").write_text("{bad", encoding="utf-8")
    failed(capsys, quiet_run(*extra), *names)
    assert not (project / "rep" / "index.html").exists()  # nothing ran


def test_notebook_that_is_a_folder(project, capsys):
    failed(capsys, quiet_run(notebook="adir"), "adir", "is a folder")


def test_binary_notebook_fails_with_a_summary(project, capsys):
    (project / "bin.py").write_bytes(b"# Databricks notebook source\nx = '\xff\xfe'\n")
    failed(capsys, quiet_run(notebook="bin.py"), "bin.py", "UTF-8", code=1)


# ---- run: the report folder ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "report, names",
    [("afile", ["--report", "afile", "it is a file"]), (UNWRITABLE, ["--report", UNWRITABLE])],
)
def test_bad_report_folder_fails_before_the_notebook_runs(project, capsys, report, names):
    (project / "nb.py").write_text(NOTEBOOK + "open('ran', 'w').close()\n", encoding="utf-8")
    argv = ["run", "nb.py", "--dbfs-root", "dbfs", "--report", report, "--quiet"]
    failed(capsys, argv, *names)
    assert not (project / "ran").exists()


def test_report_write_failure_at_the_end_is_one_line(project, capsys, monkeypatch):
    def broken(*args: object, **kwargs: object) -> Path:
        raise PermissionError(13, "Permission denied", "rep/index.html")

    monkeypatch.setattr("dtflw.local.report.write_report", broken)
    assert main(quiet_run()) == 2  # a set-up error: the notebook itself succeeded
    out, err = capsys.readouterr()
    assert "hi" in out and "Traceback" not in err
    assert "dtflw run failed: could not write the report to --report 'rep': Permission denied" in err


# ---- run: argparse-level validation (usage errors, exit 2) -----------------------------------------
@pytest.mark.parametrize(
    "extra, names",
    [
        (["--timeout", "-5"], ["--timeout", "-5", "from 0"]),
        (["--timeout", "99999999999999"], ["--timeout", "99999999999999", "2147483647"]),
        (["--timeout", "1.5"], ["--timeout", "1.5"]),
        (["-p", "=x"], ["-p/--param", "KEY=VALUE", "'=x'"]),
        (["-p", " =x"], ["-p/--param", "KEY=VALUE"]),
        (["--conf", "spark.x"], ["--conf", "KEY=VALUE", "spark.x"]),
    ],
)
def test_malformed_options_are_usage_errors(project, capsys, extra, names):
    usage_error(capsys, quiet_run(*extra), *names)


def test_param_values_may_hold_equals_signs_and_be_empty(project, capsys):
    (project / "nb.py").write_text(
        NOTEBOOK + "dbutils.notebook.exit(dbutils.widgets.get('a') + '|' + dbutils.widgets.get('b'))\n",
        encoding="utf-8",
    )
    assert main(quiet_run("-p", "a=x=y", "-p", "b=")) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "x=y|"


# ---- run: sys.exit in a notebook -------------------------------------------------------------------
@pytest.mark.parametrize("code, shown", [("3", "SystemExit: 3"), ("0", "SystemExit: 0"), ("", "SystemExit")])
def test_sys_exit_in_a_notebook_is_a_failure(project, capsys, code, shown):
    (project / "ex.py").write_text(EXITING.format(code=code), encoding="utf-8")
    err = failed(capsys, quiet_run(notebook="ex.py"), "ex.py", shown, code=1)
    assert "report" in err
    assert "FAILED" in (project / "rep" / "index.html").read_text(encoding="utf-8").upper()


def test_sys_exit_in_a_called_notebook_reaches_the_caller(project, capsys):
    (project / "child.py").write_text(EXITING.format(code="'bye'"), encoding="utf-8")
    (project / "parent.py").write_text(
        "# Databricks notebook source\n"
        "try:\n    dbutils.notebook.run('child', 0)\n"
        "except Exception as error:\n    dbutils.notebook.exit('caught ' + type(error).__name__)\n",
        encoding="utf-8",
    )
    assert main(quiet_run(notebook="parent.py")) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "caught NotebookRunError"


@pytest.mark.parametrize("timeout", [0, 30])
def test_fake_dbutils_turns_sys_exit_into_notebook_run_error(timeout):
    dbutils = FakeDbutils()
    dbutils.notebook.register("quits", lambda args: sys.exit(3))
    with pytest.raises(NotebookRunError, match="SystemExit: 3") as raised:
        dbutils.notebook.run("quits", timeout)
    assert isinstance(raised.value.__cause__, SystemExit)
    assert raised.value.reason == "SystemExit: 3"


def test_fake_dbutils_lets_keyboard_interrupt_through():
    dbutils = FakeDbutils()

    def interrupted(args: dict[str, str]) -> None:
        raise KeyboardInterrupt

    dbutils.notebook.register("ctrl-c", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dbutils.notebook.run("ctrl-c", 0)


# ---- plan / graph / export ---------------------------------------------------------------------------
def test_driver_that_is_a_folder(project, capsys):
    failed(capsys, ["plan", "adir", "--dbfs-root", "dbfs"], "driver", "adir", "is a folder")


@pytest.mark.parametrize(
    "cluster, names",
    [("{bad", ["--cluster expects a JSON object", "'{bad'"]), ("[1, 2]", ["--cluster expects a JSON object", "list"])],
)
def test_export_cluster_must_be_a_json_object(project, capsys, cluster, names):
    (project / "driver.py").write_text("raise RuntimeError('driver ran')\n", encoding="utf-8")
    err = failed(capsys, ["export", "driver.py", "--job", "--cluster", cluster, "--dbfs-root", "dbfs"], *names)
    assert "driver ran" not in err  # checked before the driver runs


@pytest.mark.parametrize("command", [["graph"], ["export", "--job"]])
@pytest.mark.parametrize(
    "output, names",
    [
        (f"{UNWRITABLE}/g.html", ["-o", UNWRITABLE, "does not exist"]),
        ("/proc/g.html", ["-o", "/proc/g.html", "cannot write in folder '/proc'"]),
        ("adir", ["-o", "adir"]),
    ],
)
def test_unwritable_output_fails_before_the_driver_runs(project, capsys, command, output, names):
    (project / "driver.py").write_text("raise RuntimeError('driver ran')\n", encoding="utf-8")
    argv = [command[0], "driver.py", *command[1:], "-o", output, "--dbfs-root", "dbfs"]
    err = failed(capsys, argv, *names)
    assert "driver ran" not in err


def test_graph_unknown_suffix_fails_before_the_driver_runs(project, capsys):
    (project / "driver.py").write_text("raise RuntimeError('driver ran')\n", encoding="utf-8")
    err = failed(capsys, ["graph", "driver.py", "-o", "g.txt", "--dbfs-root", "dbfs"], "-o", "g.txt", ".html")
    assert "driver ran" not in err


@pytest.mark.parametrize("command", [["graph"], ["export", "--job"]])
def test_final_write_failure_names_the_file(project, capsys, monkeypatch, command):
    real = Path.write_text

    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        if self.name == "out.html":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", refuse)
    argv = [command[0], "driver.py", *command[1:], "-o", "out.html", "--dbfs-root", "dbfs"]
    failed(capsys, argv, "-o", "out.html", "Permission denied")


def test_plan_rejects_bad_runtime_options_too(project, capsys):
    failed(capsys, ["plan", "driver.py", "--user", "a/b"], "--user")
    failed(capsys, ["graph", "driver.py", "--secrets-file", "nope.json"], "--secrets-file", "nope.json")


def test_sys_exit_in_a_driver_is_a_clean_failure(project, capsys):
    (project / "driver.py").write_text(EXITING.format(code="2"), encoding="utf-8")
    failed(capsys, ["plan", "driver.py", "--dbfs-root", "dbfs"], "SystemExit: 2", code=1)


# ---- history ---------------------------------------------------------------------------------------
def test_history_bad_storage_and_dbfs_root(project, capsys):
    failed(capsys, ["history", "--storage", "nonsense://x", "--dbfs-root", "dbfs"], "nonsense")
    failed(capsys, ["history", "--dbfs-root", "afile"], "--dbfs-root", "afile")
    failed(capsys, ["history", "--user", "a/b", "--dbfs-root", "dbfs"], "--user")
    failed(capsys, ["history", "--run", "../x", "--dbfs-root", "dbfs"], "../x")
    # a typo'd URL (no "//") or a folder where nothing is: said so, not "no runs recorded"
    failed(capsys, ["history", "--storage", "volume:/main/sales/files", "--dbfs-root", "dbfs"], "volume")
    failed(capsys, ["history", "--storage", "no-such-folder", "--dbfs-root", "dbfs"], "no-such-folder")
    assert main(["history", "--storage", "adir", "--dbfs-root", "dbfs"]) == 0  # exists, no runs yet
    assert "no runs recorded" in capsys.readouterr().out


def test_export_an_empty_existing_cluster_id_is_refused_as_in_the_api(project, capsys):
    failed(capsys, ["export", "driver.py", "--job", "--existing-cluster-id", ""], "existing_cluster_id")


def test_resume_takes_last_or_a_well_formed_run_id(project, capsys):
    usage_error(capsys, quiet_run("--resume", "not-a-run-id"), "--resume", "not-a-run-id", "last")
    usage_error(capsys, quiet_run("--resume", "../20261122T002000Z-3f9a1c"), "--resume")


def test_selection_options_a_driver_cannot_take_are_reported(project, capsys):
    (project / "eager.py").write_text(
        "# Databricks notebook source\n"
        "from dtflw import init_flow\nfrom dtflw.storage.dbfs import init_storage\n"
        "flow = init_flow(init_storage(), name='eager')\n"
        "flow.notebook('nb').run()\n",
        encoding="utf-8",
    )
    assert main(quiet_run("--only", "nonexistent", "--lazy", "false", notebook="eager.py")) == 0
    err = capsys.readouterr().err
    assert "--lazy, --only apply to flow.run() in the driver, and it ran none" in err
    assert main(quiet_run(notebook="eager.py")) == 0
    assert "apply to flow.run()" not in capsys.readouterr().err
