"""The one local SparkSession (with Delta Lake) of a process, and Databricks paths for Spark I/O.

Spark sees Databricks paths through Hadoop configuration alone, so unmodified notebook code such as
``spark.read.csv("dbfs:/FileStore/x.csv")`` or ``df.write.format("delta").save("/Volumes/c/s/v/t")``
reads and writes the very local folders that :meth:`dtflw.emulated.paths.PathMap.to_local` names
for the same URI (``dbutils.fs`` and ``open()`` use ``PathMap``; both views always agree):

- ``fs.dbfs.impl``, ``fs.abfss.impl``, ``fs.abfs.impl``, ``fs.wasbs.impl``, ``fs.wasb.impl`` =
  ``org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme`` with
  ``fs.viewfs.overload.scheme.target.file.impl`` = ``org.apache.hadoop.fs.LocalFileSystem``;
- ``fs.viewfs.mounttable.default.linkFallback`` = ``file://<dbfs_root>`` and
  ``fs.viewfs.mounttable.default.link./Volumes`` = ``file://<volumes_root>`` (``dbfs:/X`` and,
  because ``fs.defaultFS`` = ``dbfs:///``, scheme-less ``/X`` mean DBFS, as on Databricks;
  ``dbfs:/Volumes/...`` and ``/Volumes/...`` both reach the volumes root);
- per cloud authority ``<container>@<account>.dfs.core.windows.net`` (or ``.blob.``):
  ``fs.viewfs.mounttable.<authority>.linkFallback`` = ``file://<PathMap.to_local(abfss://<authority>/)>``.
  Authorities must be registered (:func:`register_cloud_authority`, ``SessionConfig.cloud_authorities``,
  or found in notebook source with :func:`authorities_in_text`); registration works on a live session.

What differs from the plain recipe, found by experiment (pyspark 4.2.0, delta-spark 4.4.0):

- Delta's default LogStore for an unknown scheme (``HDFSLogStore``) writes through Hadoop's
  ``FileContext``, which needs an ``AbstractFileSystem`` for ``dbfs`` — none exists, so every Delta
  commit on ``dbfs:/`` failed. ``spark.delta.logStore.<scheme>.impl`` = ``io.delta.storage.LocalLogStore``
  for every mapped scheme fixes it (the files are local; LocalLogStore serialises commits inside the
  JVM, which also covers notebooks running in several threads).
- Spark's checkpoint-file manager (used by Delta for checksum files) also tries ``FileContext`` first:
  on ``dbfs:`` it logged a warning, on ``wasbs:`` it failed (``org.apache.hadoop.fs.azure.Wasbs`` not
  found) and skipped the ``.crc`` checksum. ``spark.sql.streaming.checkpointFileManagerClass`` =
  ``FileSystemBasedCheckpointFileManager`` (renames on the local disk are atomic) removes both.
- An authority used *before* it is registered leaves a broken file system in Hadoop's FileSystem cache
  (keyed by scheme + authority), so registering later had no effect. :func:`register_cloud_authority`
  therefore replaces that cache entry. An unregistered authority fails with
  ``ClassNotFoundException: Class dtflw.UnregisteredCloudAuthority_use_dtflw_register_cloud_authority``
  (``fs.viewfs.overload.scheme.target.<scheme>.impl`` names that class on purpose), rather than
  silently writing somewhere else or naming an Azure class.
- ``file:/...`` reads and writes keep going to the real local disk with ``fs.defaultFS`` = ``dbfs:///``
  (verified; dtflw's LocalStorage relies on it). Local paths Spark itself needs are ``file:`` URIs.
- Warehouse: ``spark.sql.warehouse.dir`` = ``dbfs:/user/hive/warehouse`` (Databricks' own default),
  i.e. ``<dbfs_root>/user/hive/warehouse``, not a ``file:`` folder in the run dir. Reason, verified:
  Spark qualifies a scheme-less ``CREATE SCHEMA s LOCATION '/x'`` against the *warehouse's* scheme,
  so with a ``file:`` warehouse that statement created ``/x`` on the real disk (outside every root);
  on DBFS it lands in ``<dbfs_root>/x``, as on Databricks. ``DESCRIBE DETAIL`` then shows
  ``dbfs:/user/hive/warehouse/<t>`` like Databricks does. ``SessionConfig.warehouse`` overrides it.
- Spark's Python workers default to ``python3`` from ``PATH``, not this interpreter; a venv run without
  activation made every UDF fail. The session sets ``SparkContext.pythonExec`` to ``sys.executable``
  unless ``PYSPARK_PYTHON`` is set.
- ``spark.driver.extraJavaOptions`` values are quoted (a run dir with a blank killed the JVM).

Other defaults (all overridable through ``SessionConfig.conf``): ``local[*]``, UI and console progress
bar off, ``spark.sql.shuffle.partitions`` = 2, ``spark.databricks.delta.snapshotPartitions`` = 2 (the
default 50 makes tiny tables slow), session time zone UTC (as on Databricks clusters), Arrow-optimised
Python UDFs off when pyarrow/pandas are missing (Spark would warn at every UDF), Delta jars through
``spark.jars`` (``spark.jars.packages`` failed to resolve transitive jars offline).

Run directory (``SessionConfig.run_dir``): ``metastore_db/`` (Derby, so ``CREATE TABLE`` survives the
process, like Databricks' metastore; ``persistent_catalog=False`` uses an in-memory catalog; one
process at a time per run dir), ``tmp/`` (JVM temp dir: Spark scratch, Hive scratch),
``log4j2.properties`` (quiet start-up; level ``SessionConfig.log_level``) and ``derby.log``.
Nothing is written to the CWD.

A session is process-wide: :func:`get_or_create_session` returns the live one and applies the new
config's roots and cloud authorities to its Hadoop configuration (last wins; meant for sequential
use such as test suites, not for two runs with different roots at once). Hadoop caches file systems
by scheme + authority, so a change re-creates the affected cached instances and clears Delta's log
cache. The metastore, run dir, jars and other static settings keep their first values (a warning
says so); catalog tables keep pointing at ``dbfs:/...`` paths, which resolve under the current roots.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from dtflw.emulated.paths import PathMap
from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

_log = logging.getLogger(__name__)

DELTA_VERSION = "4.4.0"
DELTA_SPARK_ARTIFACT = f"io.delta:delta-spark_4.2_2.13:{DELTA_VERSION}"
DELTA_STORAGE_ARTIFACT = f"io.delta:delta-storage:{DELTA_VERSION}"
DELTA_ARTIFACTS = (DELTA_SPARK_ARTIFACT, DELTA_STORAGE_ARTIFACT)
JARS_ENV_VAR = "DTFLW_SPARK_JARS"
DEFAULT_WAREHOUSE = "dbfs:/user/hive/warehouse"  # as on Databricks (legacy hive_metastore)

_VIEWFS = "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
_LOCAL_FS = "org.apache.hadoop.fs.LocalFileSystem"
_LOCAL_LOG_STORE = "io.delta.storage.LocalLogStore"
_FS_CHECKPOINT_MANAGER = "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"
_UNREGISTERED = "dtflw.UnregisteredCloudAuthority_use_dtflw_register_cloud_authority"
_MAPPED_SCHEMES = ("dbfs", "abfss", "abfs", "wasbs", "wasb")
_CLOUD_SCHEMES = _MAPPED_SCHEMES[1:]
_DEFAULT_MOUNT_TABLE = "fs.viewfs.mounttable.default"
_LOG_LEVELS = ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")

_AUTHORITY_RE = re.compile(
    r"(?<![A-Za-z0-9+.-])(?:abfss?|wasbs?)://([A-Za-z0-9$][A-Za-z0-9-]*@[A-Za-z0-9]+\.(?:dfs|blob)\.core\.windows\.net)",
    re.IGNORECASE,
)
_START_FAILURE_MARKERS = (
    "unresolved dependency",
    "JAVA_GATEWAY_EXITED",
    "Java gateway process exited",
    "JAVA_HOME",
)
_LOG4J = """\
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
# Spark's own loggers configured explicitly at the same level: then Spark does not override the
# level with WARN and announce it ("Setting default log level to ...") at start-up
logger.spark.name = org.apache.spark
logger.spark.level = {level}
"""


# -- Delta jars -------------------------------------------------------------------------------------


def _artifact_jar(m2_root: Path, artifact: str) -> Path:
    group, name, version = artifact.split(":")
    return m2_root.joinpath(*group.split("."), name, version, f"{name}-{version}.jar")


def _jars_hint(m2_root: Path) -> str:
    repo = "" if m2_root == Path.home() / ".m2" / "repository" else f" -Dmaven.repo.local={m2_root}"
    commands = "\n".join(
        f"  mvn dependency:get -Dtransitive=false{repo} -Dartifact={artifact}" for artifact in DELTA_ARTIFACTS
    )
    return (
        "Run `make jars` in the dtflw repository, or:\n"
        f"{commands}\n"
        f"(or set {JARS_ENV_VAR} to the two jar files, comma-separated)."
    )


def delta_jar_paths(m2_root: Path | None = None) -> list[Path]:
    """The Delta Lake jars Spark needs: ``$DTFLW_SPARK_JARS`` (comma-separated) or the Maven repository.

    Raises :class:`RuntimeNotAvailableError` saying what to run when a jar is missing.
    """
    override = os.environ.get(JARS_ENV_VAR, "").strip()
    if override:
        jars = [Path(item.strip()).expanduser().absolute() for item in override.split(",") if item.strip()]
        missing = [jar for jar in jars if not jar.is_file()]
        if missing:
            raise RuntimeNotAvailableError(
                f"{JARS_ENV_VAR} names jar files that do not exist: {', '.join(map(str, missing))}."
            )
        return jars
    root = Path(m2_root).expanduser().absolute() if m2_root is not None else Path.home() / ".m2" / "repository"
    jars = [_artifact_jar(root, artifact) for artifact in DELTA_ARTIFACTS]
    missing = [jar for jar in jars if not jar.is_file()]
    if missing:
        raise RuntimeNotAvailableError(
            f"Delta Lake {DELTA_VERSION} jars are missing from the Maven repository {root} "
            f"(not found: {', '.join(str(jar) for jar in missing)}), so no local SparkSession can start. "
            + _jars_hint(root)
        )
    return jars


# -- configuration ----------------------------------------------------------------------------------


def _abs_path(value: str | os.PathLike[str]) -> Path:
    return Path(value).absolute()  # exactly as PathMap does


def _opt_abs_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else _abs_path(value)


def _conf_dict(value: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _authority_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _warehouse_uri(value: str | os.PathLike[str]) -> str:
    """A URI as given; a ``Path`` becomes ``file:<abs>``; a scheme-less str means DBFS (as in Spark)."""
    if isinstance(value, os.PathLike):
        return "file:" + str(Path(value).absolute())
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"warehouse must be a URI or a local Path, got {value!r}")
    return value if ":" in value.split("/", 1)[0] else "dbfs:" + value


@attrs.frozen
class SessionConfig:
    """How the local SparkSession is built and which local folders Databricks paths map to.

    ``volumes_root`` / ``cloud_root`` default exactly as in :class:`PathMap`; ``run_dir`` defaults to
    the folder holding ``dbfs_root`` (``.dtflw-run/dbfs`` → ``.dtflw-run``). ``conf`` is extra Spark
    configuration (e.g. from ``--conf``) applied last, so it wins over dtflw's defaults.
    """

    dbfs_root: Path = attrs.field(converter=_abs_path)
    volumes_root: Path | None = attrs.field(default=None, converter=_opt_abs_path)
    cloud_root: Path | None = attrs.field(default=None, converter=_opt_abs_path)
    run_dir: Path | None = attrs.field(default=None, converter=_opt_abs_path)
    conf: dict[str, str] = attrs.field(factory=dict, converter=_conf_dict)
    app_name: str = "dtflw-local"
    master: str = "local[*]"
    shuffle_partitions: int = 2
    cloud_authorities: frozenset[str] = attrs.field(factory=frozenset, converter=_authority_set)
    persistent_catalog: bool = True
    log_level: str = "ERROR"
    warehouse: str = attrs.field(default=DEFAULT_WAREHOUSE, converter=_warehouse_uri)
    default_catalog: str = "hive_metastore"

    def __attrs_post_init__(self) -> None:
        path_map = PathMap(self.dbfs_root, self.volumes_root, self.cloud_root)
        object.__setattr__(self, "volumes_root", path_map.volumes_root)
        object.__setattr__(self, "cloud_root", path_map.cloud_root)
        if self.run_dir is None:
            object.__setattr__(self, "run_dir", self.dbfs_root.parent)
        if not isinstance(self.shuffle_partitions, int) or self.shuffle_partitions < 1:
            raise InvalidArgumentError(f"shuffle_partitions must be a positive int, got {self.shuffle_partitions!r}")
        if not isinstance(self.log_level, str) or self.log_level.upper() not in _LOG_LEVELS:
            raise InvalidArgumentError(f"log_level must be one of {', '.join(_LOG_LEVELS)}, got {self.log_level!r}")
        for authority in self.cloud_authorities:
            _authority_target(path_map, authority)  # validates early

    @property
    def path_map(self) -> PathMap:
        """The :class:`PathMap` with the same roots (what ``dbutils.fs`` uses)."""
        return PathMap(self.dbfs_root, self.volumes_root, self.cloud_root)

    @property
    def tmp_dir(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "tmp"


# -- path mapping -----------------------------------------------------------------------------------


def _file_uri(path: Path) -> str:
    """``file:///abs/path`` (percent-encoded: Hadoop parses mount targets as URIs)."""
    return path.absolute().as_uri()


