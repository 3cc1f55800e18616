"""How dtflw's local SparkSession is configured: :class:`SessionConfig`, Databricks paths for Spark I/O,
and :func:`spark_conf` (every setting the session starts with). The session itself: :mod:`dtflw.local.session`;
Delta Lake's jars: :mod:`dtflw.local.jars`.

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
``spark.jars`` when found locally (see :mod:`dtflw.local.jars`); a user's ``spark.jars`` /
``spark.jars.packages`` are merged with them, not replaced.

Run directory (``SessionConfig.run_dir``): ``metastore_db/`` (Derby, so ``CREATE TABLE`` survives the
process, like Databricks' metastore; ``persistent_catalog=False`` uses an in-memory catalog; one
process at a time per run dir), ``tmp/`` (JVM temp dir: Spark scratch, Hive scratch),
``log4j2.properties`` (quiet start-up; level ``SessionConfig.log_level``) and ``derby.log``.
Nothing is written to the CWD.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from dtflw.emulated.paths import PathMap
from dtflw.errors import InvalidArgumentError

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


def _merge_list(conf: dict[str, str], key: str, value: str, sep: str) -> None:
    existing = conf.get(key, "").strip()
    conf[key] = value if not existing else f"{value}{sep}{existing}"


def spark_conf(config: SessionConfig, jars: Iterable[Path], ivy_dir: Path | None = None) -> dict[str, str]:
    """Every Spark setting dtflw starts the session with (``config.conf`` merged in last).

    ``jars`` (Delta's) go first in ``spark.jars``, before the user's; the user's ``spark.jars.packages``
    are kept, and resolved by Spark's Ivy in ``ivy_dir`` unless ``spark.jars.ivy`` is given.
    """
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
        # Cluster tags notebooks read to tell where they run (Databricks sets them on every cluster).
        "spark.databricks.clusterUsageTags.clusterName": "dtflw-local",
        "spark.databricks.clusterUsageTags.clusterId": "dtflw-local",
        "spark.databricks.clusterUsageTags.clusterAllTags": "[]",
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
    if user.get("spark.jars.packages", "").strip() and ivy_dir is not None:
        user.setdefault("spark.jars.ivy", str(ivy_dir))  # the JVM's user.home ignores $HOME
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
