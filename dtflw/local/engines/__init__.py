"""Spark engines of the local runtime: ``local`` (classic JVM Spark), ``connect`` (Spark Connect:
a server dtflw starts, one given by URL, or Databricks Connect) and ``sail`` (the Sail engine).

:func:`resolve_engine` picks one (argument, then ``DTFLW_ENGINE`` / ``DTFLW_REMOTE`` /
``SPARK_REMOTE``, then ``local``); :func:`dtflw.local.engines.sessions.open_session` opens a
Connect session for it.
"""

from dtflw.local.engines.choice import (
    ENGINE_ENV_VAR,
    REMOTE_ENV_VAR,
    SPARK_REMOTE_ENV_VAR,
    Engine,
    EngineChoice,
    PathMapping,
    resolve_engine,
)

__all__ = [
    "ENGINE_ENV_VAR",
    "REMOTE_ENV_VAR",
    "SPARK_REMOTE_ENV_VAR",
    "Engine",
    "EngineChoice",
    "PathMapping",
    "resolve_engine",
]
