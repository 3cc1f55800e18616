"""`dtflw.lazy_notebook`: the dtflw 0.6.x module of `LazyNotebook`, the notebook builder.

`flow.notebook(path)` returns a `dtflw.declare.builder.NotebookBuilder`, and every builder is an
instance of `LazyNotebook` for `isinstance` checks. The 0.6.x constructor
`LazyNotebook(rel_path, ctx)` still works: it declares the notebook on a flow of its own over
`ctx`, sharing its storage, published tables and runs.
"""

from __future__ import annotations

from abc import ABCMeta
from typing import Any

from dtflw.declare.builder import NotebookBuilder
from dtflw.declare.context import FlowContext
from dtflw.declare.flow import Flow


class LazyNotebook(NotebookBuilder, metaclass=ABCMeta):
    """The 0.6.x name of the notebook builder (see the module docstring)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], FlowContext) and not kwargs:
            return Flow(args[1]).notebook(args[0])  # 0.6.x: LazyNotebook(rel_path, ctx)
        return NotebookBuilder(*args, **kwargs)

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        if cls is LazyNotebook:
            return issubclass(subclass, NotebookBuilder) if isinstance(subclass, type) else NotImplemented
        return NotImplemented  # type: ignore[no-any-return]


__all__ = ["LazyNotebook", "NotebookBuilder"]
