"""Lineage graph: nodes and edges, Mermaid, DOT, SVG layout, HTML, save()."""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET

import pytest

from dtflw import init_flow
from dtflw.errors import InvalidArgumentError
from dtflw.graph import build_lineage
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils
from tests.conftest import write_parquet_stub

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def flow(tmp_path):
    f = init_flow(LocalStorage(tmp_path), dbutils=FakeDbutils(fs_root=tmp_path / "dbfs"))
    f.notebook("ingest").input("Raw", file_path="raw/*.csv").output("Orders").add()
    f.notebook("clean").input("Orders").output("Clean", alias="OrdersClean").add()
    f.notebook("gold/a").input("OrdersClean").output("A").add()
    f.notebook("gold/b").input("X", source_table="OrdersClean").output("B").add()
    return f


def test_nodes_and_edges(flow):
    g = flow.graph()
    assert [n.label for n in g.notebooks] == ["ingest", "clean", "gold/a", "gold/b"]
    tables = {n.label: n for n in g.tables}
    assert set(tables) == {"Raw", "Orders", "OrdersClean", "A", "B"}
    assert tables["Raw"].external and not tables["Orders"].external
    clean = tables["OrdersClean"].id
    readers = sorted(e.target for e in g.edges if e.source == clean)
    assert readers == ["nb:project__gold__a", "nb:project__gold__b"]  # one node, two readers
    assert len(g.edges) == 2 + 2 + 2 + 2


def test_statuses_after_a_run_colour_the_graph(flow, tmp_path):
    dbutils = flow.ctx.dbutils
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x.csv").write_text("1")

    def ok(args):
        for k, v in args.items():
            if k.endswith("_out"):
                write_parquet_stub(v)

    for name in ("ingest", "clean", "gold/a"):
        dbutils.notebook.register(name, ok)
    dbutils.notebook.register("gold/b", lambda a: 1 / 0)
    with pytest.raises(Exception):
        flow.run()
    g = flow.graph()
    status = {n.label: n.status for n in g.notebooks}
    assert status == {"ingest": "succeeded", "clean": "succeeded", "gold/a": "succeeded", "gold/b": "failed"}
    mermaid = g.to_mermaid()
    assert "classDef failed" in mermaid and "classDef succeeded" in mermaid
    assert "fillcolor" in g.to_dot()


def test_mermaid_and_dot_escape_odd_labels(tmp_path):
    f = init_flow(LocalStorage(tmp_path), dbutils=FakeDbutils())
    f.notebook("odd").input("In", file_path='raw/a"b[c]{d}.csv').output("Out").add()
    g = f.graph()
    mermaid, dot = g.to_mermaid(), g.to_dot()
    assert mermaid.startswith("flowchart LR")
    assert 'a"b[c]' not in mermaid  # quotes and brackets never break the Mermaid syntax
    assert 'a\\"b' in dot or "&quot;" in dot
    assert dot.strip().startswith("digraph") and dot.strip().endswith("}")


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    root = ET.fromstring(svg)
    boxes = []
    for group in root.iter(f"{SVG}g"):
        if "node" in (group.get("class") or "").split():
            shape = next(iter(group))
            if shape.tag == f"{SVG}rect":
                x, y = float(shape.get("x")), float(shape.get("y"))
                boxes.append((x, y, x + float(shape.get("width")), y + float(shape.get("height"))))
            else:
                boxes.append(None)
    return boxes


def test_svg_is_well_formed_with_a_shape_per_node_and_no_overlaps(flow):
    g = flow.graph()
    svg = g.to_svg()
    root = ET.fromstring(svg)
    groups = [el for el in root.iter(f"{SVG}g") if "node" in (el.get("class") or "").split()]
    assert len(groups) == len(g.nodes)
    edges = [el for el in root.iter(f"{SVG}path") if "edge" in (el.get("class") or "").split()]
    assert len(edges) == len(g.edges)
    rects = [b for b in _boxes(svg) if b is not None]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    html = g._repr_html_()
    assert "<svg" in html and "<script" not in html


def test_save_formats(flow, tmp_path, monkeypatch):
    g = flow.graph()
    for suffix in (".html", ".mmd", ".dot", ".svg"):
        target = g.save(tmp_path / f"lineage{suffix}")
        assert target.read_text().strip()
    assert (tmp_path / "lineage.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(InvalidArgumentError, match="unknown suffix '.gif'"):
        g.save(tmp_path / "lineage.gif")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InvalidArgumentError, match="Graphviz"):
        g.save(tmp_path / "lineage.png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_png_with_graphviz(flow, tmp_path):
    target = flow.graph().save(tmp_path / "lineage.png")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_thousand_notebook_chain_renders_quickly(tmp_path):
    f = init_flow(LocalStorage(tmp_path), dbutils=FakeDbutils())
    for i in range(1000):
        nb = f.notebook(f"nb{i}").output(f"T{i}")
        if i:
            nb.input(f"T{i - 1}")
        nb.add()
    started = time.perf_counter()
    svg = build_lineage(f.specs).to_svg()
    assert time.perf_counter() - started < 5
    assert svg.count('class="node') >= 2000


def test_bad_input():
    with pytest.raises(InvalidArgumentError):
        build_lineage("not specs")
