"""Delta Lake's jars for the local SparkSession: found on this machine, else fetched once by Spark's Ivy.

The version follows the installed ``delta-spark`` (then lower patches of its minor, see
:func:`candidate_versions`); the artifact name follows the installed pyspark, as delta-spark's own
``configure_spark_with_delta_pip`` names it (``io.delta:delta-spark_4.2_2.13`` for Delta 4.4 on Spark 4.2).

:func:`resolve_delta_jars` tries, first hit wins:

0. the user's Spark conf brings Delta (``spark.jars`` with a delta-spark jar, or ``spark.jars.packages``
   with ``io.delta:delta-spark...``): dtflw adds nothing;
1. ``$DTFLW_DELTA_JARS`` (or the older ``$DTFLW_SPARK_JARS``): jar files and/or folders (``,`` or
   ``os.pathsep`` separated; a folder gives its delta-spark and delta-storage jars, Maven- or Ivy-named).
   Set but wrong is an error, never a silent fall-through;
2. the Maven repository ``~/.m2/repository`` (what ``make jars`` / ``mvn dependency:get`` fill);
3. Ivy's retrieve folder ``<ivy>/jars`` from an earlier fetch (``<ivy>``: ``spark.jars.ivy``, else
   ``~/.ivy2.5.2`` (Spark 4's default) or ``~/.ivy2``);
4. a fetch: Spark's own package resolution (``spark.jars.packages``, plus the user's
   ``spark.jars.repositories`` / ``spark.jars.ivySettings``) into ``<ivy>``, in a child process
   (``python -m dtflw.local.jars --fetch``) so its failure reason can be reported; then as 3.

Steps 1-3 are offline and take milliseconds; Delta's two jars go on ``spark.jars`` (all Spark needs).
Nothing found and the fetch failed: one :class:`RuntimeNotAvailableError` listing every step.
``python -m dtflw.local.jars`` resolves (fetching if needed) and prints the jar paths: CI runs it once
online and caches ``~/.ivy2.5.2`` (or uses ``--copy-to DIR`` and ``DTFLW_DELTA_JARS=DIR``).
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from dtflw.errors import RuntimeNotAvailableError

_log = logging.getLogger(__name__)

JARS_ENV_VAR = "DTFLW_DELTA_JARS"
LEGACY_JARS_ENV_VAR = "DTFLW_SPARK_JARS"
IVY_DIR_NAMES = (".ivy2.5.2", ".ivy2")  # Spark 4's default first, then Spark 3's
FETCH_TIMEOUT = 900.0
_FALLBACK_DELTA_VERSION = "4.4.0"  # only when delta-spark is not installed (no local runtime then)
_PASSED_TO_FETCH = ("spark.jars.repositories", "spark.jars.ivySettings", "spark.jars.excludes")
_NETWORK_RE = re.compile(r"not found\. url=|UnknownHost|Connection refused|timed out|unreachable", re.IGNORECASE)
_REASON_RE = re.compile(r"not found|JAVA_HOME|JAVA_GATEWAY|Exception|Error", re.IGNORECASE)
_START_FAILURE_MARKERS = ("unresolved dependency", "JAVA_GATEWAY_EXITED", "Java gateway process exited", "JAVA_HOME")


# -- what to look for ---------------------------------------------------------------------------------


def delta_version() -> str:
    """The installed delta-spark's version (its jars must match its Python API)."""
    try:
        return importlib.metadata.version("delta-spark")
    except importlib.metadata.PackageNotFoundError:
        return _FALLBACK_DELTA_VERSION


