"""Python entry points of pyspark patched for the local Unity Catalog layer and Delta's format check.

Installed once per process by :func:`install` (the session is process-wide, see
:mod:`dtflw.local.session`); each patched method looks up the :class:`UnityCatalog` of the live
session and behaves exactly like the original for sessions dtflw did not set up.

- ``SparkSession.sql`` (so ``%sql`` cells too), ``SparkSession.table``, ``DataFrameReader.table``,
  ``DataFrameWriter.saveAsTable`` / ``insertInto``, ``DataFrame.writeTo``, ``DataStreamReader.table``,
  ``DataStreamWriter.toTable``, ``DeltaTable.forName``: UC names are mapped (:mod:`dtflw.local.uc`).
- ``spark.catalog``: ``currentCatalog``, ``setCurrentCatalog``, ``listCatalogs``, ``currentDatabase``,
  ``setCurrentDatabase``, ``tableExists``, ``databaseExists``, ``listTables``, ``getTable``.
- ``pyspark.sql.functions.current_catalog`` / ``current_schema`` / ``current_database``.
- Delta's format check, as on Databricks: reading a Delta table's folder with
  ``spark.read.parquet(path)`` / ``format("parquet").load(path)`` raises ``DELTA_INCOMPATIBLE_FORMAT``
  rather than returning every parquet file ever written there (stale rows); off with
  ``spark.databricks.delta.formatCheck.enabled=false``.
- ``DataStreamReader.format("cloudFiles")`` (Auto Loader): see :mod:`dtflw.local.autoloader`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from dtflw.emulated.paths import PathMap
from dtflw.local.uc import HIVE, LEGACY, UnityCatalog, UnityCatalogError, split_name

FORMAT_CHECK_CONF = "spark.databricks.delta.formatCheck.enabled"
_lock = threading.RLock()
_state: dict[str, Any] = {"uc": None, "installed": False}


def activate(spark: Any, path_map: PathMap, default_catalog: str) -> UnityCatalog:
    """Use ``path_map``'s DBFS root for UC names on ``spark``; on a new session, switch to ``default_catalog``."""
    from pyspark.sql import SparkSession

    install()
    with _lock:
        previous = _state["uc"]
        if previous is not None and previous.spark is spark and previous.path_map == path_map:
            return previous  # type: ignore[no-any-return]
        uc = UnityCatalog(spark, path_map, functools.partial(_ORIGINALS["sql"], spark))
        _state["uc"] = uc
        del SparkSession
        if previous is None or previous.spark is not spark:
            catalog = default_catalog.lower()
            if catalog not in LEGACY:
                uc.create_catalog(catalog, if_not_exists=True)
                uc.use_catalog(catalog)
        return uc


def deactivate() -> None:
    with _lock:
        _state["uc"] = None


def _uc(spark: Any) -> UnityCatalog | None:
    uc = _state["uc"]
    if (
        uc is None
        or uc.spark is not spark
        and getattr(uc.spark, "_jsparkSession", None) is not getattr(spark, "_jsparkSession", 1)
    ):
        return None
    return uc  # type: ignore[no-any-return]


_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _keep(owner: Any, name: str, key: str) -> Callable[..., Any]:
    original = getattr(owner, name)
    _ORIGINALS.setdefault(key, getattr(original, "__dtflw_original__", original))
    return _ORIGINALS[key]