def _root_mapping(path_map: PathMap) -> dict[str, str]:
    """The Hadoop settings for ``dbfs:`` / scheme-less / ``/Volumes`` paths (no cloud authorities)."""
    assert path_map.volumes_root is not None
    mapping = {f"fs.{scheme}.impl": _VIEWFS for scheme in _MAPPED_SCHEMES}
    mapping.update({f"fs.viewfs.overload.scheme.target.{scheme}.impl": _UNREGISTERED for scheme in _CLOUD_SCHEMES})
    mapping["fs.viewfs.overload.scheme.target.file.impl"] = _LOCAL_FS
    mapping[f"{_DEFAULT_MOUNT_TABLE}.linkFallback"] = _file_uri(path_map.dbfs_root)
    mapping[f"{_DEFAULT_MOUNT_TABLE}.link./Volumes"] = _file_uri(path_map.volumes_root)
    mapping["fs.defaultFS"] = "dbfs:///"
    return mapping


def _authority_target(path_map: PathMap, authority: str) -> tuple[str, str]:
    """(Hadoop key, ``file://`` target) for ``container@account.dfs|blob.core.windows.net``."""
    if not isinstance(authority, str) or "/" in authority or not authority.strip():
        raise InvalidArgumentError(
            f"Cloud authority must look like 'container@account.dfs.core.windows.net', got {authority!r}"
        )
    scheme = "wasbs" if ".blob.core.windows.net" in authority.lower() else "abfss"
    local = path_map.to_local(f"{scheme}://{authority}/")  # raises InvalidArgumentError if malformed
    return f"fs.viewfs.mounttable.{authority}.linkFallback", _file_uri(local)


