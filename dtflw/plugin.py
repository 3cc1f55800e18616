"""`dtflw.plugin`: the dtflw 0.6.x import path of the plugin bases (now in `dtflw.declare.plugins`)."""

from dtflw.declare.plugins import FlowPluginBase, NotebookPluginBase

__all__ = ["FlowPluginBase", "NotebookPluginBase"]
