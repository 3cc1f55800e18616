"""What a Connect-based engine cannot do fails in the notebook with :class:`EngineUnsupportedError`,
naming the engine and what to use instead, rather than with a deep gRPC error.

- ``sc`` / ``sqlContext`` (and ``spark.sparkContext``, which pyspark itself refuses on Connect):
  :class:`Unavailable` placeholders in the notebook namespace.
- ``DeltaTable`` (delta-spark's Python API): on Connect it needs the Delta Connect server plugin,
  which neither Sail nor the server dtflw starts has. Sessions registered with
  :func:`register_session` get the error as soon as ``DeltaTable.forPath/forName/...`` is called.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, NoReturn

from dtflw.errors import EngineUnsupportedError

SC_INSTEAD = (
    "Spark Connect sessions have no SparkContext or RDDs; use the DataFrame and spark.sql APIs, or --engine local"
)
DELTA_INSTEAD = "use SQL (MERGE INTO / UPDATE / DELETE / DESCRIBE HISTORY through spark.sql), or --engine local"
_DELTA_ENTRY_POINTS = (
    "forPath", "forName", "isDeltaTable", "convertToDelta", "create", "createIfNotExists", "replace",
    "createOrReplace",
)  # fmt: skip

_lock = threading.Lock()
_no_delta_api: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_delta_guarded = False


class Unavailable:
    """Stands for a handle the engine does not have: any use raises EngineUnsupportedError."""

    def __init__(self, engine: str, name: str, instead: str) -> None:
        object.__setattr__(self, "_why", (engine, name, instead))

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        engine, name, instead = object.__getattribute__(self, "_why")
        raise EngineUnsupportedError(engine, f"`{name}`", instead)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # probes (hasattr(x, "_repr_html_"), copy, pickle) see a plain object
            raise AttributeError(attribute)
        self._fail()

    def __setattr__(self, attribute: str, value: Any) -> None:
        self._fail()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._fail()

    def __repr__(self) -> str:
        engine, name, _ = object.__getattribute__(self, "_why")
        return f"<{name}: not available on engine '{engine}'>"


def register_session(spark: Any, engine: str) -> None:
    """Make delta-spark's ``DeltaTable`` fail clearly for ``spark`` (a session of ``engine``)."""
    with _lock:
        _guard_delta_table()
        _no_delta_api[spark] = engine


def _engine_of(spark: Any) -> str | None:
    try:
        return _no_delta_api.get(spark)
    except TypeError:
        return None


def _guard_delta_table() -> None:
    global _delta_guarded
    if _delta_guarded:
        return
    try:
        from delta.connect.tables import DeltaTable
    except ImportError:  # no delta-spark (or no Connect support in it): nothing to guard
        _delta_guarded = True
        return
    for name in _DELTA_ENTRY_POINTS:
        original = DeltaTable.__dict__.get(name)
        if isinstance(original, classmethod):
            setattr(DeltaTable, name, classmethod(_guarded(name, original.__func__)))
    _delta_guarded = True


def _guarded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(cls: Any, *args: Any, **kwargs: Any) -> Any:
        spark = args[0] if args else kwargs.get("sparkSession", kwargs.get("spark"))
        engine = _engine_of(spark)
        if engine is not None:
            raise EngineUnsupportedError(engine, f"DeltaTable.{name}() (the Delta Lake Python API)", DELTA_INSTEAD)
        return function(cls, *args, **kwargs)

    wrapper.__name__ = name
    wrapper.__doc__ = function.__doc__
    return wrapper