def authorities_in_text(text: str) -> set[str]:
    """The Azure authorities (``container@account.dfs.core.windows.net`` / ``.blob.``) in ``text``.

    Finds literal ``abfss://``, ``abfs://``, ``wasbs://`` and ``wasb://`` URLs, e.g. in notebook source,
    so a runtime can register them before the code runs. Spelling is kept as written.
    """
    if not isinstance(text, str):
        raise TypeError(f"authorities_in_text expects a str, got {type(text).__name__}")
    return {match.group(1) for match in _AUTHORITY_RE.finditer(text)}


# -- the process-wide session -----------------------------------------------------------------------

_lock = threading.RLock()
_session: SparkSession | None = None
_config: SessionConfig | None = None
_path_map: PathMap | None = None
_registered: dict[str, str] = {}  # authority -> file:// target currently set on the live session


def _default_display(df: DataFrame) -> None:
    df.show(20, truncate=False)


_display_hook: Callable[[DataFrame], Any] = _default_display


def set_display_hook(hook: Callable[[DataFrame], Any] | None) -> Callable[[DataFrame], Any]:
    """Make ``DataFrame.display()`` call ``hook(df)`` (``None`` restores the default); returns the old hook."""
    global _display_hook
    if hook is not None and not callable(hook):
        raise InvalidArgumentError(f"Display hook must be callable, got {hook!r}")
    with _lock:
        previous, _display_hook = _display_hook, (hook or _default_display)
    _install_display()
    return previous


