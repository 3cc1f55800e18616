"""dtflw.local.jars: where Delta Lake's jars come from (order, overrides, the one error, the Ivy fetch)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from dtflw.errors import RuntimeNotAvailableError
from dtflw.local import jars
from dtflw.local.session_conf import SessionConfig, spark_conf

SPARK, STORAGE = jars.delta_artifacts()
VERSION = importlib.metadata.version("delta-spark")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home (no ~/.m2, no Ivy cache), no jar variables, and no download."""
    fake = tmp_path / "home"
    fake.mkdir()
    monkeypatch.setenv("HOME", str(fake))
    monkeypatch.delenv(jars.JARS_ENV_VAR, raising=False)
    monkeypatch.delenv(jars.LEGACY_JARS_ENV_VAR, raising=False)
    monkeypatch.setattr(jars, "fetch_with_ivy", _no_network)
    return fake


def _no_network(ivy_dir: Path, conf: object = None, version: object = None) -> str:
    return "Host central not found. url=<central>/io/delta/x.pom"


def _touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(b"PK")
    return paths


def _maven_names() -> tuple[str, str]:
    return tuple(f"{a.split(':')[1]}-{VERSION}.jar" for a in (SPARK, STORAGE))  # type: ignore[return-value]


def test_coordinates_follow_the_installed_packages() -> None:
    spark_mm = ".".join(importlib.metadata.version("pyspark").split(".")[:2])
    assert SPARK.startswith("io.delta:delta-spark_") and SPARK.endswith(f":{VERSION}")
    if tuple(map(int, VERSION.split(".")[:2])) >= (4, 4):  # Delta 4.4 names artifacts per Spark minor
        assert SPARK == f"io.delta:delta-spark_{spark_mm}_2.13:{VERSION}"
    assert STORAGE == f"io.delta:delta-storage:{VERSION}"
    from dtflw.local import session

    assert session.DELTA_SPARK_ARTIFACT == SPARK and session.DELTA_VERSION == VERSION


