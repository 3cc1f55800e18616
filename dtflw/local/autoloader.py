"""Auto Loader (``spark.readStream.format("cloudFiles")``) on the local session: Spark's file stream source.

``spark.readStream.format("cloudFiles").option("cloudFiles.format", "csv")
.option("cloudFiles.schemaLocation", loc).load(path)`` becomes ``spark.readStream.format("csv")
.schema(<schema>).load(path)``; the stream's checkpoint then remembers which files were processed, so
``trigger(availableNow=True)`` / ``trigger(once=True)`` runs pick up only new files, as on Databricks.

- Schema: the one given with ``.schema(...)``; otherwise inferred once from the files already there and
  saved at ``<schemaLocation>/_schemas/0`` (later runs reuse it). As on Databricks, CSV and JSON columns
  are strings unless ``cloudFiles.inferColumnTypes`` is true, ``cloudFiles.schemaHints`` override
  types, and an inferred schema gets a ``_rescued_data`` string column (always null here).
- ``cloudFiles.maxFilesPerTrigger`` is passed on as ``maxFilesPerTrigger``; options without the
  ``cloudFiles.`` prefix (``header``, ``multiLine``, ``pathGlobFilter`` ...) go to the file source.
- Other ``cloudFiles.*`` options (notifications, ``includeExistingFiles=false``, schema evolution
  on new columns, ...) are not emulated: a warning lists them once.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dtflw.local.uc import UnityCatalogError

FORMAT = "cloudfiles"
RESCUED = "_rescued_data"
_HANDLED = {"format", "schemalocation", "infercolumntypes", "schemahints", "maxfilespertrigger"}
_QUIET = {"useincrementallisting", "validateoptions", "schemaevolutionmode", "usenotifications"}
_warned: set[frozenset[str]] = set()
_lock = threading.Lock()


def install(patch: Callable[..., None], local_path: Callable[[Any, str], Path]) -> None:
    """Patch ``DataStreamReader`` (``patch`` is :func:`dtflw.local.uc_patch._patch`).

    ``local_path(spark, uri)`` maps a schema location to the local disk.
    """
    from pyspark.sql.streaming.readwriter import DataStreamReader

    def remember(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                if name == "format":
                    self._dtflw_format = str(args[0] if args else kwargs.get("source", ""))
                elif name == "option":
                    key, value = (list(args) + [kwargs.get("key"), kwargs.get("value")])[:2]
                    _options(self)[str(key)] = value
                elif name == "options":
                    _options(self).update(kwargs)
                elif name == "schema":
                    self._dtflw_schema = args[0] if args else kwargs.get("schema")
                return original(self, *args, **kwargs)

            return wrapper

        return make

    def load(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(
            self: Any, path: str | None = None, format: str | None = None, schema: Any = None, **options: Any
        ) -> Any:
            fmt = format or getattr(self, "_dtflw_format", "")
            if str(fmt).lower() != FORMAT:
                return original(self, path, format, schema, **options)
            merged = {**_options(self), **options}
            given = schema if schema is not None else getattr(self, "_dtflw_schema", None)
            return load_stream(self._spark, path or merged.pop("path", None), merged, given, local_path)

        return wrapper

    for name in ("format", "option", "options", "schema"):
        patch(DataStreamReader, name, f"stream.{name}", remember(name))
    patch(DataStreamReader, "load", "stream.load", load)


def _options(reader: Any) -> dict[str, Any]:
    if not hasattr(reader, "_dtflw_options"):
        reader._dtflw_options = {}
    return reader._dtflw_options  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_stream(
    spark: Any, path: str | None, options: dict[str, Any], schema: Any, local_path: Callable[[Any, str], Path]
) -> Any:
    """The streaming DataFrame Auto Loader would return, built on Spark's file source."""
    from pyspark.sql import functions as F

    cloud = {
        k[len("cloudFiles.") :].lower(): _text(v) for k, v in options.items() if k.lower().startswith("cloudfiles.")
    }
    plain = {k: _text(v) for k, v in options.items() if not k.lower().startswith("cloudfiles.")}
    file_format = cloud.get("format")
    if not file_format:
        raise UnityCatalogError("CF_MISSING_FORMAT", "Auto Loader: option cloudFiles.format is required.", "42000")
    if path is None:
        raise UnityCatalogError("CF_MISSING_PATH", "Auto Loader: load(path) needs the input path.", "42000")
    _warn_unsupported(
        cloud, {k[len("cloudFiles.") :].lower(): k for k in options if k.lower().startswith("cloudfiles.")}
    )
    if "maxfilespertrigger" in cloud:
        plain["maxFilesPerTrigger"] = cloud["maxfilespertrigger"]
    rescued = False
    if schema is None:
        location = cloud.get("schemalocation")
        if not location:
            raise UnityCatalogError(
                "CF_SCHEMA_LOCATION_REQUIRED",
                "Auto Loader: set cloudFiles.schemaLocation (or give a schema) so the inferred schema can be kept.",
                "42000",
            )
        schema = _schema(spark, path, file_format, plain, cloud, local_path(spark, location))
        rescued = cloud.get("schemaevolutionmode", "addnewcolumns").lower() != "none"
    reader = spark.readStream.format(file_format).schema(schema)
    df = reader.options(**plain).load(path)
    if rescued and RESCUED not in df.columns:
        df = df.withColumn(RESCUED, F.lit(None).cast("string"))
    return df


