"""Lineage layer: the graph of notebooks and tables built from specs, and its renderings.

Reads specs and the DAG (`dtflw.model`) only.
"""

from dtflw.lineage.graph import Edge, LineageGraph, Node, build_lineage, statuses_of

__all__ = ["Edge", "LineageGraph", "Node", "build_lineage", "statuses_of"]
