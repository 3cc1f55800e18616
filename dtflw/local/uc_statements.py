"""Unity Catalog SQL statements on the local session: the ones Spark lacks are answered here.

:func:`run_sql` is what the patched ``SparkSession.sql`` calls: a statement it recognises
(``CREATE CATALOG``, ``USE CATALOG``, ``SHOW CATALOGS``, ``SHOW SCHEMAS IN c``, ``CREATE SCHEMA c.s``,
``CREATE VOLUME``, ``DROP TABLE c.s.t``, ``GRANT`` ...) is executed by :class:`UnityCatalog`;
any other has its names rewritten (:mod:`dtflw.local.uc_sql`) and goes to Spark. ``COPY INTO`` is
run by :mod:`dtflw.local.copy_into`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from dtflw.local.uc import _F, _N, HIVE, LEGACY, UnityCatalog, UnityCatalogError, like, schema_not_found, split_name

_RECORDED = (
    re.compile(r"^(GRANT|REVOKE|DENY)\b", _F),
    re.compile(
        r"^(CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?(EXTERNAL\s+LOCATION|(SERVICE\s+|STORAGE\s+)?CREDENTIAL|CONNECTION"
        r"|SHARE|RECIPIENT|PROVIDER|CLEAN\s+ROOM)\b",
        _F,
    ),
    re.compile(r"^ALTER\s+.*\b(OWNER\s+TO|SET\s+TAGS|UNSET\s+TAGS)\b", _F),
    re.compile(r"^(SET|UNSET)\s+TAG\b", _F),
    re.compile(r"^COMMENT\s+ON\s+(CATALOG|VOLUME|CONNECTION|SHARE|RECIPIENT|PROVIDER)\b", _F),
)
_GRANT = re.compile(rf"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<type>[A-Z ]+?)\s+{_N}\s+TO\s+(?P<who>.+)$", _F)
_STR = r"'(?P<{}>(?:[^'\\]|\\.)*)'"


def _empty(spark: Any) -> Any:
    from pyspark.sql.types import StructType

    return spark.createDataFrame([], StructType([]))


def _rows(spark: Any, schema: str, rows: list[tuple[Any, ...]]) -> Any:
    return spark.createDataFrame(rows, schema)


def run_sql(uc: UnityCatalog, sql: Callable[..., Any], text: str, args: Any, kwargs: dict[str, Any]) -> Any:
    statement = strip(text)
    for pattern, handler in _HANDLERS:
        match = pattern.match(statement)
        if match:
            with uc.translated_errors():
                return handler(uc, match)
    if any(p.match(statement) for p in _RECORDED):
        _record(uc, statement)
        return _empty(uc.spark)
    rewritten = uc.rewriter.rewrite(text)
    with uc.translated_errors():
        return sql(rewritten, args, **kwargs)


def strip(text: str) -> str:
    from dtflw.local.uc_sql import strip_comments

    return re.sub(r"\s+", " ", strip_comments(text)).rstrip("; ").strip()


def _record(uc: UnityCatalog, statement: str) -> None:
    uc.record(statement)
    grant = _GRANT.match(statement)
    if grant:
        entry = {
            "principal": grant["who"].strip().strip("`"),
            "privileges": [p.strip().upper() for p in grant["privs"].split(",")],
            "object_type": grant["type"].strip().upper(),
            "object_key": ".".join(split_name(grant["name"])),
        }
        uc.update_registry(lambda data: data.setdefault("grants", []).append(entry))


# -- handlers ---------------------------------------------------------------------------------------


def _create_catalog(uc: UnityCatalog, m: re.Match[str]) -> Any:
    comment = re.search(r"\bCOMMENT\s+" + _STR.format("c"), m["rest"] or "", _F)
    uc.create_catalog(split_name(m["name"])[0], bool(m["ine"]), comment["c"] if comment else None)
    return _empty(uc.spark)


def _drop_catalog(uc: UnityCatalog, m: re.Match[str]) -> Any:
    uc.drop_catalog(split_name(m["name"])[0], bool(m["ie"]), (m["mode"] or "").upper() == "CASCADE")
    return _empty(uc.spark)


def _use_catalog(uc: UnityCatalog, m: re.Match[str]) -> Any:
    uc.use_catalog(split_name(m["name"])[0])
    return _empty(uc.spark)


def _use_schema(uc: UnityCatalog, m: re.Match[str]) -> Any:
    uc.use(split_name(m["name"]))
    return _empty(uc.spark)


def _show_catalogs(uc: UnityCatalog, m: re.Match[str]) -> Any:
    match = like(m["pat"])
    names = sorted(n for n in {HIVE, *uc.catalogs()} if match(n))
    return _rows(uc.spark, "catalog STRING", [(n,) for n in names])


def _show_schemas(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog = uc.schema_of([*split_name(m["name"]), "x"])[0] if m["name"] else uc.current()[0]
    match = like(m["pat"])
    if catalog == HIVE:
        known = uc.catalogs()
        names = [r[0] for r in uc._sql("SHOW DATABASES").collect() if uc.split_database(r[0], known) is None]
    else:
        names = uc.schemas(catalog)
    return _rows(uc.spark, "databaseName STRING", [(n,) for n in sorted(names) if match(n)])


def _create_schema(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog, schema = uc.schema_of(split_name(m["name"]))
    rest = re.sub(r"\bMANAGED\s+LOCATION\s+'(?:[^'\\]|\\.)*'", " ", m["rest"] or "", flags=_F)
    if catalog == HIVE:
        return uc._sql(f"CREATE SCHEMA {m['ine'] or ''} `{schema}` {rest}")
    uc.ensure(catalog, schema)
    if not re.search(r"\bLOCATION\b", rest, _F):
        rest += f" LOCATION '{uc.location(catalog, schema)}'"
    result = uc._sql(f"CREATE SCHEMA {m['ine'] or ''} `{catalog}__{schema}` {rest}")
    (uc.storage / catalog / schema).mkdir(parents=True, exist_ok=True)
    uc._synced.add((catalog, schema))
    return result


def _drop_schema(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog, schema = uc.schema_of(split_name(m["name"]))
    result = uc._sql(f"DROP SCHEMA {m['ie'] or ''} {uc.database(catalog, schema)} {m['mode'] or ''}")
    if catalog != HIVE:
        uc.drop_managed_leftover(catalog, schema)
        uc._synced.discard((catalog, schema))
    return result


def _describe_schema(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog, schema = uc.schema_of(split_name(m["name"]))
    rows = uc._sql(f"DESCRIBE SCHEMA {m['ext'] or ''} {uc.database(catalog, schema)}").collect()
    fixed = {"Catalog Name": catalog, "Namespace Name": schema}
    return _rows(uc.spark, "info_name STRING, info_value STRING", [(r[0], fixed.get(r[0], r[1])) for r in rows])


def _describe_catalog(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog = split_name(m["name"])[0].lower()
    if catalog not in uc.catalogs() and catalog not in LEGACY:
        raise UnityCatalogError("NO_SUCH_CATALOG_EXCEPTION", f"Catalog '{catalog}' was not found.", "42704")
    info = uc.registry().get("catalogs", {}).get(catalog, {})
    rows = [("Catalog Name", catalog), ("Comment", info.get("comment") or "")]
    return _rows(uc.spark, "info_name STRING, info_value STRING", rows)


def _show_tables(uc: UnityCatalog, m: re.Match[str]) -> Any:
    from pyspark.sql import functions as F

    parts = split_name(m["name"]) if m["name"] else [uc.current()[1]]
    catalog, schema = uc.schema_of(parts)
    if catalog != HIVE and not (uc.storage / catalog / schema).is_dir():
        raise schema_not_found(catalog, schema)
    df = uc._sql(f"SHOW TABLES IN {uc.database(catalog, schema)} {m['rest'] or ''}")
    first = df.columns[0]
    return df.withColumn(first, F.when(F.col(first) != "", F.lit(schema)).otherwise(F.col(first)))


def _drop_table(uc: UnityCatalog, m: re.Match[str]) -> Any:
    parts = split_name(m["name"])
    name = uc.table_name(m["name"], "write")
    result = uc._sql(f"DROP {m['kind']} {m['ie'] or ''} {name} {m['rest'] or ''}")
    if len(parts) >= 2 and m["kind"].upper() == "TABLE":
        catalog, schema = uc.schema_of(parts[:-1]) if len(parts) == 3 else uc.schema_of(parts[:1])
        if catalog != HIVE:
            uc.drop_managed_leftover(catalog, schema, parts[-1].lower())
    elif len(parts) == 1 and uc.current()[0] != HIVE:
        uc.drop_managed_leftover(*uc.current(), parts[0].lower())
    return result


def _volume(uc: UnityCatalog, name: str) -> tuple[str, str, str]:
    parts = split_name(name)
    if len(parts) == 3:
        catalog, schema = uc.schema_of(parts[:2])
    elif len(parts) == 2:
        catalog, schema = uc.schema_of(parts[:1])
    else:
        catalog, schema = uc.current()
    if catalog == HIVE:
        raise UnityCatalogError("UC_NOT_ENABLED", "Volumes need a Unity Catalog catalog, not hive_metastore.", "56038")
    if not (uc.storage / catalog / schema).is_dir():
        raise schema_not_found(catalog, schema)
    return catalog, schema, parts[-1].lower()


def _create_volume(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog, schema, volume = _volume(uc, m["name"])
    key, folder = f"{catalog}.{schema}.{volume}", uc.volume_path(catalog, schema, volume)
    if key in uc.registry().get("volumes", {}) or folder.exists():
        if m["ine"]:
            return _empty(uc.spark)
        raise UnityCatalogError("VOLUME_ALREADY_EXISTS", f"Cannot create volume `{key}` because it already exists.")
    location = re.search(r"\bLOCATION\s+" + _STR.format("loc"), m["rest"] or "", _F)
    comment = re.search(r"\bCOMMENT\s+" + _STR.format("c"), m["rest"] or "", _F)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if location:
        target = uc.path_map.to_local(location["loc"])
        target.mkdir(parents=True, exist_ok=True)
        os.symlink(target, folder, target_is_directory=True)
    else:
        folder.mkdir()
    entry = {
        "volume_type": "EXTERNAL" if location else "MANAGED",
        "storage_location": location["loc"] if location else f"/Volumes/{catalog}/{schema}/{volume}",
        "comment": comment["c"] if comment else None,
    }
    uc.update_registry(lambda data: data.setdefault("volumes", {}).__setitem__(key, entry))
    return _empty(uc.spark)


def _drop_volume(uc: UnityCatalog, m: re.Match[str]) -> Any:
    import shutil

    catalog, schema, volume = _volume(uc, m["name"])
    key, folder = f"{catalog}.{schema}.{volume}", uc.volume_path(catalog, schema, volume)
    if key not in uc.registry().get("volumes", {}) and not folder.exists():
        if m["ie"]:
            return _empty(uc.spark)
        raise UnityCatalogError("VOLUME_NOT_FOUND", f"Volume `{key}` does not exist.")
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)
    uc.update_registry(lambda data: data.get("volumes", {}).pop(key, None))
    return _empty(uc.spark)


def _show_volumes(uc: UnityCatalog, m: re.Match[str]) -> Any:
    catalog, schema = uc.schema_of(split_name(m["name"])) if m["name"] else uc.current()
    folder = uc.volume_path(catalog, schema, "x").parent
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return _rows(uc.spark, "database_name STRING, volume_name STRING", [(schema, n) for n in names])


def _copy_into(uc: UnityCatalog, m: re.Match[str]) -> Any:
    from dtflw.local import copy_into

    return copy_into.run(uc, m.string)


def _show_grants(uc: UnityCatalog, m: re.Match[str]) -> Any:
    key = ".".join(split_name(m["name"])) if m["name"] else None
    rows = [
        (g["principal"], privilege, g["object_type"], g["object_key"])
        for g in uc.registry().get("grants", [])
        for privilege in g["privileges"]
        if key is None or g["object_key"].lower() == key.lower()
    ]
    return _rows(uc.spark, "Principal STRING, ActionType STRING, ObjectType STRING, ObjectKey STRING", rows)


def _pipeline_only(uc: UnityCatalog, m: re.Match[str]) -> Any:
    """Lakeflow Declarative Pipelines (DLT) statements: a clear error instead of a parse error."""
    raise UnityCatalogError(
        "NOT_SUPPORTED_LOCALLY",
        f"'{' '.join(m.group(0).split()[:4])} ...' defines a Lakeflow Declarative Pipeline (DLT) table; "
        "pipelines are not run by the local runtime. Run the notebook as a pipeline on Databricks, or "
        "write the table with CREATE TABLE ... AS SELECT / a streaming write for local runs.",
    )


_SCHEMA = r"(?:SCHEMA|DATABASE|NAMESPACE)"
_HANDLERS: list[tuple[re.Pattern[str], Callable[[UnityCatalog, re.Match[str]], Any]]] = [
    (re.compile(rf"^CREATE CATALOG (?P<ine>IF NOT EXISTS )?{_N}(?P<rest>.*)$", _F), _create_catalog),
    (re.compile(rf"^DROP CATALOG (?P<ie>IF EXISTS )?{_N}\s*(?P<mode>CASCADE|RESTRICT)?$", _F), _drop_catalog),
    (re.compile(rf"^(?:USE|SET) CATALOG {_N}$", _F), _use_catalog),
    (re.compile(rf"^USE (?:{_SCHEMA} )?{_N}$", _F), _use_schema),
    (re.compile(r"^SHOW CATALOGS(?: (?:LIKE )?'(?P<pat>[^']*)')?$", _F), _show_catalogs),
    (
        re.compile(
            rf"^SHOW (?:SCHEMAS|DATABASES|NAMESPACES)(?: (?:IN|FROM) {_N})?(?: (?:LIKE )?'(?P<pat>[^']*)')?$", _F
        ),
        _show_schemas,
    ),
    (re.compile(rf"^CREATE {_SCHEMA} (?P<ine>IF NOT EXISTS )?{_N}(?P<rest>.*)$", _F), _create_schema),
    (re.compile(rf"^DROP {_SCHEMA} (?P<ie>IF EXISTS )?{_N}\s*(?P<mode>CASCADE|RESTRICT)?$", _F), _drop_schema),
    (re.compile(rf"^(?:DESCRIBE|DESC) {_SCHEMA} (?P<ext>EXTENDED )?{_N}$", _F), _describe_schema),
    (re.compile(rf"^(?:DESCRIBE|DESC) CATALOG (?:EXTENDED )?{_N}$", _F), _describe_catalog),
    (re.compile(rf"^SHOW TABLES(?: (?:IN|FROM) {_N})?(?P<rest> .*)?$", _F), _show_tables),
    (re.compile(rf"^DROP (?P<kind>TABLE|VIEW) (?P<ie>IF EXISTS )?{_N}(?P<rest> PURGE)?$", _F), _drop_table),
    (re.compile(rf"^CREATE (?:EXTERNAL )?VOLUME (?P<ine>IF NOT EXISTS )?{_N}(?P<rest>.*)$", _F), _create_volume),
    (re.compile(rf"^DROP VOLUME (?P<ie>IF EXISTS )?{_N}$", _F), _drop_volume),
    (re.compile(rf"^SHOW VOLUMES(?: (?:IN|FROM) {_N})?$", _F), _show_volumes),
    (re.compile(r"^COPY INTO\b", _F), _copy_into),
    (
        re.compile(
            r"^CREATE (?:OR REFRESH )?(?:STREAMING TABLE|STREAMING LIVE TABLE|LIVE TABLE|MATERIALIZED VIEW)\b", _F
        ),
        _pipeline_only,
    ),
    (re.compile(rf"^SHOW GRANTS(?: \S+)*? ON (?:TABLE |SCHEMA |CATALOG |VOLUME |VIEW )?{_N}$", _F), _show_grants),
]