def _warn_unsupported(cloud: dict[str, str], spelled: dict[str, str]) -> None:
    unsupported = {k for k in cloud if k not in _HANDLED and k not in _QUIET}
    if cloud.get("usenotifications", "false").lower() == "true" or cloud.get("includeexistingfiles") == "false":
        unsupported |= {k for k in ("usenotifications", "includeexistingfiles") if k in cloud}
    else:
        unsupported.discard("includeexistingfiles")
    if not unsupported:
        return
    key = frozenset(unsupported)
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    names = ", ".join(sorted(spelled.get(k, k) for k in unsupported))
    warnings.warn(
        f"Auto Loader options not emulated by the local runtime (ignored): {names}", UserWarning, stacklevel=4
    )


def _schema(
    spark: Any, path: str, file_format: str, plain: dict[str, str], cloud: dict[str, str], location: Path
) -> Any:
    """The schema saved at ``location``, or the one inferred from the files now (then saved)."""
    from pyspark.sql.types import StringType, StructField, StructType

    saved = sorted((location / "_schemas").glob("[0-9]*"), key=lambda p: int(p.name)) if location.is_dir() else []
    if saved:
        text = saved[-1].read_text(encoding="utf-8").split("\n", 1)[-1]
        return StructType.fromJson(json.loads(text))
    typed = cloud.get("infercolumntypes", "false").lower() == "true"
    fmt = file_format.lower()
    batch = {k: v for k, v in plain.items() if k not in ("maxFilesPerTrigger", "maxBytesPerTrigger", "latestFirst")}
    if fmt == "csv":
        batch["inferSchema"] = "true" if typed else "false"
    inferred = spark.read.format(file_format).options(**batch).load(path).schema
    if fmt in ("csv", "json") and not typed:
        inferred = StructType([StructField(f.name, StringType(), True) for f in inferred.fields])
    inferred = _apply_hints(inferred, cloud.get("schemahints", ""))
    (location / "_schemas").mkdir(parents=True, exist_ok=True)
    (location / "_schemas" / "0").write_text("v1\n" + inferred.json(), encoding="utf-8")
    return inferred


def _apply_hints(schema: Any, hints: str) -> Any:
    """``cloudFiles.schemaHints`` ("a INT, b DATE"): set those columns' types (adding missing ones)."""
    from pyspark.sql.types import StructField, StructType

    if not hints.strip():
        return schema
    hinted = StructType.fromDDL(hints)
    assert isinstance(hinted, StructType)
    by_name = {f.name.lower(): f for f in hinted.fields}
    fields = [
        StructField(f.name, by_name.pop(f.name.lower()).dataType, True) if f.name.lower() in by_name else f
        for f in schema.fields
    ]
    return StructType(fields + list(by_name.values()))
