"""Lineage layer: the graph of notebooks and tables built from specs, and its renderings.

Reads specs and the DAG (`dtflw.model`) only.
"""
