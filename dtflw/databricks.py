"""The one seam to the Databricks runtime: spark, dbutils and the notebook context.

On Databricks the handles are discovered (the notebook's `dbutils`, the active SparkSession).
Tests and the local runtime install their own with `set_runtime` / `use_runtime`; nothing else
in dtflw knows which runtime it runs on. This module holds the only module-level state.
"""

from __future__ import annotations

import contextlib
import posixpath
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypedDict

from dtflw.errors import RuntimeNotAvailableError


class _Runtime(TypedDict):
    """The installed handles (None: discover from the environment)."""

    spark: Any
    dbutils: Any
    spark_factory: Callable[[], Any] | None


class _RuntimeConf(Protocol):
    """What dtflw uses of `spark.conf` (pyspark's RuntimeConfig)."""

    def get(self, key: str, /) -> str | None: ...

    def set(self, key: str, value: str, /) -> None: ...


class _NotebookApi(Protocol):
    """What dtflw uses of `dbutils.notebook` directly."""

    def run(self, path: str, timeout_seconds: int, arguments: dict[str, str], /) -> str: ...


_lock = threading.Lock()
_runtime: _Runtime = {"spark": None, "dbutils": None, "spark_factory": None}
_shared_arguments: dict[str, str] = {}  # fallback store when no SparkSession is around


def set_runtime(spark: Any = None, dbutils: Any = None, spark_factory: Callable[[], Any] | None = None) -> None:
    """Install the handles dtflw should use (None means: discover from the environment).

    `spark_factory` starts a session on first use (the local runtime starts Spark lazily).
    """
    with _lock:
        _runtime["spark"] = spark
        _runtime["dbutils"] = dbutils
        _runtime["spark_factory"] = spark_factory


@contextlib.contextmanager
def use_runtime(
    spark: Any = None, dbutils: Any = None, spark_factory: Callable[[], Any] | None = None
) -> Iterator[None]:
    """Install handles for the duration of a `with` block, then restore the previous ones."""
    with _lock:
        previous = _Runtime(**_runtime)
    set_runtime(
        spark=spark if spark is not None else previous["spark"],
        dbutils=dbutils if dbutils is not None else previous["dbutils"],
        spark_factory=spark_factory if spark_factory is not None else previous["spark_factory"],
    )
    try:
        yield
    finally:
        set_runtime(**previous)


def get_spark_session() -> Any:
    """The installed SparkSession, else the active one, else a new one (imports pyspark lazily)."""
    if _runtime["spark"] is not None:
        return _runtime["spark"]
    if _runtime["spark_factory"] is not None:
        return _runtime["spark_factory"]()
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise RuntimeNotAvailableError(
            "No SparkSession: pyspark is not installed. Install dtflw[local] or pass spark= explicitly."
        ) from error
    active = SparkSession.getActiveSession()
    return active if active is not None else SparkSession.builder.getOrCreate()


def get_spark_session_if_running() -> Any:
    """The installed or already active SparkSession, or None — never starts one or imports pyspark."""
    if _runtime["spark"] is not None:
        return _runtime["spark"]
    import sys

    if "pyspark.sql" not in sys.modules:
        return None
    return sys.modules["pyspark.sql"].SparkSession.getActiveSession()


def set_runtime_config_property(key: str, value: str) -> None:
    """Set a session-wide value: `spark.conf` when Spark runs, else this process's store."""
    spark = get_spark_session_if_running()
    if spark is not None:
        conf: _RuntimeConf = spark.conf
        conf.set(key, value)
    else:
        with _lock:
            _shared_arguments[key] = value


def get_runtime_config_property(key: str, default: str | None = None) -> str | None:
    """Read a value written by `set_runtime_config_property` (default when absent)."""
    spark = get_spark_session_if_running()
    if spark is not None:
        conf: _RuntimeConf = spark.conf
        try:
            return conf.get(key)
        except Exception:  # py4j NoSuchElementException or SparkNoSuchElementException
            return default
    with _lock:
        return _shared_arguments.get(key, default)


def runtime_config_has(key: str) -> bool:
    """True when `key` has a value: in `spark.conf` when Spark runs, else in this process's store.

    (`get_runtime_config_property` returns its default for a missing key, so it cannot tell.)
    """
    spark = get_spark_session_if_running()
    if spark is not None:
        conf: _RuntimeConf = spark.conf
        try:
            return conf.get(key) is not None
        except Exception:  # py4j NoSuchElementException or SparkNoSuchElementException
            return False
    with _lock:
        return key in _shared_arguments


