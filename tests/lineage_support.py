"""Helpers shared by the lineage tests: a small declared flow and readers of the SVG we draw.

Registered as a pytest plugin in conftest.py; tests reach the helpers through the `lineage` fixture."""

from __future__ import annotations

import re
import sys
import types
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from dtflw import init_flow
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

SVG = "{http://www.w3.org/2000/svg}"
ALL_STATUSES = {0: "succeeded", 1: "failed", 2: "upstream_failed", 3: "skipped"}
Rect = tuple[float, float, float, float]  # left, top, right, bottom


def declare_shop(flow: Any) -> Any:
    """ingest -> Orders -> clean -> Clean (alias OrdersClean); report reads both; stats reads Orders."""
    flow.notebook("ingest").input("Raw", file_path="raw/*.csv").output("Orders").add()
    flow.notebook("clean").input("Orders").output("Clean", alias="OrdersClean").add()
    flow.notebook("stats").input("Orders").output("Stats").add()
    flow.notebook("report").input("OrdersClean").input("Stats").input("Raw", file_path="raw/*.csv").add()
    return flow.specs


def declare_big_shop(flow: Any) -> Any:
    """The shop plus two notebooks with edges that skip layers (routed through dummy nodes)."""
    declare_shop(flow)
    flow.notebook("audit").input("Raw", file_path="raw/*.csv").input("Stats").output("Audit").add()
    flow.notebook("final").input("Audit").input("OrdersClean").input("Orders").add()
    return flow.specs


def declare_chain(flow: Any, notebooks: int) -> Any:
    """n0 -> T0 -> n1 -> T1 ... : one long line of notebooks and tables."""
    flow.notebook("n0").output("T0").add()
    for i in range(1, notebooks):
        flow.notebook(f"n{i}").input(f"T{i - 1}").output(f"T{i}").add()
    return flow.specs


def node_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]


def _shape_box(shape: ET.Element) -> Rect:
    """(left, top, right, bottom) of a rect, or of a cylinder path (elliptic ends of radius ry)."""
    if shape.tag == f"{SVG}rect":
        x, y = float(shape.get("x", "")), float(shape.get("y", ""))
        return x, y, x + float(shape.get("width", "")), y + float(shape.get("height", ""))
    d = shape.get("d", "")
    points = [(float(a), float(b)) for a, b in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]
    found = re.search(r"A[\d.]+,([\d.]+)", d)
    assert found is not None, d
    ry = float(found.group(1))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys) - ry, max(xs), max(ys) + ry


def node_box(group: ET.Element) -> Rect:
    """(left, top, right, bottom) of a node's outline shape."""
    (shape,) = [e for e in group if e.get("class") == "shape"]
    return _shape_box(shape)


def legend_box(root: ET.Element) -> Rect:
    """The area the legend's icons cover (its texts sit on the icons' rows)."""
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    boxes = [_shape_box(e) for e in legend if e.get("class") == "legend-icon"]
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def edge_paths(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]


def path_points(d: str) -> list[tuple[float, float]]:
    """Every coordinate pair of a path's data, control points included, in order."""
    return [(float(a), float(b)) for a, b in re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)]


def canvas(root: ET.Element) -> tuple[float, float]:
    return float(root.get("width", "")), float(root.get("height", ""))


@pytest.fixture
def flow(tmp_path: Any) -> Any:
    """A flow on a LocalStorage in `tmp_path`, with a FakeDbutils (nothing is run)."""
    return init_flow(LocalStorage(tmp_path), dbutils=FakeDbutils())


@pytest.fixture
def base(flow: Any) -> str:
    """The flow's storage base path (table paths in the graph start with it)."""
    return str(flow.ctx.storage.base_path)


@pytest.fixture
def lineage() -> types.ModuleType:
    """These helpers, for the lineage tests (a fixture, so no test module imports another)."""
    return sys.modules[__name__]