def _dataframe_display(self: DataFrame, *args: Any, **kwargs: Any) -> None:
    """``DataFrame.display()`` as on Databricks: hand the frame to the display hook."""
    _display_hook(self)


def _install_display() -> None:
    from pyspark.sql import DataFrame

    if getattr(DataFrame, "display", None) is not _dataframe_display:
        setattr(DataFrame, "display", _dataframe_display)  # Databricks' extra DataFrame method


def _is_alive(spark: SparkSession | None) -> bool:
    return spark is not None and getattr(spark.sparkContext, "_jsc", None) is not None


def _merge_list(conf: dict[str, str], key: str, value: str, sep: str) -> None:
    existing = conf.get(key, "").strip()
    conf[key] = value if not existing else f"{value}{sep}{existing}"


def spark_conf(config: SessionConfig, jars: Iterable[Path]) -> dict[str, str]:
    """Every Spark setting dtflw starts the session with (``config.conf`` merged in last)."""
    assert config.run_dir is not None
    tmp = config.tmp_dir
    conf: dict[str, str] = {
        "spark.master": config.master,
        "spark.app.name": config.app_name,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.session.timeZone": "Etc/UTC",  # Databricks clusters run in UTC
        "spark.sql.sources.default": "delta",  # as on Databricks: saveAsTable, CREATE TABLE, load()
        "spark.sql.warehouse.dir": config.warehouse,
        "spark.sql.catalogImplementation": "hive" if config.persistent_catalog else "in-memory",
        "spark.sql.streaming.checkpointFileManagerClass": _FS_CHECKPOINT_MANAGER,
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={config.run_dir / 'metastore_db'};create=true"
        ),
        "spark.hadoop.hive.exec.scratchdir": "file:" + str(tmp / "hive"),
        "spark.hadoop.hive.exec.local.scratchdir": str(tmp / "hive-local"),
        "spark.hadoop.hive.downloaded.resources.dir": str(tmp / "hive-resources"),
    }
    if not all(importlib.util.find_spec(name) for name in ("pyarrow", "pandas")):
        # else Spark warns at every UDF that it falls back to plain Python UDFs (the same results)
        conf["spark.sql.execution.pythonUDF.arrow.enabled"] = "false"
    for scheme in _MAPPED_SCHEMES:
        conf[f"spark.delta.logStore.{scheme}.impl"] = _LOCAL_LOG_STORE
    for key, value in _root_mapping(config.path_map).items():
        conf["spark.hadoop." + key] = value
    for authority in sorted(config.cloud_authorities):
        key, value = _authority_target(config.path_map, authority)
        conf["spark.hadoop." + key] = value
    user = dict(config.conf)
    _merge_list(user, "spark.jars", ",".join(str(jar) for jar in jars), ",")
    _merge_list(user, "spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension", ",")
    java_opts = " ".join(  # quoted: Spark splits these options on blanks outside quotes
        f'"-D{name}={value}"'
        for name, value in (
            ("java.io.tmpdir", tmp),
            ("derby.system.home", config.run_dir),
            ("log4j2.configurationFile", _log4j_file(config).as_uri()),
        )
    )
    _merge_list(user, "spark.driver.extraJavaOptions", java_opts, " ")
    conf["spark.sql.catalog.spark_catalog"] = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    conf.update(user)
    return conf