def installed_dbutils() -> Any:
    """The dbutils installed with `set_runtime`/`use_runtime` (None when none): no discovery."""
    return _runtime["dbutils"]


def get_dbutils() -> Any:
    """The installed dbutils, else the notebook's global `dbutils`, else Databricks Connect's."""
    if _runtime["dbutils"] is not None:
        return _runtime["dbutils"]
    found = _dbutils_from_ipython()
    if found is not None:
        return found
    try:
        from pyspark.dbutils import DBUtils
    except ImportError:
        raise RuntimeNotAvailableError(
            "No dbutils found: not in a Databricks notebook and none installed. Pass dbutils= "
            "explicitly, run under the local runtime (dtflw.local), or use dtflw.testing.FakeDbutils."
        ) from None
    return DBUtils(get_spark_session())


def _dbutils_from_ipython() -> Any:
    try:
        import IPython
    except ImportError:
        return None
    shell = IPython.get_ipython()
    return None if shell is None else shell.user_ns.get("dbutils")


def _context(dbutils: Any = None) -> Any:
    dbutils = dbutils if dbutils is not None else get_dbutils()
    return dbutils.notebook.entry_point.getDbutils().notebook().getContext()


def run_notebook(path: str, timeout: int, arguments: dict[str, str], dbutils: Any = None) -> str:
    """`dbutils.notebook.run(path, timeout, arguments)` with `dbutils`, default the runtime's."""
    notebook: _NotebookApi = (dbutils if dbutils is not None else get_dbutils()).notebook
    return notebook.run(path, timeout, arguments)


def get_current_username(dbutils: Any = None) -> str:
    """The user running this notebook (context tag `user`)."""
    return str(_context(dbutils).tags().apply("user"))


def get_this_notebook_abs_path(dbutils: Any = None) -> str:
    """Workspace path of the running notebook, e.g. `/Users/me@x.com/proj/main`."""
    return str(_context(dbutils).notebookPath().get())


def get_this_notebook_abs_cwd(dbutils: Any = None) -> str:
    """Workspace folder of the running notebook."""
    return posixpath.dirname(get_this_notebook_abs_path(dbutils))


def resolve_notebook_path(caller_path: str, path: str) -> str:
    """Absolute workspace path of `path` as seen from the notebook at `caller_path`.

    Relative paths (`x`, `./x`, `../x`) resolve against the caller's folder; absolute ones are
    normalised (a leading `/Workspace` is dropped). Extensions are kept as given.
    """
    from dtflw.emulated.paths import resolve_workspace_path

    return resolve_workspace_path(path, caller_path)


def project_relative_path(abs_path: str) -> str:
    """Drop the workspace prefix: `/Workspace`, then the top folder and the one below it
    (`/Users/<user>`, `/Repos/<user>`, `/Shared/<folder>`), as dtflw 0.6.x did, so derived output
    paths stay where 0.6.x wrote them. A path with nothing below that is kept whole.

    `/Users/me@x.com/sales/ingest` -> `sales/ingest`; `/Shared/team/sales/ingest` -> `sales/ingest`.
    """
    parts = [p for p in abs_path.split("/") if p]
    if parts[:1] == ["Workspace"]:
        parts = parts[1:]
    if len(parts) > 2:
        parts = parts[2:]
    return "/".join(parts)


def get_notebook_abs_path(rel_path: str, dbutils: Any = None) -> str:
    """Absolute workspace path of a notebook given relative to the running notebook."""
    return resolve_notebook_path(get_this_notebook_abs_path(dbutils), rel_path)


def get_path_relative_to_project_dir(rel_path: str, dbutils: Any = None) -> str:
    """Path of a notebook starting at the project folder (see `project_relative_path`)."""
    return project_relative_path(get_notebook_abs_path(rel_path, dbutils))


def try_get_context_tag(key: str, default: str | None = None, dbutils: Any = None) -> str | None:
    """A context tag's value, or `default` when the tag is absent or the notebook context cannot
    be reached (Databricks Connect's dbutils has none; shared clusters may refuse the py4j call).

    Without any dbutils it raises RuntimeNotAvailableError.
    """
    dbutils = dbutils if dbutils is not None else get_dbutils()
    try:
        option = _context(dbutils).tags().get(key)
        return str(option.get()) if option.isDefined() else default
    except Exception:  # whatever the context chain raises (AttributeError, py4j errors): as dtflw 0.6.x
        return default


def is_job_interactive(dbutils: Any = None) -> bool:
    """True when the notebook runs interactively (no `jobType` tag, or no reachable context), False in a job."""
    return try_get_context_tag("jobType", None, dbutils) is None
