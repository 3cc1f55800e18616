"""Which Spark engine a local run uses, and where Databricks paths get mapped.

- ``local``: a classic SparkSession in a JVM started by this process (Delta, paths mapped by Hadoop).
- ``connect``: a Spark Connect session. Without ``remote``, dtflw starts a Spark Connect server
  (pyspark ships it) configured like the local session, so the server maps paths. With
  ``remote='sc://host:port[/;params]'`` it connects to that server: on this machine (loopback host)
  paths are mapped on the client side; elsewhere they are not (a cluster has its own storage).
  ``remote='databricks'`` (or ``databricks:<profile>``) uses Databricks Connect's
  ``DatabricksSession``.
- ``sail``: the Sail engine (``pysail``) serving Spark Connect inside this process; paths are
  mapped on the client side.

Defaults come from the environment: ``DTFLW_ENGINE``, then ``DTFLW_REMOTE`` or ``SPARK_REMOTE``
(a remote alone means ``connect``).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from dtflw.errors import InvalidArgumentError

ENGINE_ENV_VAR = "DTFLW_ENGINE"
REMOTE_ENV_VAR = "DTFLW_REMOTE"
SPARK_REMOTE_ENV_VAR = "SPARK_REMOTE"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_DATABRICKS_RE = re.compile(r"^databricks(?::(?P<profile>[A-Za-z0-9_.@-]+))?$")


class Engine(str, enum.Enum):
    """The Spark engines a local run can use."""

    LOCAL = "local"
    CONNECT = "connect"
    SAIL = "sail"

    def __str__(self) -> str:
        return self.value


class PathMapping(str, enum.Enum):
    """Who turns ``dbfs:/``, ``/Volumes`` and ``abfss://`` paths into local folders."""

    SERVER = "server"  # Hadoop configuration of a JVM this process started
    CLIENT = "client"  # rewritten in the Connect client's plans and SQL text
    NONE = "none"  # a remote cluster: its own storage answers


def _engine(value: object) -> Engine:
    if isinstance(value, Engine):
        return value
    if isinstance(value, str):
        try:
            return Engine(value.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(e.value for e in Engine)
    raise InvalidArgumentError(f"engine must be one of {choices}, got {value!r}.")


def _remote(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"remote must be 'sc://host:port[/;params]' or 'databricks[:profile]', got {value!r}."
        )
    text = value.strip()
    if _DATABRICKS_RE.match(text):
        return text
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme != "sc" or not parts.hostname or (parts.path not in ("", "/") and not parts.path.startswith("/;")):
        raise InvalidArgumentError(
            f"remote must be a Spark Connect URL 'sc://host:port[/;param=value...]' or 'databricks[:profile]', "
            f"got {_shown(text)!r}."
        )
    return text


def _shown(remote: str) -> str:
    """A remote URL without its parameters (they may hold a token)."""
    return remote.split("/;", 1)[0]


def _redacted(remote: str | None) -> str | None:
    return remote if remote is None or "/;" not in remote else _shown(remote) + "/;[REDACTED]"


@attrs.frozen
class EngineChoice:
    """An engine and, for ``connect``, the server to use (None: one dtflw starts)."""

    engine: Engine = attrs.field(default=Engine.LOCAL, converter=_engine)
    remote: str | None = attrs.field(default=None, converter=_remote, repr=lambda r: repr(_redacted(r)))

    def __attrs_post_init__(self) -> None:
        if self.remote is not None and self.engine is not Engine.CONNECT:
            raise InvalidArgumentError(
                f"remote is only used with engine 'connect' (got engine '{self.engine}' and remote "
                f"{_shown(self.remote)!r})."
            )

    @property
    def is_databricks(self) -> bool:
        """Databricks Connect (``remote='databricks[:profile]'``)."""
        return self.remote is not None and _DATABRICKS_RE.match(self.remote) is not None

    @property
    def databricks_profile(self) -> str | None:
        match = _DATABRICKS_RE.match(self.remote or "")
        return match.group("profile") if match else None

    @property
    def path_mapping(self) -> PathMapping:
        if self.engine is Engine.LOCAL or (self.engine is Engine.CONNECT and self.remote is None):
            return PathMapping.SERVER
        if self.engine is Engine.SAIL:
            return PathMapping.CLIENT
        if self.is_databricks:
            return PathMapping.NONE
        host = (urlsplit(self.remote or "").hostname or "").lower()
        return PathMapping.CLIENT if host in _LOOPBACK else PathMapping.NONE

    @property
    def label(self) -> str:
        """How logs and reports name it (a remote without its parameters)."""
        return self.engine.value if self.remote is None else f"{self.engine.value} ({_shown(self.remote)})"


def resolve_engine(
    engine: str | Engine | None = None, remote: str | None = None, environ: Mapping[str, str] | None = None
) -> EngineChoice:
    """The engine asked for, else the environment's, else ``local``.

    Environment: ``DTFLW_ENGINE``, then ``DTFLW_REMOTE`` or ``SPARK_REMOTE``.

    A remote given (or found) without an engine means ``connect``. ``SPARK_REMOTE`` is only used
    when the engine is ``connect`` or not chosen at all.
    """
    env = os.environ if environ is None else environ
    chosen = engine if engine is not None else (env.get(ENGINE_ENV_VAR) or None)
    if remote is not None:  # given: kept even for another engine, which then says it is not used
        return EngineChoice(chosen if chosen is not None else Engine.CONNECT, remote)
    found = env.get(REMOTE_ENV_VAR) or None
    if found is None and (chosen is None or _engine(chosen) is Engine.CONNECT):
        spark_remote = env.get(SPARK_REMOTE_ENV_VAR) or None
        if spark_remote is not None and not spark_remote.startswith("local"):  # not pyspark's `local[*]` mode
            found = spark_remote
    if chosen is None:
        chosen = Engine.CONNECT if found is not None else Engine.LOCAL
    return EngineChoice(chosen, found if _engine(chosen) is Engine.CONNECT else None)
