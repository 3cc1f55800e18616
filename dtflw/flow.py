"""`dtflw.flow`: the dtflw 0.6.x import path of `Flow` and `init_flow` (now in `dtflw.declare`)."""

from dtflw.declare.builder import NotebookBuilder
from dtflw.declare.context import FlowContext
from dtflw.declare.flow import Flow, init_flow
from dtflw.declare.mode import declare_only, is_declare_only
from dtflw.lazy_notebook import LazyNotebook

__all__ = ["Flow", "FlowContext", "init_flow", "LazyNotebook", "NotebookBuilder", "declare_only", "is_declare_only"]