@functools.cache
def delta_spark_coordinate() -> str:
    """``io.delta:delta-spark_<suffix>:<version>`` as delta-spark's own pip helper names it."""
    version = delta_version()
    try:  # the installed delta-spark knows its artifact name for the installed pyspark
        from delta.pip_utils import configure_spark_with_delta_pip
        from pyspark.sql import SparkSession

        builder = SparkSession.Builder()
        options: dict[str, Any] = builder._options
        before = dict(options)
        try:
            packages = str(configure_spark_with_delta_pip(builder)._options.get("spark.jars.packages", ""))
        finally:
            options.clear()
            options.update(before)
        for item in packages.split(","):
            if item.startswith("io.delta:delta-spark") and item.endswith(":" + version):
                return item
    except Exception:  # noqa: BLE001 - fall back to Delta 4.4's rule below
        pass
    try:
        spark = ".".join(importlib.metadata.version("pyspark").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        spark = "4.2"
    return f"io.delta:delta-spark_{spark}_2.13:{version}"


def delta_artifacts(version: str | None = None) -> tuple[str, str]:
    """The two coordinates dtflw puts on ``spark.jars``: delta-spark and delta-storage (of ``version``)."""
    version = version or delta_version()
    return f"{delta_spark_coordinate().rsplit(':', 1)[0]}:{version}", f"io.delta:delta-storage:{version}"


def candidate_versions() -> list[str]:
    """The installed version, then lower patches of the same minor (a PyPI patch release may have no
    jars on Maven: delta-spark 4.4.1 was on PyPI while Ivy found no ``delta-spark_4.2_2.13:4.4.1``)."""
    version = delta_version()
    match = re.fullmatch(r"(\d+\.\d+)\.(\d+)", version)
    if match is None:
        return [version]
    return [version] + [f"{match.group(1)}.{patch}" for patch in range(int(match.group(2)) - 1, -1, -1)]


def __getattr__(name: str) -> Any:  # computed on first use: finding the artifact name imports pyspark
    if name == "DELTA_VERSION":
        return delta_version()
    if name == "DELTA_SPARK_ARTIFACT":
        return delta_spark_coordinate()
    if name == "DELTA_STORAGE_ARTIFACT":
        return delta_artifacts()[1]
    if name == "DELTA_ARTIFACTS":
        return delta_artifacts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jar_name(artifact: str) -> str:
    _, name, version = artifact.split(":")
    return f"{name}-{version}.jar"


def _artifact_jar(m2_root: Path, artifact: str) -> Path:
    group, name, version = artifact.split(":")
    return m2_root.joinpath(*group.split("."), name, version, _jar_name(artifact))


def default_m2_root() -> Path:
    return Path.home() / ".m2" / "repository"


def ivy_dirs(conf: Mapping[str, str] | None = None) -> list[Path]:
    """Where Spark's Ivy keeps its cache: ``spark.jars.ivy`` if set, else the defaults under ``$HOME``."""
    given = (conf or {}).get("spark.jars.ivy", "").strip()
    if given:
        return [Path(given).expanduser().absolute()]
    return [Path.home() / name for name in IVY_DIR_NAMES]


# -- the steps ----------------------------------------------------------------------------------------


@attrs.frozen
class DeltaJars:
    """Where Delta's jars come from: ``jars`` for ``spark.jars`` (empty when the user's conf brings Delta)."""

    jars: tuple[Path, ...]
    source: str
    ivy_dir: Path
    version: str = attrs.field(factory=delta_version)


def _in_folder(folder: Path, version: str | None = None) -> tuple[list[Path], list[str]]:
    """Delta's jars in ``folder`` (Maven or Ivy file names) and the names not found."""
    found, missing = [], []
    for artifact in delta_artifacts(version):
        name = _jar_name(artifact)
        hits = [folder / name, folder / f"io.delta_{name}"]
        hit = next((jar for jar in hits if jar.is_file()), None)
        found += [hit] if hit else []
        missing += [] if hit else [name]
    return found, missing


def _from_env() -> tuple[str, list[Path]] | None:
    for var in (JARS_ENV_VAR, LEGACY_JARS_ENV_VAR):
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        jars: list[Path] = []
        for item in filter(None, (i.strip() for i in re.split(f"[,{re.escape(os.pathsep)}]", value))):
            path = Path(item).expanduser().absolute()
            if path.is_dir():
                found, missing = _in_folder(path)
                for version in candidate_versions()[1:]:
                    found, missing = (found, missing) if not missing else _in_folder(path, version)
                if missing:
                    raise RuntimeNotAvailableError(
                        f"{var} names the folder {path}, which lacks {' and '.join(missing)} "
                        f"(Delta Lake {delta_version()}, as installed). " + fix_hint()
                    )
                jars += found
            elif path.is_file():
                jars.append(path)
            else:
                raise RuntimeNotAvailableError(f"{var} names jar files that do not exist: {path}. " + fix_hint())
        return var, jars
    return None


def _user_brings_delta(conf: Mapping[str, str]) -> bool:
    jars = conf.get("spark.jars", "").split(",")
    packages = conf.get("spark.jars.packages", "").split(",")
    return any("delta-spark" in Path(j.strip()).name for j in jars if j.strip()) or any(
        p.strip().startswith("io.delta:delta-spark") for p in packages
    )


def delta_jar_paths(m2_root: Path | None = None) -> list[Path]:
    """Delta's jars from ``$DTFLW_DELTA_JARS`` or the Maven repository only (no Ivy, no download).

    Raises :class:`RuntimeNotAvailableError` saying what to run when a jar is missing.
    """
    env = _from_env()
    if env is not None:
        return env[1]
    root = Path(m2_root).expanduser().absolute() if m2_root is not None else default_m2_root()
    jars = [_artifact_jar(root, artifact) for artifact in delta_artifacts()]
    missing = [jar for jar in jars if not jar.is_file()]
    if missing:
        raise RuntimeNotAvailableError(
            f"Delta Lake {delta_version()} jars are missing from the Maven repository {root} "
            f"(not found: {', '.join(map(str, missing))}). " + fix_hint(root)
        )
    return jars


def _substitute(found: DeltaJars) -> DeltaJars:
    if found.version != delta_version():
        _log.warning(
            "delta-spark %s is installed, but its jars were not found; using Delta Lake %s's (same minor version).",
            delta_version(),
            found.version,
        )
    return found


def resolve_delta_jars(conf: Mapping[str, str] | None = None, *, fetch: bool = True) -> DeltaJars:
    """Delta's jars by the order in the module docstring; raises one error naming every step tried."""
    conf = conf or {}
    ivys = ivy_dirs(conf)
    if _user_brings_delta(conf):
        return DeltaJars((), "the Spark conf (spark.jars / spark.jars.packages)", ivys[0])
    env = _from_env()
    if env is not None:
        return DeltaJars(tuple(env[1]), f"${env[0]}", ivys[0])
    m2 = default_m2_root()
    for version in candidate_versions():  # the installed version anywhere beats a lower patch
        jars = [_artifact_jar(m2, artifact) for artifact in delta_artifacts(version)]
        if all(jar.is_file() for jar in jars):
            return _substitute(DeltaJars(tuple(jars), f"the Maven repository {m2}", ivys[0], version))
        for ivy in ivys:
            found, missing = _in_folder(ivy / "jars", version)
            if not missing:
                return _substitute(DeltaJars(tuple(found), f"Ivy's cache {ivy}", ivy, version))
    tried = [f"${JARS_ENV_VAR}: not set"]
    tried.append(f"Maven repository: no {_artifact_jar(m2, delta_artifacts()[0])}")
    tried += [f"Ivy cache: no {ivy / 'jars' / ('io.delta_' + _jar_name(delta_artifacts()[0]))}" for ivy in ivys]
    if not fetch:
        tried.append("Spark's Ivy resolution: not tried (offline lookup only)")
        raise RuntimeNotAvailableError(_not_found(tried, ivys[0]))
    reasons = []
    for version in candidate_versions():
        reason = fetch_with_ivy(ivys[0], conf, version)
        if reason is None:
            found, missing = _in_folder(ivys[0] / "jars", version)
            if not missing:
                return _substitute(DeltaJars(tuple(found), f"Spark's Ivy resolution into {ivys[0]}", ivys[0], version))
            reason = f"it succeeded but {ivys[0] / 'jars'} lacks {' and '.join(missing)}"
        reasons.append(reason if version == delta_version() else f"{version}: {reason}")
        if "unresolved dependency" not in reason:  # a network or Java failure: other versions fail alike
            break
    tried.append(
        f"Spark's Ivy resolution (spark.jars.packages={delta_spark_coordinate()}, into {ivys[0]}): "
        + "; also tried ".join(reasons)
    )
    raise RuntimeNotAvailableError(_not_found(tried, ivys[0]))


# -- messages -----------------------------------------------------------------------------------------


def fix_hint(m2_root: Path | None = None) -> str:
    """How to make the jars available (offline CI included)."""
    repo = "" if m2_root is None or m2_root == default_m2_root() else f" -Dmaven.repo.local={m2_root}"
    mvn = "; ".join(f"mvn dependency:get -Dtransitive=false{repo} -Dartifact={a}" for a in delta_artifacts())
    names = " and ".join(_jar_name(a) for a in delta_artifacts())
    return (
        "To fix: run once with network access (Spark's Ivy then fetches them; for offline CI pre-fetch with "
        "`python -m dtflw.local.jars` and cache ~/.ivy2.5.2, or `python -m dtflw.local.jars --copy-to DIR`), "
        f"or set {JARS_ENV_VAR} to a folder (or comma-separated files) holding {names}, "
        f"or fill the Maven repository (`make jars` in a dtflw checkout, or: {mvn})."
    )


def _not_found(tried: Sequence[str], ivy: Path) -> str:
    steps = "\n".join(f"  {number}. {step}" for number, step in enumerate(tried, 1))
    return (
        f"Delta Lake {delta_version()} jars ({delta_spark_coordinate()}) are not available, so no local "
        f"SparkSession can start. Tried:\n{steps}\n" + fix_hint()
    )


def start_error(error: BaseException) -> RuntimeNotAvailableError | None:
    """A clear error for a Spark start-up failure caused by missing jars or Java, else ``None``."""
    text = f"{type(error).__name__}: {error}"
    if not any(marker.lower() in text.lower() for marker in _START_FAILURE_MARKERS):
        return None
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return RuntimeNotAvailableError(
        f"The local SparkSession could not start ({first}); the Java output above says why. It needs "
        f"Java 17+ (java on PATH or JAVA_HOME) and the Delta Lake {delta_version()} jars "
        f"({', '.join(delta_artifacts())}). " + fix_hint()
    )


# -- fetching through Spark's Ivy ---------------------------------------------------------------------


def _reason(output: str, returncode: int) -> str:
    """The telling lines of a failed fetch's output: the unresolved dependency and the first network error."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    unresolved = [line for line in lines if "unresolved dependency" in line.lower()][:1]
    network = [line for line in lines if _NETWORK_RE.search(line)][:1]
    picked = unresolved + network or [line for line in lines if _REASON_RE.search(line)][:2] or lines[-2:]
    return "; ".join(dict.fromkeys(picked)) or f"exit code {returncode}"


def fetch_with_ivy(ivy_dir: Path, conf: Mapping[str, str] | None = None, version: str | None = None) -> str | None:
    """Run Spark's package resolution for Delta into ``ivy_dir`` in a child process; the reason it failed."""
    version = version or delta_version()
    command = [sys.executable, "-m", "dtflw.local.jars", "--fetch", "--ivy", str(ivy_dir), "--delta-version", version]
    command += [f"--conf={key}={value}" for key, value in (conf or {}).items() if key in _PASSED_TO_FETCH]
    _log.warning(  # the CLI shows warnings while a notebook runs (its stdout/stderr are captured)
        "Delta Lake jars not found locally; Spark's Ivy fetches %s into %s (first run only)...",
        delta_artifacts(version)[0],
        ivy_dir,
    )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{type(error).__name__}: {error}"
    return None if done.returncode == 0 else _reason(done.stderr + "\n" + done.stdout, done.returncode)


def _fetch_in_this_process(ivy_dir: Path, extra: Mapping[str, str], version: str) -> None:
    """Start only Spark's launcher (no SparkContext): it resolves ``spark.jars.packages`` with Ivy."""
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    conf = SparkConf().setAll([*extra.items(), ("spark.jars.ivy", str(ivy_dir)), ("spark.master", "local[1]")])
    conf.set("spark.jars.packages", delta_artifacts(version)[0])
    launch_gateway(conf).shutdown()  # type: ignore[no-untyped-call]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dtflw.local.jars",
        description="Find Delta Lake's jars for dtflw's local runtime (fetching them once through Spark's "
        "Ivy if needed) and print their paths.",
    )
    parser.add_argument("--ivy", help="Ivy folder (spark.jars.ivy); default ~/.ivy2.5.2")
    parser.add_argument("--offline", action="store_true", help="only look on this machine, never download")
    parser.add_argument("--fetch", action="store_true", help="always resolve through Spark's Ivy (needs network)")
    parser.add_argument("--copy-to", metavar="DIR", help=f"copy the jars into DIR (for {JARS_ENV_VAR}=DIR)")
    parser.add_argument("--delta-version", help="with --fetch: this Delta version (default: delta-spark's)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="Spark setting")
    args = parser.parse_args(argv)
    conf = dict(item.split("=", 1) for item in args.conf if "=" in item)
    if args.ivy:
        conf["spark.jars.ivy"] = str(Path(args.ivy).expanduser().absolute())
    try:
        if args.fetch:
            ivy = ivy_dirs(conf)[0]
            version = args.delta_version or delta_version()
            _fetch_in_this_process(ivy, {k: v for k, v in conf.items() if k in _PASSED_TO_FETCH}, version)
            found, missing = _in_folder(ivy / "jars", version)
            if missing:
                raise RuntimeNotAvailableError(f"Spark's Ivy resolved, but {ivy / 'jars'} lacks {missing}.")
            jars = found
        else:
            jars = list(resolve_delta_jars(conf, fetch=not args.offline).jars)
    except Exception as error:  # noqa: BLE001 - a command-line tool: one message, exit 1
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.copy_to:
        target = Path(args.copy_to).expanduser().absolute()
        target.mkdir(parents=True, exist_ok=True)
        jars = [Path(shutil.copy2(jar, target / jar.name)) for jar in jars]
    for jar in jars:
        print(jar)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through a child process
    sys.exit(main())
