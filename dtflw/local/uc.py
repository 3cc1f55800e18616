"""Unity Catalog names on the local session: catalogs and schemas mapped onto session-catalog databases.

Databricks' three-level names (``catalog.schema.table``) meet Spark's one-level session catalog
(``database.table``, REQUIRES_SINGLE_PART_NAMESPACE for more). No Unity Catalog server or Spark
connector could be installed from the registries dtflw uses, and a Spark catalog plugin needs JVM
code, so this layer translates instead:

- UC schema ``c.s`` is the database ``c__s``, located at ``dbfs:/__unitystorage/c/s`` (so its managed
  Delta tables are ``<dbfs_root>/__unitystorage/c/s/<table>``). A catalog is the folder
  ``<dbfs_root>/__unitystorage/c``. ``hive_metastore`` (and ``spark_catalog``) keep Spark's databases.
- Everything persists on the DBFS root: a session whose metastore lacks a UC schema or managed Delta
  table it finds there registers it on first use (so a second runtime on the same root, even with
  another metastore, sees catalogs, schemas and tables).
- The current catalog follows the current database (``c__s`` means catalog ``c``, schema ``s``).
  The first one is ``SessionConfig.default_catalog`` (Databricks' conf
  ``spark.databricks.sql.initial.catalog.name``), ``hive_metastore`` unless set.
- Grants, owners, tags, external locations, storage credentials, connections and shares are
  recorded in ``<dbfs_root>/__unitystorage/.dtflw-uc.json`` but never enforced.
- Volumes: ``CREATE VOLUME c.s.v`` creates ``/Volumes/c/s/v`` (the volumes root of :class:`PathMap`);
  an external volume's folder is a symbolic link to its ``LOCATION``.

SQL text is rewritten by :mod:`dtflw.local.uc_sql`; statements Spark lacks (``CREATE CATALOG``,
``USE CATALOG``, ``SHOW CATALOGS``, ``CREATE VOLUME``, ``GRANT``, ...) are answered here.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pyspark.errors import AnalysisException

from dtflw.emulated.paths import PathMap
from dtflw.local.uc_sql import NameRewriter, quote, tokenize, unquote

HIVE = "hive_metastore"
LEGACY = (HIVE, "spark_catalog")
INITIAL_CATALOG_CONF = "spark.databricks.sql.initial.catalog.name"
STORAGE = "__unitystorage"
REGISTRY = ".dtflw-uc.json"
_NAME_OK = re.compile(r"^[A-Za-z0-9_]+$")
_I = r"(?:`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*)"
_N = rf"(?P<name>{_I}(?:\s*\.\s*{_I})*)"
_F = re.I | re.S


class UnityCatalogError(AnalysisException):
    """An AnalysisException with a Databricks error condition, raised by the local UC layer."""

    def __init__(self, condition: str, message: str, sqlstate: str | None = None) -> None:
        text = message if message.lstrip().startswith("[") or not condition else f"[{condition}] {message}"
        if sqlstate and "SQLSTATE" not in text:
            text += f" SQLSTATE: {sqlstate}"
        super().__init__(message=text)
        self._condition, self._sqlstate, self._text = condition, sqlstate, text

    def __str__(self) -> str:
        return self._text

    def getMessage(self) -> str:  # noqa: N802 - pyspark's name
        return self._text

    def getCondition(self) -> str:  # noqa: N802 - pyspark's name
        return self._condition

    def getErrorClass(self) -> str:  # noqa: N802
        return self._condition

    def getSqlState(self) -> str | None:  # noqa: N802
        return self._sqlstate


def no_such_catalog(name: str) -> UnityCatalogError:
    return UnityCatalogError(
        "NO_SUCH_CATALOG_EXCEPTION",
        f"Catalog '{name}' was not found. Please verify the catalog name and then retry the query or command again.",
        "42704",
    )


def table_not_found(parts: Sequence[str]) -> UnityCatalogError:
    return UnityCatalogError(
        "TABLE_OR_VIEW_NOT_FOUND",
        f"The table or view {'.'.join(map(quote, parts))} cannot be found. Verify the spelling and correctness "
        "of the schema and catalog.",
        "42P01",
    )


def schema_not_found(catalog: str, schema: str) -> UnityCatalogError:
    return UnityCatalogError(
        "SCHEMA_NOT_FOUND",
        f"The schema {quote(catalog)}.{quote(schema)} cannot be found. Verify the spelling and correctness "
        "of the schema and catalog.",
        "42704",
    )


def split_name(name: str) -> list[str]:
    """``a.`b.c`.d`` → ``["a", "b.c", "d"]``."""
    parts: list[str] = []
    for token in tokenize(name.strip()):
        if token.kind in ("word", "bq", "num"):
            parts.append(unquote(token.text))
        elif token.text != "." and token.kind != "ws":
            raise UnityCatalogError("INVALID_IDENTIFIER", f"The identifier {name} is invalid.", "42602")
    return parts


def like(pattern: str | None) -> Callable[[str], bool]:
    """Databricks' SHOW ... LIKE pattern: ``*`` any characters, ``|`` alternatives, case-insensitive."""
    if not pattern:
        return lambda _: True
    alternatives = [re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|")]
    regex = re.compile("^(?:" + "|".join(alternatives) + ")$", re.I)
    return lambda name: regex.match(name) is not None


class UnityCatalog:
    """The UC state of one session on one DBFS root; ``sql`` is Spark's own ``SparkSession.sql``."""

    def __init__(self, spark: Any, path_map: PathMap, sql: Callable[..., Any]) -> None:
        self.spark, self.path_map, self._sql = spark, path_map, sql
        self.storage = path_map.dbfs_root / STORAGE
        self._synced: set[tuple[str, str]] = set()
        self._lock = threading.RLock()
        self.rewriter = NameRewriter(self.catalogs, self.current, self.ensure, self._unknown)

    # -- state ------------------------------------------------------------------------------------

    def catalogs(self) -> frozenset[str]:
        if not self.storage.is_dir():
            return frozenset()
        return frozenset(p.name for p in self.storage.iterdir() if p.is_dir() and _NAME_OK.match(p.name))

    def current(self) -> tuple[str, str]:
        database = str(self.spark._jsparkSession.catalog().currentDatabase())  # not the patched one
        return self.split_database(database) or (HIVE, database)

    def split_database(self, database: str, known: frozenset[str] | None = None) -> tuple[str, str] | None:
        known = self.catalogs() if known is None else known
        for catalog in sorted(known, key=len, reverse=True):
            if database.lower().startswith(catalog + "__"):
                return catalog, database[len(catalog) + 2 :].lower()
        return None

    def location(self, catalog: str, schema: str, table: str | None = None) -> str:
        return f"dbfs:/{STORAGE}/{catalog}/{schema}" + (f"/{table}" if table else "")

    def ensure(self, catalog: str, schema: str) -> None:
        """Register ``catalog.schema`` and its managed Delta tables found on the DBFS root (once)."""
        key = (catalog, schema)
        folder = self.storage / catalog / schema
        if key in self._synced or not folder.is_dir():
            return
        with self._lock:
            database = quote(f"{catalog}__{schema}")
            self._sql(f"CREATE DATABASE IF NOT EXISTS {database} LOCATION '{self.location(catalog, schema)}'")
            tables = {row[1].lower() for row in self._sql(f"SHOW TABLES IN {database}").collect()}
            for sub in sorted(folder.iterdir()):
                if (sub / "_delta_log").is_dir() and sub.name.lower() not in tables:
                    where = self.location(catalog, schema, sub.name)
                    self._sql(f"CREATE TABLE IF NOT EXISTS {database}.{quote(sub.name)} USING delta LOCATION '{where}'")
            self._synced.add(key)

    def _unknown(self, kind: str, parts: Sequence[str]) -> None:
        raise table_not_found(parts) if kind == "read" else no_such_catalog(parts[0])

    # -- names ------------------------------------------------------------------------------------

    def schema_of(self, parts: Sequence[str]) -> tuple[str, str]:
        """(catalog, schema) for a one- or two-part schema name; unknown catalogs raise."""
        if len(parts) == 1:
            return self.current()[0], parts[0].lower()
        if len(parts) != 2:
            raise UnityCatalogError("INVALID_IDENTIFIER", f"Schema name {'.'.join(parts)} has too many parts.")
        catalog = parts[0].lower()
        if catalog in LEGACY:
            return HIVE, parts[1].lower()
        if catalog not in self.catalogs():
            raise no_such_catalog(parts[0])
        return catalog, parts[1].lower()

    def database(self, catalog: str, schema: str) -> str:
        if catalog == HIVE:
            return quote(schema)
        self.ensure(catalog, schema)
        return quote(f"{catalog}__{schema}")

    def table_name(self, name: str, mode: str = "read") -> str:
        """The session-catalog name Spark understands for a one-, two- or three-part table name."""
        parts = split_name(name)
        if len(parts) < 2 or (len(parts) == 2 and self.current()[0] == HIVE):
            return name
        if len(parts) == 2:
            return f"{self.database(*self.schema_of(parts[:1]))}.{quote(parts[1])}"
        catalog = parts[0].lower()
        if catalog not in LEGACY and catalog not in self.catalogs():
            self._unknown(mode, parts)
        return f"{self.database(*self.schema_of(parts[:2]))}." + ".".join(map(quote, parts[2:]))

    def translate(self, text: str) -> str:
        """Mapped names in an error text back to UC names (`spark_catalog`.`c__s` → `c`.`s`)."""
        for catalog in self.catalogs():
            text = re.sub(rf"(?:`spark_catalog`\.)?`{catalog}__([^`]+)`", rf"`{catalog}`.`\1`", text)
            text = re.sub(rf"\b(?:spark_catalog\.)?{catalog}__(\w+)", rf"{catalog}.\1", text)
        return text

    @contextlib.contextmanager
    def translated_errors(self) -> Iterator[None]:
        try:
            yield
        except UnityCatalogError:
            raise
        except AnalysisException as error:
            text = str(error)
            new = self.translate(text)
            if new == text:
                raise
            raise UnityCatalogError(error.getCondition() or "", new, error.getSqlState()) from error

    # -- the registry of recorded metadata --------------------------------------------------------

    def registry(self) -> dict[str, Any]:
        file = self.storage / REGISTRY
        if not file.is_file():
            return {"catalogs": {}, "volumes": {}, "grants": [], "recorded": []}
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return data

    def update_registry(self, change: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            data = self.registry()
            change(data)
            self.storage.mkdir(parents=True, exist_ok=True)
            tmp = self.storage / (REGISTRY + ".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(self.storage / REGISTRY)

    def record(self, statement: str) -> None:
        entry = {"statement": statement, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.update_registry(lambda data: data.setdefault("recorded", []).append(entry))

    # -- catalogs and schemas ---------------------------------------------------------------------

    def create_catalog(self, name: str, if_not_exists: bool, comment: str | None = None) -> None:
        catalog = name.lower()
        if not _NAME_OK.match(catalog):
            raise UnityCatalogError("INVALID_IDENTIFIER", f"The identifier {name} is invalid.", "42602")
        if catalog in LEGACY or catalog in self.catalogs():
            if if_not_exists:
                return
            raise UnityCatalogError(
                "CATALOG_ALREADY_EXISTS", f"Cannot create catalog '{catalog}' because it already exists.", "42000"
            )
        (self.storage / catalog / "default").mkdir(parents=True, exist_ok=True)
        self.update_registry(lambda data: data.setdefault("catalogs", {}).__setitem__(catalog, {"comment": comment}))
        self.ensure(catalog, "default")

    def drop_catalog(self, name: str, if_exists: bool, cascade: bool) -> None:
        catalog = name.lower()
        if catalog in LEGACY:
            raise UnityCatalogError("UC_COMMAND_NOT_SUPPORTED", f"Catalog '{catalog}' cannot be dropped.", "0AKUC")
        if catalog not in self.catalogs():
            if if_exists:
                return
            raise no_such_catalog(name)
        schemas = self.schemas(catalog)
        if not cascade and any(s != "default" for s in schemas):
            raise UnityCatalogError(
                "SCHEMA_NOT_EMPTY",
                f"Cannot drop catalog '{catalog}' because it contains schemas; use CASCADE.",
                "2BP01",
            )
        if self.current()[0] == catalog:
            self._sql("USE default")
        for schema in schemas:
            self._sql(f"DROP DATABASE IF EXISTS {quote(f'{catalog}__{schema}')} {'CASCADE' if cascade else ''}")
            self._synced.discard((catalog, schema))
        shutil.rmtree(self.storage / catalog, ignore_errors=True)
        self.update_registry(lambda data: data.get("catalogs", {}).pop(catalog, None))

    def schemas(self, catalog: str) -> list[str]:
        """The schemas of a UC catalog (folders on the DBFS root and databases in the metastore)."""
        found = {p.name.lower() for p in (self.storage / catalog).iterdir() if p.is_dir()}
        prefix = catalog + "__"
        for row in self._sql("SHOW DATABASES").collect():
            if row[0].lower().startswith(prefix) and self.split_database(row[0]) == (catalog, row[0][len(prefix) :]):
                found.add(row[0][len(prefix) :].lower())
        return sorted(found)

    def use(self, parts: Sequence[str]) -> None:
        catalog, schema = self.schema_of(parts)
        self._sql(f"USE {self.database(catalog, schema)}")

    def use_catalog(self, name: str) -> None:
        catalog = name.lower()
        if catalog in LEGACY:
            self._sql("USE default")
            return
        if catalog not in self.catalogs():
            raise no_such_catalog(name)
        (self.storage / catalog / "default").mkdir(parents=True, exist_ok=True)
        self.use([catalog, "default"])

    def drop_managed_leftover(self, catalog: str, schema: str, table: str | None = None) -> None:
        """Delete a UC schema's (or table's) managed folder left behind after a DROP."""
        folder = self.storage / catalog / schema / (table or "")
        if folder.is_dir() and self.storage in folder.parents:
            shutil.rmtree(folder, ignore_errors=True)

    def volume_path(self, catalog: str, schema: str, volume: str) -> Path:
        assert self.path_map.volumes_root is not None
        return self.path_map.volumes_root / catalog / schema / volume