def test_resolution_order(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ivy = _touch(home / ".ivy2.5.2" / "jars", *(f"io.delta_{n}" for n in _maven_names()))
    assert jars.resolve_delta_jars().jars == tuple(ivy)  # 3. Ivy's cache
    m2 = [jars._artifact_jar(home / ".m2" / "repository", a) for a in (SPARK, STORAGE)]
    for jar in m2:
        _touch(jar.parent, jar.name)
    found = jars.resolve_delta_jars()
    assert found.jars == tuple(m2) and "Maven" in found.source  # 2. Maven repository beats Ivy
    folder = _touch(tmp_path / "offline", *_maven_names(), "unrelated.jar")[:2]
    monkeypatch.setenv(jars.JARS_ENV_VAR, str(tmp_path / "offline"))
    assert jars.resolve_delta_jars().jars == tuple(folder)  # 1. the variable (a folder) beats both
    single = _touch(tmp_path / "files", "a.jar", "b.jar")
    monkeypatch.setenv(jars.JARS_ENV_VAR, ",".join(map(str, single)))
    assert jars.resolve_delta_jars().jars == tuple(single)  # explicit files, as given
    user = {"spark.jars.packages": f"{SPARK},org.example:other:1"}
    assert jars.resolve_delta_jars(user).jars == ()  # 0. the user's Spark conf brings Delta itself


def test_ivy_dir_from_spark_conf(home: Path, tmp_path: Path) -> None:
    ivy = _touch(tmp_path / "ivy" / "jars", *(f"io.delta_{n}" for n in _maven_names()))
    found = jars.resolve_delta_jars({"spark.jars.ivy": str(tmp_path / "ivy")})
    assert found.jars == tuple(ivy) and found.ivy_dir == tmp_path / "ivy"


def test_one_error_naming_every_step(home: Path) -> None:
    with pytest.raises(RuntimeNotAvailableError) as info:
        jars.resolve_delta_jars()
    message = str(info.value)
    assert message.startswith(f"Delta Lake {VERSION} jars ({SPARK}) are not available")
    assert f"1. ${jars.JARS_ENV_VAR}: not set" in message
    assert f"2. Maven repository: no {home / '.m2' / 'repository'}" in message
    assert f"3. Ivy cache: no {home / '.ivy2.5.2' / 'jars'}" in message
    assert f"Spark's Ivy resolution (spark.jars.packages={SPARK}, into {home / '.ivy2.5.2'}): Host central" in message
    for hint in ("python -m dtflw.local.jars", jars.JARS_ENV_VAR, "make jars", f"-Dartifact={STORAGE}"):
        assert hint in message
    with pytest.raises(RuntimeNotAvailableError, match="not tried"):
        jars.resolve_delta_jars(fetch=False)


def test_wrong_variable_is_an_error(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jars.JARS_ENV_VAR, str(tmp_path / "missing.jar"))
    with pytest.raises(RuntimeNotAvailableError, match="missing.jar"):
        jars.resolve_delta_jars()
    _touch(tmp_path / "half", _maven_names()[0])
    monkeypatch.setenv(jars.JARS_ENV_VAR, str(tmp_path / "half"))
    with pytest.raises(RuntimeNotAvailableError, match=f"lacks delta-storage-{VERSION}.jar"):
        jars.resolve_delta_jars()


def test_fetch_failure_reason_is_short() -> None:
    output = "\n".join(
        [
            ":: resolving dependencies",
            "\tHost central not found. url=<a>.pom",
            "\tHost central not found. url=<a>.jar",
            "java.lang.RuntimeException: [unresolved dependency: io.delta#delta-spark_4.2_2.13;4.4.0: not found]",
        ]
    )
    assert jars._reason(output, 1) == (
        "java.lang.RuntimeException: [unresolved dependency: io.delta#delta-spark_4.2_2.13;4.4.0: not found]; "
        "Host central not found. url=<a>.pom"
    )
    assert jars._reason("", 3) == "exit code 3"


def test_spark_conf_keeps_user_packages(tmp_path: Path) -> None:
    config = SessionConfig(dbfs_root=tmp_path / "dbfs", conf={"spark.jars.packages": "org.example:x:1"})
    conf = spark_conf(config, [Path("/j/d.jar")], tmp_path / "ivy")
    assert conf["spark.jars.packages"] == "org.example:x:1"
    assert conf["spark.jars"] == "/j/d.jar"
    assert conf["spark.jars.ivy"] == str(tmp_path / "ivy")  # the JVM ignores $HOME; dtflw does not


@pytest.mark.spark
def test_fetch_through_spark_ivy(tmp_path: Path) -> None:
    """The real thing: Spark's Ivy resolves Delta into an empty Ivy folder (needs network, ~30 s)."""
    command = [sys.executable, "-m", "dtflw.local.jars", "--fetch", "--ivy", str(tmp_path / "ivy")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 and "not found. url=" in done.stderr:
        pytest.skip("no network: " + jars._reason(done.stderr, done.returncode))
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [Path(line) for line in done.stdout.splitlines()]
    assert [p.name for p in printed] == [f"io.delta_{n}" for n in _maven_names()]
    assert all(p.is_file() and p.parent == tmp_path / "ivy" / "jars" for p in printed)


def test_lower_patch_when_the_installed_one_has_no_jars(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """delta-spark 4.4.1 was on PyPI while Maven had no delta-spark_4.2_2.13:4.4.1: use 4.4.0's jars."""
    minor = VERSION.rsplit(".", 1)[0]
    monkeypatch.setattr(jars, "delta_version", lambda: f"{minor}.2")
    assert jars.candidate_versions() == [f"{minor}.2", f"{minor}.1", f"{minor}.0"]
    asked: list[object] = []

    def fetch(ivy_dir: Path, conf: object = None, version: object = None) -> str | None:
        asked.append(version)
        if version != f"{minor}.1":
            return f"[unresolved dependency: io.delta#x;{version}: not found]"
        _touch(ivy_dir / "jars", *(f"io.delta_{n.replace(VERSION, str(version))}" for n in _maven_names()))
        return None

    monkeypatch.setattr(jars, "fetch_with_ivy", fetch)
    found = jars.resolve_delta_jars()
    assert asked == [f"{minor}.2", f"{minor}.1"] and found.version == f"{minor}.1"
    assert jars.resolve_delta_jars().source.startswith("Ivy's cache")  # next run: offline, no fetch
    assert asked == [f"{minor}.2", f"{minor}.1"]
