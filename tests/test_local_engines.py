"""Engine choice, client-side path mapping, engine guards and the Databricks Connect seam (no Spark)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from dtflw.cli import main as cli_main
from dtflw.emulated.paths import PathMap
from dtflw.errors import EngineUnsupportedError, InvalidArgumentError, RuntimeNotAvailableError
from dtflw.local.engines import Engine, EngineChoice, PathMapping, resolve_engine
from dtflw.local.engines.client_paths import ClientMapping, map_sql, to_engine_path
from dtflw.local.engines.databricks_connect import databricks_session
from dtflw.local.engines.guards import Unavailable
from dtflw.local.runtime import LocalRuntime

# ---- choosing an engine -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, remote, env, expected",
    [
        (None, None, {}, ("local", None)),
        ("sail", None, {}, ("sail", None)),
        ("SAIL", None, {}, ("sail", None)),
        (None, None, {"DTFLW_ENGINE": "sail"}, ("sail", None)),
        (None, None, {"DTFLW_REMOTE": "sc://h:15002"}, ("connect", "sc://h:15002")),
        (None, None, {"SPARK_REMOTE": "sc://h:15002"}, ("connect", "sc://h:15002")),
        (None, None, {"SPARK_REMOTE": "local[2]"}, ("local", None)),  # pyspark's own local mode, not a server
        ("connect", None, {}, ("connect", None)),
        ("sail", None, {"SPARK_REMOTE": "sc://h:1"}, ("sail", None)),  # an environment remote is for connect
        ("local", None, {"DTFLW_ENGINE": "sail"}, ("local", None)),  # the argument wins
        (None, "sc://x:1/;token=abc", {"DTFLW_ENGINE": "connect"}, ("connect", "sc://x:1/;token=abc")),
        (None, "databricks:dev", {}, ("connect", "databricks:dev")),
    ],
)
def test_engine_resolution(engine: Any, remote: Any, env: dict[str, str], expected: tuple[str, Any]) -> None:
    choice = resolve_engine(engine, remote, environ=env)
    assert (choice.engine.value, choice.remote) == expected


@pytest.mark.parametrize(
    "engine, remote, message",
    [
        ("spark", None, "engine must be one of local, connect, sail, got 'spark'"),
        (3, None, "engine must be one of"),
        ("connect", "http://h:1", "remote must be a Spark Connect URL"),
        ("connect", "sc://", "remote must be a Spark Connect URL"),
        ("connect", "sc://h:port", "remote must be a Spark Connect URL"),
        ("connect", "sc://h:1/db", "remote must be a Spark Connect URL"),
        ("connect", "", "remote must be"),
        ("sail", "sc://h:1", "remote is only used with engine 'connect'"),
    ],
)
def test_bad_engine_or_remote_is_refused_up_front(engine: Any, remote: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match="^" + message.replace("(", r"\(").replace(")", r"\)")[:40]):
        resolve_engine(engine, remote, environ={})


def test_a_token_in_the_remote_never_shows_in_errors_or_labels() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        EngineChoice(Engine.SAIL, "sc://h:1/;token=s3cr3t")
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in EngineChoice(Engine.CONNECT, "sc://h:1/;token=s3cr3t").label
    choice = LocalRuntime(engine="connect", remote="sc://h:1/;token=s3cr3t").engine
    assert "s3cr3t" not in repr(choice) and "sc://h:1/;[REDACTED]" in repr(choice)
    assert choice.remote == "sc://h:1/;token=s3cr3t"  # passed to pyspark as given


@pytest.mark.parametrize(
    "choice, mapping",
    [
        (EngineChoice(Engine.LOCAL), PathMapping.SERVER),
        (EngineChoice(Engine.CONNECT), PathMapping.SERVER),  # the server dtflw starts is configured
        (EngineChoice(Engine.SAIL), PathMapping.CLIENT),
        (EngineChoice(Engine.CONNECT, "sc://127.0.0.1:15002"), PathMapping.CLIENT),  # shares this disk
        (EngineChoice(Engine.CONNECT, "sc://localhost:15002/;user_id=me"), PathMapping.CLIENT),
        (EngineChoice(Engine.CONNECT, "sc://cluster.example.com:443/;token=t"), PathMapping.NONE),
        (EngineChoice(Engine.CONNECT, "databricks"), PathMapping.NONE),
    ],
)
def test_who_maps_databricks_paths(choice: EngineChoice, mapping: PathMapping) -> None:
    assert choice.path_mapping is mapping


def test_local_runtime_takes_the_engine_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTFLW_ENGINE", "sail")
    assert LocalRuntime(dbfs_root="x").engine == EngineChoice(Engine.SAIL)
    monkeypatch.setenv("DTFLW_ENGINE", "nonsense")
    with pytest.raises(InvalidArgumentError, match="engine must be one of"):
        LocalRuntime(dbfs_root="x")


# ---- client-side path mapping -------------------------------------------------------------------


@pytest.fixture
def mapping(tmp_path: Path) -> ClientMapping:
    return ClientMapping(PathMap(tmp_path / "dbfs"), file_uris=True)


def test_paths_sent_to_the_server(mapping: ClientMapping, tmp_path: Path) -> None:
    dbfs = tmp_path / "dbfs"
    assert to_engine_path(mapping, "dbfs:/FileStore/t") == f"file:{dbfs}/FileStore/t"
    assert to_engine_path(mapping, "/FileStore/t") == f"file:{dbfs}/FileStore/t"  # scheme-less means DBFS
    assert to_engine_path(mapping, "/Volumes/c/s/v/x.csv") == f"file:{dbfs}/Volumes/c/s/v/x.csv"
    assert to_engine_path(mapping, "dbfs:/raw/orders_*.csv") == f"file:{dbfs}/raw/orders_*.csv"
    cloud = to_engine_path(mapping, "abfss://lake@acct.dfs.core.windows.net/p")
    assert cloud.startswith(f"file:{dbfs}") and cloud.endswith("/p")
    for untouched in ("file:/tmp/x", "s3://b/k", "relative/x", "", "//double"):
        assert to_engine_path(mapping, untouched) == untouched
    sail = ClientMapping(mapping.path_map, file_uris=False)
    assert to_engine_path(sail, "dbfs:/a") == f"{dbfs}/a"  # Sail reads `file:/x` as a relative name


def test_paths_in_sql_text(mapping: ClientMapping, tmp_path: Path) -> None:
    root = f"file:{tmp_path / 'dbfs'}"
    sql = (
        "CREATE TABLE t USING delta LOCATION '/mnt/t' AS SELECT * FROM delta.`dbfs:/src` "
        "JOIN parquet.`/Volumes/c/s/v/p` ON 1=1 WHERE note = '/not/a/path' AND `my col` = 'dbfs:/x'"
    )
    assert map_sql(mapping, sql) == (
        f"CREATE TABLE t USING delta LOCATION '{root}/mnt/t' AS SELECT * FROM delta.`{root}/src` "
        f"JOIN parquet.`{root}/Volumes/c/s/v/p` ON 1=1 WHERE note = '/not/a/path' AND `my col` = '{root}/x'"
    )
    assert map_sql(mapping, "SELECT `a.b`, 'it''s' FROM t") == "SELECT `a.b`, 'it''s' FROM t"
    assert map_sql(mapping, map_sql(mapping, sql)) == map_sql(mapping, sql)  # mapping twice changes nothing


# ---- guards and the Databricks Connect seam -----------------------------------------------------


def test_unavailable_handles_fail_naming_the_engine() -> None:
    sc = Unavailable("sail", "sc", "use spark")
    with pytest.raises(EngineUnsupportedError, match="^`sc` is not available on engine 'sail': use spark$"):
        sc.parallelize([1])
    with pytest.raises(EngineUnsupportedError):
        sc()
    assert not hasattr(sc, "_repr_html_")  # probes by display() and friends see a plain object
    assert repr(sc) == "<sc: not available on engine 'sail'>"


class _Builder:
    def __init__(self, calls: list[str], fail: bool = False) -> None:
        self.calls, self.fail = calls, fail

    def profile(self, name: str) -> _Builder:
        self.calls.append(f"profile:{name}")
        return self

    def getOrCreate(self) -> str:  # noqa: N802 - Databricks Connect's name
        if self.fail:
            raise ValueError("cannot configure default credentials")
        self.calls.append("getOrCreate")
        return "session"


def _stub_databricks_connect(monkeypatch: pytest.MonkeyPatch, builder: _Builder) -> None:
    module = types.ModuleType("databricks.connect")
    module.DatabricksSession = types.SimpleNamespace(builder=builder)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "databricks.connect", module)


def test_databricks_connect_seam_passes_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    _stub_databricks_connect(monkeypatch, _Builder(calls))
    assert databricks_session("dev") == "session"
    assert calls == ["profile:dev", "getOrCreate"]
    calls.clear()
    assert databricks_session(None) == "session" and calls == ["getOrCreate"]


def test_databricks_connect_seam_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_databricks_connect(monkeypatch, _Builder([], fail=True))
    with pytest.raises(RuntimeNotAvailableError, match="profile 'dev': ValueError: cannot configure"):
        databricks_session("dev")
    monkeypatch.setitem(sys.modules, "databricks.connect", None)  # not installed
    with pytest.raises(RuntimeNotAvailableError, match="needs Databricks Connect: pip install databricks-connect"):
        databricks_session(None)


# ---- command line -------------------------------------------------------------------------------


def test_cli_engine_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = tmp_path / "nb.py"
    nb.write_text("# Databricks notebook source\nprint(1)\n")
    with pytest.raises(SystemExit) as caught:
        cli_main(["run", str(nb), "--engine", "spark"])
    assert caught.value.code == 2 and "invalid choice: 'spark'" in capsys.readouterr().err
    code = cli_main(["run", str(nb), "--engine", "sail", "--remote", "sc://h:1/;token=s3cr3t", "--report", ""])
    err = capsys.readouterr().err
    assert code == 2 and "remote is only used with engine 'connect'" in err
    assert "Traceback" not in err and "s3cr3t" not in err


def test_resume_command_hides_remote_parameters() -> None:
    from dtflw.cli import _redacted_argv

    argv = ["run", "d.py", "--remote", "sc://h:443/;token=s3cr3t", "--remote=sc://h:1/;x=y", "--engine", "connect"]
    assert _redacted_argv(argv) == [
        "run", "d.py", "--remote", "sc://h:443/;[REDACTED]", "--remote=sc://h:1/;[REDACTED]", "--engine", "connect",
    ]  # fmt: skip


def test_a_missing_extra_is_one_actionable_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pysail", None)  # as if `dtflw[fast]` were not installed
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "pysail" else object())
    with pytest.raises(RuntimeNotAvailableError, match=r"^engine 'sail' needs pysail, which is not installed: pip"):
        LocalRuntime(dbfs_root=tmp_path, engine="sail")
    nb = tmp_path / "nb.py"
    nb.write_text("# Databricks notebook source\nprint(1)\n")
    assert cli_main(["run", str(nb), "--engine", "sail", "--report", ""]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "dtflw run failed: engine 'sail' needs pysail, which is not installed: pip install 'dtflw[fast]'"
    LocalRuntime(dbfs_root=tmp_path, engine="connect")  # what connect needs is there