def _log4j_file(config: SessionConfig) -> Path:
    assert config.run_dir is not None
    return config.run_dir / "log4j2.properties"


def _prepare_dirs(config: SessionConfig) -> None:
    assert config.volumes_root is not None and config.cloud_root is not None and config.run_dir is not None
    for folder in (config.dbfs_root, config.volumes_root, config.cloud_root, config.run_dir, config.tmp_dir):
        folder.mkdir(parents=True, exist_ok=True)
    log4j = _log4j_file(config)
    text = _LOG4J.format(level=config.log_level.lower())
    if not log4j.is_file() or log4j.read_text(encoding="utf-8") != text:
        log4j.write_text(text, encoding="utf-8")


def _start_error(error: BaseException) -> RuntimeNotAvailableError | None:
    """A clear error for a Spark start-up failure caused by missing jars or Java, else ``None``."""
    text = f"{type(error).__name__}: {error}"
    if not any(marker.lower() in text.lower() for marker in _START_FAILURE_MARKERS):
        return None
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return RuntimeNotAvailableError(
        f"The local SparkSession could not start ({first}); the Java output above says why. It needs "
        f"Java 17+ (java on PATH or JAVA_HOME) and the Delta Lake {DELTA_VERSION} jars. "
        + _jars_hint(Path.home() / ".m2" / "repository")
    )


