"""Databricks paths mapped on the Spark Connect client, for servers that cannot map them.

Sail, or a Spark Connect server on this machine that dtflw did not configure, sees only the local
disk. For sessions registered here (:func:`map_paths_for`), every path a plan carries is rewritten
before it is sent: reader paths (``spark.read...load/csv/parquet/json/text/orc/xml``, also a
``path`` option), writer paths (``save``, ``saveAsTable`` with a ``path`` option, the V2 writer's
``path`` option) and, in ``spark.sql`` text, quoted paths in ``LOCATION '...'``, ``delta.`...```-style
path identifiers and any literal that starts with ``dbfs:/``, ``/Volumes/``, ``abfss://`` (and the
other Azure schemes). ``dbfs:/X`` and scheme-less ``/X`` mean DBFS, as on Databricks; ``file:`` and
other schemes are left alone. The mapping is the :class:`~dtflw.emulated.paths.PathMap`
``dbutils.fs`` uses, so both views agree.

What comes back from the server keeps local paths (``DESCRIBE DETAIL``'s location, file names in
listings): the fidelity table in README says so.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from typing import Any

import attrs

from dtflw.emulated.paths import PathMap
from dtflw.errors import InvalidArgumentError

_MAPPED_PREFIXES = ("dbfs:", "/", "abfss://", "abfs://", "wasbs://", "wasb://")
_ALWAYS_PATHLIKE = re.compile(r"^(?:dbfs:/|/Volumes/|abfss?://|wasbs?://)", re.IGNORECASE)
# A quoted SQL string or backticked identifier, with what precedes it (to spot LOCATION / fmt.`x`).
_SQL_QUOTED = re.compile(
    r"(?P<before>\b(?:LOCATION|delta|parquet|csv|json|text|orc|avro|binaryFile)\s*\.?\s*)?"
    r"""(?P<q>['"`])(?P<body>(?:(?!(?P=q))[^\\]|\\.)*)(?P=q)""",
    re.IGNORECASE,
)

_lock = threading.Lock()
_sessions: weakref.WeakKeyDictionary[Any, ClientMapping] = weakref.WeakKeyDictionary()
_installed = False


@attrs.frozen
class ClientMapping:
    """A session's mapping: the roots, and whether its server wants ``file:`` URIs (JVM Spark, where
    a bare ``/x`` means DBFS) or bare local paths (Sail, which reads ``file:/x`` as a relative name)."""

    path_map: PathMap
    file_uris: bool = True


def to_engine_path(mapping: ClientMapping, path: str) -> str:
    """``path`` as the server must see it: the local path of a Databricks path, else unchanged."""
    if not isinstance(path, str) or not path.startswith(_MAPPED_PREFIXES) or path.startswith("//"):
        return path
    try:
        local = str(mapping.path_map.to_local(path))
    except (InvalidArgumentError, TypeError, ValueError):
        return path
    return "file:" + local if mapping.file_uris else local


def map_sql(mapping: ClientMapping, text: str) -> str:
    """SQL text with the Databricks paths in its quoted literals mapped (see the module doc)."""

    def replace(match: re.Match[str]) -> str:
        before, quote, body = match.group("before") or "", match.group("q"), match.group("body")
        keyword = before.strip().rstrip(".").strip().upper()
        if quote == "`":  # a path identifier (delta.`/x`), never a plain backticked name
            pathlike = before.rstrip().endswith(".") and keyword != "LOCATION" and body.startswith(_MAPPED_PREFIXES)
        else:  # a string: an unmistakable path, or any absolute path after LOCATION
            pathlike = _ALWAYS_PATHLIKE.match(body) is not None or (keyword == "LOCATION" and body.startswith("/"))
        if not pathlike:
            return match.group(0)
        return f"{before}{quote}{to_engine_path(mapping, body)}{quote}"

    return _SQL_QUOTED.sub(replace, text)


def map_paths_for(client: Any, mapping: ClientMapping) -> None:
    """Map paths in every plan and SQL statement that ``client`` (a Connect client) sends."""
    with _lock:
        _install()
        _sessions[client] = mapping


def is_mapped(client: Any) -> bool:
    with _lock:
        return _map_of(client) is not None


def _map_of(client: Any) -> ClientMapping | None:
    try:
        return _sessions.get(client)
    except TypeError:  # not weak-referenceable: never registered
        return None


def _install() -> None:
    """Wrap the Connect plan classes once; unregistered clients pass through untouched."""
    global _installed
    if _installed:
        return
    from pyspark.sql.connect import plan

    _wrap(plan.DataSource, "plan", _map_read)
    _wrap(plan.WriteOperation, "command", _map_write)
    _wrap(plan.WriteOperationV2, "command", _map_write_v2)
    _wrap(plan.SQL, "plan", _map_sql_plan)  # SQL.command builds through SQL.plan
    _installed = True


def _wrap(cls: Any, name: str, before: Callable[[Any, ClientMapping], None]) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, session: Any) -> Any:
        mapping = _map_of(session)
        if mapping is not None and not getattr(self, "_dtflw_mapped", False):  # a plan node is mapped once
            before(self, mapping)
            self._dtflw_mapped = True
        return original(self, session)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(cls, name, wrapper)


def _map_options(options: Any, mapping: ClientMapping) -> None:
    if isinstance(options, dict):
        for key in list(options):
            if str(key).lower() == "path" and isinstance(options[key], str):
                options[key] = to_engine_path(mapping, options[key])


def _map_read(node: Any, mapping: ClientMapping) -> None:
    if getattr(node, "_paths", None):
        node._paths = [to_engine_path(mapping, p) for p in node._paths]
    _map_options(getattr(node, "_options", None), mapping)


def _map_write(node: Any, mapping: ClientMapping) -> None:
    if isinstance(getattr(node, "path", None), str):
        node.path = to_engine_path(mapping, node.path)
    _map_options(getattr(node, "options", None), mapping)


def _map_write_v2(node: Any, mapping: ClientMapping) -> None:
    _map_options(getattr(node, "options", None), mapping)


def _map_sql_plan(node: Any, mapping: ClientMapping) -> None:
    if isinstance(getattr(node, "_query", None), str):
        node._query = map_sql(mapping, node._query)