def _patch(owner: Any, name: str, key: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = _keep(owner, name, key)
    wrapper = make(original)
    if isinstance(wrapper, classmethod):
        wrapper.__func__.__dtflw_original__ = original
    else:
        functools.update_wrapper(wrapper, original)
        wrapper.__dtflw_original__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def install() -> None:
    """Patch pyspark (idempotent)."""
    with _lock:
        if _state["installed"]:
            return
        from pyspark.sql import Catalog, DataFrame, DataFrameReader, DataFrameWriter, SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql.streaming.readwriter import DataStreamReader, DataStreamWriter

        from dtflw.local.uc_statements import run_sql

        def sql(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(self: Any, sqlQuery: str, args: Any = None, **kwargs: Any) -> Any:  # noqa: N803
                uc = _uc(self)
                if uc is None or not isinstance(sqlQuery, str):
                    return original(self, sqlQuery, args, **kwargs)
                _check_sql_paths(uc, sqlQuery)
                return run_sql(uc, functools.partial(original, self), sqlQuery, args, kwargs)

            return wrapper

        def named(session_of: Callable[[Any], Any], mode: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def make(original: Callable[..., Any]) -> Callable[..., Any]:
                def wrapper(self: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
                    uc = _uc(session_of(self))
                    if uc is None or not isinstance(name, str):
                        return original(self, name, *args, **kwargs)
                    with uc.translated_errors():
                        return original(self, uc.table_name(name, mode), *args, **kwargs)

                return wrapper

            return make

        _patch(SparkSession, "sql", "sql", sql)
        _patch(SparkSession, "table", "table", named(lambda s: s, "read"))
        _patch(DataFrameReader, "table", "reader.table", named(lambda r: r._spark, "read"))
        _patch(DataFrameWriter, "saveAsTable", "writer.saveAsTable", named(lambda w: w._spark, "write"))
        _patch(DataFrameWriter, "insertInto", "writer.insertInto", named(lambda w: w._spark, "write"))
        _patch(DataFrame, "writeTo", "df.writeTo", named(lambda d: d.sparkSession, "write"))
        _patch(DataStreamReader, "table", "stream.table", named(lambda r: r._spark, "read"))
        _patch(DataStreamWriter, "toTable", "stream.toTable", named(lambda w: w._df.sparkSession, "write"))
        _patch(Catalog, "tableExists", "catalog.tableExists", _table_exists)
        for name in ("getTable", "listColumns"):
            _patch(Catalog, name, f"catalog.{name}", named(lambda c: c._sparkSession, "read"))
        for name, make in _CATALOG_PATCHES.items():
            _patch(Catalog, name, f"catalog.{name}", make)
        for name in ("current_catalog", "current_schema", "current_database"):
            if hasattr(F, name):
                _patch(F, name, f"F.{name}", _current_function(name))
        _patch(DataFrameReader, "format", "reader.format", _remember_format)
        _patch(DataFrameReader, "load", "reader.load", _checked_load)
        _patch(DataFrameReader, "parquet", "reader.parquet", _checked_parquet)
        from dtflw.local import autoloader

        autoloader.install(_patch, _local_path)
        try:
            from delta.tables import DeltaTable
        except ImportError:  # pragma: no cover - delta-spark's Python package is optional
            pass
        else:
            _patch(DeltaTable, "forName", "delta.forName", _delta_for_name)
        _state["installed"] = True


def _local_path(spark: Any, uri: str) -> Any:
    """``uri`` on the local disk: through the session's path map, else a plain (``file:``) path."""
    from pathlib import Path

    uc = _uc(spark)
    return uc.path_map.to_local(uri) if uc is not None else Path(uri.removeprefix("file:"))


def _delta_for_name(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(cls: Any, spark: Any, tableOrViewName: str) -> Any:  # noqa: N803
        uc = _uc(spark)
        if uc is None:
            return original(spark, tableOrViewName)
        with uc.translated_errors():
            return original(spark, uc.table_name(tableOrViewName, "read"))

    return classmethod(wrapper)  # type: ignore[return-value]


def _current_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper() -> Any:
            from pyspark.sql import SparkSession
            from pyspark.sql import functions as F

            uc = _uc(SparkSession.getActiveSession())
            if uc is None:
                return original()
            catalog, schema = uc.current()
            return F.lit(catalog if name == "current_catalog" else schema).alias(f"{name}()")

        return wrapper

    return make


# -- spark.catalog ----------------------------------------------------------------------------------


def _table_exists(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, tableName: str, dbName: str | None = None) -> bool:  # noqa: N803
        uc = _uc(self._sparkSession)
        if uc is None:
            return bool(original(self, tableName, dbName))
        name = f"{dbName}.{tableName}" if dbName else tableName
        try:
            return bool(original(self, uc.table_name(name, "read")))
        except UnityCatalogError:
            return False

    return wrapper


def _catalog_method(body: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            uc = _uc(self._sparkSession)
            if uc is None:
                return original(self, *args, **kwargs)
            with uc.translated_errors():
                return body(uc, original, self, *args, **kwargs)

        return wrapper

    return make


def _current_catalog(uc: UnityCatalog, original: Any, self: Any) -> str:
    return uc.current()[0]


def _set_current_catalog(uc: UnityCatalog, original: Any, self: Any, catalogName: str) -> None:  # noqa: N803
    uc.use_catalog(catalogName)


def _list_catalogs(uc: UnityCatalog, original: Any, self: Any, pattern: str | None = None) -> list[Any]:
    from pyspark.sql.catalog import CatalogMetadata

    from dtflw.local.uc import like

    match = like(pattern)
    return [CatalogMetadata(name=n, description=None) for n in sorted({HIVE, *uc.catalogs()}) if match(n)]


def _current_database(uc: UnityCatalog, original: Any, self: Any) -> str:
    return uc.current()[1]


def _set_current_database(uc: UnityCatalog, original: Any, self: Any, dbName: str) -> None:  # noqa: N803
    uc.use(split_name(dbName))


def _database_exists(uc: UnityCatalog, original: Any, self: Any, dbName: str) -> bool:  # noqa: N803
    try:
        catalog, schema = uc.schema_of(split_name(dbName))
    except UnityCatalogError:
        return False
    if catalog == HIVE:
        return bool(original(self, schema))
    return (uc.storage / catalog / schema).is_dir()


def _list_tables(uc: UnityCatalog, original: Any, self: Any, dbName: str | None = None, *args: Any) -> Any:  # noqa: N803
    if dbName is None:
        return original(self, None, *args)
    catalog, schema = uc.schema_of(split_name(dbName))
    return original(self, uc.database(catalog, schema).strip("`"), *args)


_CATALOG_PATCHES = {
    "currentCatalog": _catalog_method(_current_catalog),
    "setCurrentCatalog": _catalog_method(_set_current_catalog),
    "listCatalogs": _catalog_method(_list_catalogs),
    "currentDatabase": _catalog_method(_current_database),
    "setCurrentDatabase": _catalog_method(_set_current_database),
    "databaseExists": _catalog_method(_database_exists),
    "listTables": _catalog_method(_list_tables),
}


# -- Delta's format check ---------------------------------------------------------------------------


def _remember_format(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, source: str) -> Any:
        self._dtflw_format = str(source).lower()
        return original(self, source)

    return wrapper


def _checked_load(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, path: Any = None, format: str | None = None, schema: Any = None, **options: Any) -> Any:
        fmt = (format or getattr(self, "_dtflw_format", None) or "").lower()
        if not fmt:
            fmt = str(self._spark.conf.get("spark.sql.sources.default", "parquet")).lower()
        if fmt == "parquet":
            check_not_delta(self._spark, path if path is not None else options.get("path"), fmt)
        return original(self, path, format, schema, **options)

    return wrapper


def _checked_parquet(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, *paths: str, **options: Any) -> Any:
        check_not_delta(self._spark, list(paths), "parquet")
        return original(self, *paths, **options)

    return wrapper


def _check_sql_paths(uc: UnityCatalog, text: str) -> None:
    """``SELECT * FROM parquet.`<delta folder>``` fails like ``spark.read.parquet`` does."""
    from dtflw.local.uc_sql import tokenize, unquote

    tokens = [t for t in tokenize(text) if t.kind not in ("ws", "comment")]
    for i in range(len(tokens) - 2):
        if tokens[i].text.lower() == "parquet" and tokens[i + 1].text == "." and tokens[i + 2].kind == "bq":
            check_not_delta(uc.spark, unquote(tokens[i + 2].text), "parquet")


def check_not_delta(spark: Any, paths: Any, fmt: str) -> None:
    """Raise ``DELTA_INCOMPATIBLE_FORMAT`` if a path (mapped to the local disk) is a Delta table's folder."""
    uc = _uc(spark)
    if uc is None or paths is None:
        return
    if str(spark.conf.get(FORMAT_CHECK_CONF, "true")).lower() == "false":
        return
    for path in [paths] if isinstance(paths, str) else list(paths):
        if not isinstance(path, str) or any(c in path for c in "*?[{"):
            continue
        try:
            local = uc.path_map.to_local(path)
        except Exception:  # noqa: BLE001 - a path the map does not know: Spark reports it
            continue
        if (local / "_delta_log").is_dir():
            log = path.rstrip("/") + "/_delta_log"
            raise UnityCatalogError(
                "DELTA_INCOMPATIBLE_FORMAT",
                "Incompatible format detected.\n\n"
                f"A transaction log for Delta was found at `{log}`,\n"
                f'but you are trying to read from `{path}` using format("{fmt}"). You must use\n'
                "'format(\"delta\")' when reading and writing to a delta table.\n\n"
                f"To disable this check, SET {FORMAT_CHECK_CONF}=false",
                "22000",
            )