def get_or_create_session(config: SessionConfig) -> SparkSession:
    """The process's local SparkSession with Delta Lake and the Databricks path mapping of ``config``.

    The first call starts Spark (jars are checked first: :class:`RuntimeNotAvailableError` without
    starting anything if they are missing). Later calls return the same session after applying
    ``config``'s roots and cloud authorities to its Hadoop configuration.
    """
    if not isinstance(config, SessionConfig):
        raise InvalidArgumentError(f"get_or_create_session expects a SessionConfig, got {config!r}")
    with _lock:
        if _is_alive(_session):
            assert _session is not None
            _reconfigure(_session, config)
            return _session
        jars = delta_jar_paths()
        _prepare_dirs(config)
        conf = spark_conf(config, jars)
        try:
            from pyspark.sql import SparkSession
        except ImportError as error:  # pragma: no cover - depends on the install
            raise RuntimeNotAvailableError(
                "pyspark is not installed; install dtflw with the 'local' extra: pip install 'dtflw[local]'"
            ) from error
        builder = SparkSession.builder
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as error:
            clear = _start_error(error)
            if clear is not None:
                raise clear from error
            raise
        _adopt(spark, config)
        return spark


def _adopt(spark: SparkSession, config: SessionConfig) -> None:
    """Finish set-up of a freshly started (or foreign, pre-existing) session and remember it."""
    global _session, _config, _path_map
    sc = spark.sparkContext
    if "PYSPARK_PYTHON" not in os.environ:
        sc.pythonExec = sys.executable
    sc.setLogLevel(config.log_level.upper())
    extensions = sc.getConf().get("spark.sql.extensions", "") or ""
    if "DeltaSparkSessionExtension" not in extensions:
        _log.warning("A SparkSession started outside dtflw is in use; Delta Lake is not enabled on it.")
    _session, _config, _path_map = spark, config, None
    _registered.clear()
    _install_display()
    _reconfigure(spark, config)


def _hadoop_confs(spark: SparkSession) -> list[Any]:
    """Where the mapping must live: the context's Hadoop configuration (Spark SQL copies it for every
    query) and the shared state's copy, from which the Hive metastore client builds its own."""
    confs = [spark.sparkContext._jsc.hadoopConfiguration()]
    try:
        confs.append(spark._jsparkSession.sharedState().hadoopConf())
    except Exception as error:  # pragma: no cover - a Spark without this accessor
        _log.debug("No shared-state Hadoop configuration: %s", error)
    return confs


def _jvm(spark: SparkSession) -> Any:
    """The py4j view of the session's JVM (py4j objects are untyped; pyspark types this one Optional)."""
    jvm = spark.sparkContext._jvm
    if jvm is None:  # only once the SparkContext was stopped
        raise RuntimeNotAvailableError("The SparkSession was stopped: its JVM is gone.")
    return jvm


def _set_hadoop(spark: SparkSession, settings: Mapping[str, str]) -> None:
    for conf in _hadoop_confs(spark):
        for key, value in settings.items():
            conf.set(key, value)


def _refresh(spark: SparkSession, uris: Iterable[str]) -> None:
    """Replace Hadoop's cached FileSystem for each URI by one built from the current mapping.

    The cache is keyed by scheme + authority only, so a stale instance would keep serving the old
    mount table; re-creating it right away (rather than on next use) also means no other component
    with an older configuration copy (the Hive client) can be the one to re-create it.
    """
    jvm = _jvm(spark)
    hadoop_conf = _hadoop_confs(spark)[0]
    file_system = jvm.org.apache.hadoop.fs.FileSystem
    for uri in uris:
        java_uri = jvm.java.net.URI(uri)
        try:
            file_system.get(java_uri, hadoop_conf).close()  # close() also drops it from the cache
        except Exception as error:  # a broken cached instance may fail to close; it is gone anyway
            _log.debug("Closing cached file system for %s: %s", uri, error)
        try:
            file_system.get(java_uri, hadoop_conf)
        except Exception as error:  # pragma: no cover - created lazily on next use instead
            _log.debug("Re-creating file system for %s: %s", uri, error)


