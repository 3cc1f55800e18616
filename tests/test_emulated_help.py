"""``help()`` of the emulated dbutils and its modules."""

from __future__ import annotations

import pytest

from dtflw.testing import FakeDbutils


@pytest.fixture
def dbutils(tmp_path) -> FakeDbutils:
    return FakeDbutils(fs_root=tmp_path / "dbfs")


def test_top_level_help_lists_modules_and_marks_missing_ones(dbutils, capsys):
    assert dbutils.help() is None
    out = capsys.readouterr().out
    for module in ("fs", "jobs", "notebook", "secrets", "widgets"):
        assert f"\n  {module}: " in out
    assert "\n  library: LibraryHandler" in out
    assert "\n  data\n" in out and "[not available locally]" in out


@pytest.mark.parametrize(
    ("module", "methods"),
    [
        ("fs", ["cp", "head", "ls", "mkdirs", "mv", "put", "rm", "mount", "mounts", "unmount", "refreshMounts"]),
        ("notebook", ["run", "exit", "getContext"]),
        ("widgets", ["text", "dropdown", "combobox", "multiselect", "get", "getAll", "remove", "removeAll"]),
        ("secrets", ["get", "getBytes", "list", "listScopes"]),
        ("jobs", ["taskValues"]),
        ("jobs.taskValues", ["get", "set"]),
        ("library", ["restartPython", "installPyPI"]),
    ],
)
def test_module_help_lists_every_method_with_a_signature(dbutils, capsys, module, methods):
    target = dbutils
    for part in module.split("."):
        target = getattr(target, part)
    assert target.help() is None
    out = capsys.readouterr().out
    assert out.startswith(f"dbutils.{module}\n")
    for method in methods:
        assert f"\n  {method}(" in out or f"\n  {method}: " in out, method
        assert hasattr(target, method), f"help lists {method} but dbutils.{module} lacks it"


def test_help_for_one_method(dbutils, capsys):
    dbutils.fs.help("mount")
    out = capsys.readouterr().out
    assert out.startswith("dbutils.fs.mount(source: str, mount_point: str, encryption_type: str = ''")
    assert "[local:" in out and out.count("\n") == 2
    dbutils.widgets.help("get")
    assert capsys.readouterr().out == "dbutils.widgets.get(name: str) -> str\n    current value of a widget\n"


def test_help_for_an_unknown_method_lists_the_known_ones(dbutils, capsys):
    assert dbutils.secrets.help("nope") is None
    assert capsys.readouterr().out == (
        "dbutils.secrets has no method named 'nope'. Methods: get, getBytes, list, listScopes\n"
    )
    with pytest.raises(TypeError, match="wrong type"):
        dbutils.fs.help(3)  # type: ignore[arg-type]


def test_library_restart_python_is_a_no_op_and_install_pypi_fails_clearly(dbutils):
    marker = object()
    assert dbutils.library.restartPython() is None
    assert marker is not None  # the process (and its state) survives
    with pytest.raises(NotImplementedError, match=r"removed in Databricks Runtime 11.*%pip install pandas==2.0"):
        dbutils.library.installPyPI("pandas", version="2.0")
    with pytest.raises(NotImplementedError, match="%pip install"):
        dbutils.library.install("dbfs:/x.whl")
