"""Spark Connect sessions for the ``connect`` and ``sail`` engines (``local`` is
:mod:`dtflw.local.session`).

pyspark switches a whole process to Spark Connect once a Connect session exists (its
``SPARK_CONNECT_MODE_ENABLED``: ``pyspark.sql.functions`` then build Connect columns), so a process
uses one kind of engine: asking for a Connect engine while a classic session runs, or the other
way round, fails with a clear error instead of breaking later.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
from typing import Any

from dtflw.emulated.paths import PathMap
from dtflw.errors import RuntimeNotAvailableError
from dtflw.local.engines import client_paths, guards
from dtflw.local.engines.choice import Engine, EngineChoice, PathMapping

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_sail_server: Any = None
# Errors name the problem, without the server's JVM stack trace in every message (a user's --conf wins).
_QUIET_ERRORS = {
    "spark.sql.connect.serverStacktrace.enabled": "false",
    "spark.sql.pyspark.jvmStacktrace.enabled": "false",
}
CONNECT_HINT = "pip install 'dtflw[connect]'"
SAIL_HINT = "pip install 'dtflw[fast]'"


def require_engine(choice: EngineChoice) -> None:
    """Fail at once, in one actionable line, when the packages ``choice`` needs are not installed."""
    if choice.engine is Engine.LOCAL:
        return
    needed = ["pyspark", "grpc", "grpc_status", "google.rpc", "pandas", "pyarrow"]
    hint = CONNECT_HINT
    if choice.engine is Engine.SAIL:
        needed, hint = [*needed, "pysail"], SAIL_HINT
    if choice.is_databricks:
        needed, hint = ["databricks.connect"], "pip install databricks-connect (matching your cluster's runtime)"
    missing = [name for name in needed if not _installed(name)]
    if missing:
        raise RuntimeNotAvailableError(
            f"engine '{choice.engine}' needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"not installed: {hint}"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a stub module without a spec
        return module in sys.modules and sys.modules[module] is not None


def open_session(choice: EngineChoice, config: Any) -> Any:
    """A new Connect session for ``choice`` (not ``local``), with ``config``'s roots (a SessionConfig)."""
    if choice.engine is Engine.LOCAL:
        raise ValueError("open_session serves the Connect engines; engine 'local' is dtflw.local.session")
    _refuse_next_to_classic(choice)
    path_map: PathMap = config.path_map
    mapping = choice.path_mapping
    if choice.is_databricks:
        from dtflw.local.engines.databricks_connect import databricks_session

        spark = databricks_session(choice.databricks_profile)
    elif choice.engine is Engine.SAIL:
        spark = _builder(_sail_url(), _sail_settings(config)).create()
    elif choice.remote is None:
        from dtflw.local.engines.connect_server import ensure_server

        server = ensure_server(config)
        spark = _builder(server.url, {}).create()  # configured when the server started
        if not _server_maps(server, path_map, config.cloud_authorities):  # started for other roots: map here
            mapping = PathMapping.CLIENT
    else:
        spark = _builder(choice.remote, dict(config.conf)).create()
    if mapping is PathMapping.CLIENT:
        client_paths.map_paths_for(spark.client, _client_mapping(choice, path_map))
    if not choice.is_databricks:
        guards.register_session(spark, choice.engine.value)
    _log.info("Spark engine %s: session ready (paths mapped: %s)", choice.label, mapping.value)
    return spark


def register_authority(spark: Any, choice: EngineChoice, authority: str, path_map: PathMap) -> None:
    """A cloud authority met during the run: a server dtflw started without it cannot map it, so this
    session's paths are mapped on the client side from now on (client mapping knows every authority)."""
    if choice.path_mapping is not PathMapping.SERVER or client_paths.is_mapped(spark.client):
        return
    from dtflw.local.engines.connect_server import current_server

    server = current_server()
    if server is None or authority not in server.authorities:
        client_paths.map_paths_for(spark.client, _client_mapping(choice, path_map))


def _client_mapping(choice: EngineChoice, path_map: PathMap) -> client_paths.ClientMapping:
    return client_paths.ClientMapping(path_map, file_uris=choice.engine is not Engine.SAIL)


def _server_maps(server: Any, path_map: PathMap, authorities: frozenset[str]) -> bool:
    return bool(server.path_map == path_map and authorities <= server.authorities)


def _refuse_next_to_classic(choice: EngineChoice) -> None:
    from dtflw.local.session import active_session

    if active_session() is not None:
        raise RuntimeNotAvailableError(
            f"engine '{choice.engine}' cannot start: this process already runs a classic local SparkSession "
            "(engine 'local'), and pyspark switches a whole process to Spark Connect. Use one engine per process."
        )


def _builder(url: str, settings: dict[str, str]) -> Any:
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies()
    except ImportError as error:
        raise RuntimeNotAvailableError(f"The Spark Connect client is not installed ({error}): {CONNECT_HINT}") from None
    builder = SparkSession.builder.remote(url)
    for key, value in {**_QUIET_ERRORS, **settings}.items():
        builder = builder.config(key, value)
    return builder


def _sail_settings(config: Any) -> dict[str, str]:
    """Sail's session: UTC as on Databricks clusters, managed tables under the DBFS warehouse."""
    settings = {"spark.sql.session.timeZone": "UTC"}
    warehouse: str = config.warehouse
    if warehouse.startswith("dbfs:") or warehouse.startswith("/"):
        settings["spark.sql.warehouse.dir"] = str(config.path_map.to_local(warehouse))
    elif warehouse.startswith("file:"):
        settings["spark.sql.warehouse.dir"] = warehouse.removeprefix("file:")
    settings.update(config.conf)
    return settings


def _sail_url() -> str:
    """The in-process Sail server's URL (started on first use, for the life of the process)."""
    global _sail_server
    with _lock:
        if _sail_server is None:
            try:
                from pysail.spark import SparkConnectServer
            except ImportError:
                raise RuntimeNotAvailableError(f"engine 'sail' needs the pysail package: {SAIL_HINT}") from None
            os.environ.setdefault("RUST_LOG", "error")  # Sail logs every session at INFO otherwise
            server = SparkConnectServer("127.0.0.1", 0)
            server.start(background=True)
            _sail_server = server
        host, port = _sail_server.listening_address
        return f"sc://{host}:{port}"
