"""`dtflw.lazy_notebook`: the dtflw 0.6.x module of `LazyNotebook`, the notebook builder that
`flow.notebook(path)` returns (now `dtflw.declare.builder.NotebookBuilder`)."""

from dtflw.declare.builder import LazyNotebook, NotebookBuilder

__all__ = ["LazyNotebook", "NotebookBuilder"]