def _reconfigure(spark: SparkSession, config: SessionConfig) -> None:
    """Apply ``config``'s roots and cloud authorities to the live session (cheap when unchanged)."""
    global _path_map, _config
    path_map = config.path_map
    if _path_map != path_map:
        for root in (path_map.dbfs_root, path_map.volumes_root, path_map.cloud_root):
            assert root is not None
            root.mkdir(parents=True, exist_ok=True)
        _set_hadoop(spark, _root_mapping(path_map))
        if _path_map is not None:  # roots changed on a live session: forget cached state
            _refresh(spark, ["dbfs:///"])
            try:
                _jvm(spark).org.apache.spark.sql.delta.DeltaLog.clearCache()
            except Exception as error:  # pragma: no cover - Delta not on this session
                _log.debug("Could not clear Delta's log cache: %s", error)
            stale = list(_registered)
            _registered.clear()
            _path_map = path_map
            for authority in stale:
                register_cloud_authority(spark, authority, path_map)
        _path_map = path_map
    if _config is not None and _config is not config:
        _apply_changed_settings(spark, _config, config)
    _config = config
    for authority in sorted(config.cloud_authorities):
        register_cloud_authority(spark, authority, path_map)
    from dtflw.local.uc_patch import activate

    activate(spark, path_map, config.default_catalog)


def _apply_changed_settings(spark: SparkSession, old: SessionConfig, new: SessionConfig) -> None:
    """Set changed runtime-modifiable Spark settings on the live session; warn about the rest."""
    static = ("run_dir", "master", "app_name", "persistent_catalog", "warehouse", "log_level")
    fixed = [name for name in static if getattr(old, name) != getattr(new, name)]
    if old.shuffle_partitions != new.shuffle_partitions:
        spark.conf.set("spark.sql.shuffle.partitions", str(new.shuffle_partitions))
    for key, value in new.conf.items():
        if old.conf.get(key) == value:
            continue
        if spark.conf.isModifiable(key):
            spark.conf.set(key, value)
        else:
            fixed.append(key)
    for key in old.conf.keys() - new.conf.keys():  # back to the value the session started with
        if spark.conf.isModifiable(key):
            spark.conf.unset(key)
    if fixed:
        _log.warning(
            "The SparkSession is already running; these settings keep their first values: %s", ", ".join(fixed)
        )


def register_cloud_authority(spark: SparkSession, authority: str, path_map: PathMap | None = None) -> None:
    """Map ``container@account.dfs.core.windows.net`` (or ``.blob.``) for Spark I/O on a live session.

    The target folder is ``path_map.to_local("abfss://<authority>/")`` (default: the mapping of the
    session's config). Idempotent and cheap when the authority is already mapped to that folder.
    """
    with _lock:
        if path_map is None:
            path_map = (
                _path_map
                if spark is _session and _path_map is not None
                else (_config.path_map if _config is not None else None)
            )
        if path_map is None:
            raise RuntimeNotAvailableError("No dtflw session configuration: call get_or_create_session first.")
        key, target = _authority_target(path_map, authority)
        if spark is _session and _registered.get(authority) == target:
            return
        if _hadoop_confs(spark)[0].get(key) != target:
            _set_hadoop(spark, {key: target})
            scheme = "wasbs" if ".blob." in authority.lower() else "abfss"
            _refresh(spark, [f"{scheme}://{authority}/", f"{scheme[:-1]}://{authority}/"])
        if spark is _session:
            _registered[authority] = target


def active_session() -> SparkSession | None:
    """The live session started by :func:`get_or_create_session`, if any."""
    with _lock:
        return _session if _is_alive(_session) else None


def stop_session() -> None:
    """Stop the process's session (tests, CLI clean-up); the next call starts a fresh one."""
    global _session, _config, _path_map
    with _lock:
        spark, _session, _config, _path_map = _session, None, None, None
        _registered.clear()
        from dtflw.local.uc_patch import deactivate

        deactivate()
        if _is_alive(spark):
            assert spark is not None
            spark.stop()
