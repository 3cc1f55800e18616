"""The one local SparkSession (with Delta Lake) of a process: start, reuse, re-map, stop.

Its configuration and the Databricks path mapping: :mod:`dtflw.local.session_conf`; Delta Lake's
jars (found locally or fetched once through Spark's Ivy): :mod:`dtflw.local.jars`. Names from both
are re-exported here (``SessionConfig``, ``spark_conf``, ``delta_jar_paths``, ...).

A session is process-wide: :func:`get_or_create_session` returns the live one and applies the new
config's roots and cloud authorities to its Hadoop configuration (last wins; meant for sequential
use such as test suites, not for two runs with different roots at once). Hadoop caches file systems
by scheme + authority, so a change re-creates the affected cached instances and clears Delta's log
cache. The metastore, run dir, jars and other static settings keep their first values (a warning
says so); catalog tables keep pointing at ``dbfs:/...`` paths, which resolve under the current roots.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dtflw.emulated.paths import PathMap
from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError
from dtflw.local import jars as _jars
from dtflw.local.jars import (
    JARS_ENV_VAR,
    DeltaJars,
    delta_jar_paths,
    resolve_delta_jars,
)
from dtflw.local.jars import start_error as _start_error
from dtflw.local.session_conf import (
    DEFAULT_WAREHOUSE,
    SessionConfig,
    _authority_target,
    _prepare_dirs,
    _root_mapping,
    authorities_in_text,
    spark_conf,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DEFAULT_WAREHOUSE",
    "JARS_ENV_VAR",
    "DeltaJars",
    "SessionConfig",
    "active_session",
    "authorities_in_text",
    "delta_jar_paths",
    "get_or_create_session",
    "register_cloud_authority",
    "resolve_delta_jars",
    "set_display_hook",
    "spark_conf",
    "stop_session",
]

_log = logging.getLogger(__name__)
_LAZY = ("DELTA_VERSION", "DELTA_SPARK_ARTIFACT", "DELTA_STORAGE_ARTIFACT", "DELTA_ARTIFACTS")


def __getattr__(name: str) -> Any:  # the Delta coordinates follow the installed packages (computed on use)
    if name in _LAZY:
        return getattr(_jars, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def get_or_create_session(config: SessionConfig) -> SparkSession:
    """The process's local SparkSession with Delta Lake and the Databricks path mapping of ``config``.

    The first call starts Spark (Delta's jars are found first, see :mod:`dtflw.local.jars`:
    :class:`RuntimeNotAvailableError` without starting Spark when there are none). Later calls return
    the same session after applying
    ``config``'s roots and cloud authorities to its Hadoop configuration.
    """
    if not isinstance(config, SessionConfig):
        raise InvalidArgumentError(f"get_or_create_session expects a SessionConfig, got {config!r}")
    with _lock:
        if _is_alive(_session):
            assert _session is not None
            _reconfigure(_session, config)
            return _session
        if os.environ.get("SPARK_CONNECT_MODE_ENABLED") == "1":
            raise RuntimeNotAvailableError(
                "engine 'local' cannot start: this process already made a Spark Connect session (engine "
                "'connect' or 'sail'), and pyspark switches a whole process to Spark Connect. "
                "Use one engine per process."
            )
        delta = resolve_delta_jars(config.conf)
        _prepare_dirs(config)
        conf = spark_conf(config, delta.jars, delta.ivy_dir)
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
