"""`dtflw.flow_context`: the dtflw 0.6.x module of `FlowContext` (now `dtflw.declare.context`)."""

from dtflw.declare.context import FlowContext

__all__ = ["FlowContext"]
