"""dtflw.lineage.svg and dtflw.lineage.layout: the SVG drawing, left to right and top to bottom."""

from __future__ import annotations

import runpy
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from dtflw import InvalidArgumentError
from dtflw.lineage import layout, svg
from dtflw.lineage.graph import Edge, LineageGraph, Node, build_lineage

DIRECTIONS = ["LR", "TB"]
NEAR = 0.15  # coordinates are written with one decimal


def boxes_of(root: ET.Element, lineage: Any) -> dict[str, tuple[float, float, float, float]]:
    return {str(g.get("data-id")): lineage.node_box(g) for g in lineage.node_groups(root)}


def assert_no_overlaps_inside_the_canvas(root: ET.Element, lineage) -> None:
    width, height = lineage.canvas(root)
    items = list(boxes_of(root, lineage).values())
    for i, a in enumerate(items):
        assert 0 <= a[0] < a[2] <= width and 0 <= a[1] < a[3] <= height, a
        for b in items[i + 1 :]:
            assert not lineage.overlaps(a, b), (a, b)


# ---- structure --------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_svg_is_well_formed_with_a_shape_per_node_and_a_path_per_edge(flow, direction, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    root = ET.fromstring(graph.to_svg(direction))
    assert root.tag == f"{lineage.SVG}svg"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    groups = lineage.node_groups(root)
    assert [g.get("data-id") for g in groups] == [n.id for n in graph.nodes]
    for group, node in zip(groups, graph.nodes):
        shape = [e for e in group if e.get("class") == "shape"]
        assert len(shape) == 1
        assert shape[0].tag == (f"{lineage.SVG}rect" if node.kind == "notebook" else f"{lineage.SVG}path")
        assert node.kind in group.get("class", "").split()
    edges = lineage.edge_paths(root)
    assert [(p.get("data-source"), p.get("data-target")) for p in edges] == [(e.source, e.target) for e in graph.edges]
    assert all(p.get("marker-end", "").startswith("url(#dtflw-arrow-") for p in edges)
    assert root.find(f"{lineage.SVG}defs/{lineage.SVG}marker") is not None
    assert "failed" in groups[[n.id for n in graph.nodes].index("nb:project__clean")].get("class", "").split()
    assert root.find(f"{lineage.SVG}title").text == "Lineage: 4 notebooks, 4 tables"


def test_svg_shows_a_legend_of_the_statuses_present(flow, lineage):
    svg_text = build_lineage(lineage.declare_shop(flow), statuses={0: "succeeded", 1: "upstream_failed"}).to_svg()
    legend = next(g for g in ET.fromstring(svg_text).iter(f"{lineage.SVG}g") if g.get("class") == "legend")
    texts = [t.text for t in legend.iter(f"{lineage.SVG}text")]
    assert texts == ["notebook", "table", "external input", "succeeded", "upstream failed"]


def test_svg_escapes_odd_labels_and_survives_control_characters(lineage):
    nodes = (
        Node("nb:a", "notebook", "a<b>&\"c'", "/w/a<b>", "succeeded"),
        Node("tbl:/x/<T>&\x01", "table", "T]]>\x00<!--", "/x/<T>&\x01", external=True),
    )
    graph = LineageGraph(nodes, (Edge("tbl:/x/<T>&\x01", "nb:a"),))
    for direction in DIRECTIONS:
        root = ET.fromstring(graph.to_svg(direction))
        texts = [t.text for t in root.iter(f"{lineage.SVG}text")]
        assert "a<b>&\"c'" in texts and "T]]>\ufffd<!--" in texts
        assert [g.get("data-id") for g in lineage.node_groups(root)] == ["nb:a", "tbl:/x/<T>&\ufffd"]
    ET.fromstring(graph._repr_html_().split("</style>", 1)[1].rsplit("</div>", 1)[0])
    assert "\x00" not in graph.to_mermaid() and "\x01" not in graph.to_mermaid()


def test_long_labels_are_shortened_with_the_full_text_in_the_tooltip(flow, lineage):
    name = "A" + "x" * 120
    flow.notebook("a").output(name).add()
    for direction in DIRECTIONS:
        root = ET.fromstring(build_lineage(flow.specs).to_svg(direction))
        table = lineage.node_groups(root)[1]
        left, _, right, _ = lineage.node_box(table)
        assert right - left <= 300
        title_text = next(table.iter(f"{lineage.SVG}text")).text or ""
        assert title_text.endswith("…") and len(title_text) < len(name)
        assert name in (table.find(f"{lineage.SVG}title").text or "")


def test_empty_graph_renders(lineage):
    graph = build_lineage([])
    for direction in DIRECTIONS:
        assert "No notebooks declared" in (ET.fromstring(graph.to_svg(direction)).find(f"{lineage.SVG}text").text or "")


# ---- geometry, both directions ----------------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_layout_has_no_overlaps_and_keeps_text_inside_its_box(flow, direction, lineage):
    graph = build_lineage(lineage.declare_big_shop(flow), statuses=lineage.ALL_STATUSES)
    root = ET.fromstring(graph.to_svg(direction))
    assert len(boxes_of(root, lineage)) == len(graph.nodes)
    assert_no_overlaps_inside_the_canvas(root, lineage)
    for group in lineage.node_groups(root):
        left, top, right, bottom = lineage.node_box(group)
        for label in group.iter(f"{lineage.SVG}text"):
            x, y = float(label.get("x", "")), float(label.get("y", ""))
            assert left < x < right and top < y < bottom, (label.text, (x, y), (left, top, right, bottom))


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_edges_routed_round_nodes_stay_on_the_canvas(flow, direction, lineage):
    graph = build_lineage(lineage.declare_big_shop(flow), statuses=lineage.ALL_STATUSES)
    root = ET.fromstring(graph.to_svg(direction))
    width, height = lineage.canvas(root)
    for path in lineage.edge_paths(root):
        for x, y in lineage.path_points(path.get("d", "")):
            assert 0 <= x <= width and 0 <= y <= height, (path.get("data-source"), path.get("data-target"), x, y)


def test_left_to_right_edges_leave_the_right_side_and_enter_the_left_side(flow, lineage):
    graph = build_lineage(lineage.declare_big_shop(flow))
    root = ET.fromstring(graph.to_svg("LR"))
    boxes = boxes_of(root, lineage)
    for path in lineage.edge_paths(root):
        source, target = boxes[str(path.get("data-source"))], boxes[str(path.get("data-target"))]
        points = lineage.path_points(path.get("d", ""))
        (x0, y0), (x1, y1) = points[0], points[-1]
        assert abs(x0 - source[2]) <= NEAR and source[1] <= y0 <= source[3]
        assert abs(x1 - target[0]) <= NEAR and target[1] <= y1 <= target[3]
        assert source[2] < target[0]  # sources left of targets


def test_top_to_bottom_edges_leave_the_bottom_and_enter_the_top(flow, lineage):
    graph = build_lineage(lineage.declare_big_shop(flow))
    root = ET.fromstring(graph.to_svg("TB"))
    boxes = boxes_of(root, lineage)
    for path in lineage.edge_paths(root):
        source, target = boxes[str(path.get("data-source"))], boxes[str(path.get("data-target"))]
        points = lineage.path_points(path.get("d", ""))
        (x0, y0), (x1, y1) = points[0], points[-1]
        assert abs(y0 - source[3]) <= NEAR and source[0] <= x0 <= source[2], path.get("d")
        assert abs(y1 - target[1]) <= NEAR and target[0] <= x1 <= target[2], path.get("d")
        assert source[3] < target[1]  # sources above targets


def test_a_long_chain_is_wide_left_to_right_and_tall_top_to_bottom(flow, lineage):
    graph = build_lineage(lineage.declare_chain(flow, 6))
    across_w, across_h = lineage.canvas(ET.fromstring(graph.to_svg("LR")))
    down_w, down_h = lineage.canvas(ET.fromstring(graph.to_svg("TB")))
    assert across_w > across_h and down_h > down_w
    assert down_w < across_w / 3 and across_h < down_h / 3


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_legend_sits_above_the_nodes_and_inside_the_canvas(flow, direction, lineage):
    graph = build_lineage(
        lineage.declare_big_shop(flow), statuses={0: "succeeded", 1: "running", 2: "pending", 3: "not run"}
    )
    root = ET.fromstring(graph.to_svg(direction))
    width, height = lineage.canvas(root)
    legend = lineage.legend_box(root)
    assert 0 <= legend[0] and legend[2] <= width and 0 <= legend[1]
    assert all(legend[3] < box[1] for box in boxes_of(root, lineage).values())


def test_a_narrow_drawing_wraps_the_legend_into_rows(flow, lineage):
    specs = lineage.declare_chain(flow, 7)
    statuses = ["succeeded", "skipped", "failed", "upstream_failed", "running", "pending", "not run"]
    graph = build_lineage(specs, statuses={s.index: status for s, status in zip(specs, statuses)})
    root = ET.fromstring(graph.to_svg("TB"))
    width, _ = lineage.canvas(root)
    legend = next(g for g in root.iter(f"{lineage.SVG}g") if g.get("class") == "legend")
    labels = list(legend.iter(f"{lineage.SVG}text"))
    assert len(labels) == 9
    rows = sorted({float(t.get("y", "")) for t in labels})
    assert len(rows) >= 2  # all nine in one row would need a canvas far wider than this chain
    assert all(float(t.get("x", "")) < width for t in labels)
    assert all(lineage.legend_box(root)[3] < box[1] for box in boxes_of(root, lineage).values())
    # the rows are filled in order and each one starts at the left
    firsts = [min(float(t.get("x", "")) for t in labels if float(t.get("y", "")) == y) for y in rows]
    assert len(set(firsts)) == 1


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_cycles_from_explicit_paths_still_render(flow, base, direction, lineage):
    flow.notebook("a").input("X", file_path=f"{base}project/b/X.parquet").output("A").add()
    flow.notebook("b").input("A").output("X").add()
    graph = build_lineage(flow.specs)
    root = ET.fromstring(graph.to_svg(direction))
    assert len(lineage.edge_paths(root)) == len(graph.edges) == 4
    assert_no_overlaps_inside_the_canvas(root, lineage)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_thousand_notebook_chain_renders_quickly(flow, direction):
    flow.notebook("n0").input("Raw", file_path="raw/*.csv").output("T0").add()
    for i in range(1, 1000):
        flow.notebook(f"n{i}").input(f"T{i - 1}").output(f"T{i}").add()
    started = time.perf_counter()
    graph = build_lineage(flow.specs)
    drawing = graph.to_svg(direction)
    graph.to_mermaid(direction)
    graph.to_dot(direction)
    assert time.perf_counter() - started < 5  # smoke check, not a benchmark
    assert len(graph.nodes) == 2001 and drawing.count('class="edge"') == 2000


def test_svg_renderer_takes_nodes_and_edges_and_checks_the_direction(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    assert svg.svg(list(graph.nodes), list(graph.edges), "TB") == graph.to_svg("TB")
    with pytest.raises(InvalidArgumentError, match="direction must be 'LR' or 'TB'"):
        svg.svg(graph.nodes, graph.edges, "auto")


# ---- the layout on its own --------------------------------------------------------------------
DIAMOND = [(0, 1), (0, 2), (1, 3), (2, 3)]
SIZES = [(100.0, 30.0), (60.0, 40.0), (140.0, 20.0), (80.0, 30.0)]


def test_layout_puts_layers_along_x_or_y():
    across = layout.layered_layout(4, DIAMOND, SIZES, "LR")
    down = layout.layered_layout(4, DIAMOND, SIZES, "TB")
    for flat, axis in ((across, 0), (down, 1)):
        assert [box[2:] for box in flat.boxes] == SIZES
        ends = [box[axis] + box[axis + 2] for box in flat.boxes]
        starts = [box[axis] for box in flat.boxes]
        assert ends[0] < min(starts[1], starts[2]) and max(ends[1], ends[2]) < starts[3]
        # the middle layer sits side by side on the other axis
        other = 1 - axis
        one, two = flat.boxes[1], flat.boxes[2]
        assert one[other] + one[other + 2] <= two[other] or two[other] + two[other + 2] <= one[other]
        assert all(
            0 <= b[0] and b[0] + b[2] <= flat.width and 0 <= b[1] and b[1] + b[3] <= flat.height for b in flat.boxes
        )


def test_layout_routes_join_facing_borders_and_move_with_the_drawing():
    down = layout.layered_layout(4, DIAMOND, SIZES, "TB")
    for (a, b), route in zip(DIAMOND, down.routes):
        ax, ay, aw, ah = down.boxes[a]
        bx, by, bw, _ = down.boxes[b]
        assert route[0][1] == pytest.approx(ay + ah) and ax <= route[0][0] <= ax + aw
        assert route[-1][1] == pytest.approx(by) and bx <= route[-1][0] <= bx + bw
    moved = down.moved(10.0, 20.0)
    assert moved.boxes[3][:2] == pytest.approx((down.boxes[3][0] + 10, down.boxes[3][1] + 20))
    assert moved.routes[0][0] == pytest.approx((down.routes[0][0][0] + 10, down.routes[0][0][1] + 20))
    assert (moved.width, moved.height) == (down.width, down.height)


def test_layout_rejects_an_unknown_direction():
    with pytest.raises(InvalidArgumentError, match="direction must be"):
        layout.layered_layout(1, [], [(10.0, 10.0)], "BT")


# ---- the README picture -----------------------------------------------------------------------
def test_docs_example_script_draws_the_sales_pipeline_top_to_bottom(tmp_path, lineage):
    script = Path(__file__).resolve().parents[1] / "docs" / "make_lineage_example.py"
    module = runpy.run_path(str(script), run_name="make_lineage_example")
    assert module["main"](["make_lineage_example.py", str(tmp_path / "example.svg")]) == 0
    root = ET.fromstring((tmp_path / "example.svg").read_text(encoding="utf-8"))
    labels = [g.find(f"{lineage.SVG}text").text for g in lineage.node_groups(root)]
    assert labels == [
        "SalesRaw",
        "CustomersRaw",
        "ingest",
        "OrdersBronze",
        "CustomersBronze",
        "silver/merge_orders",
        "OrdersSilver",
        "gold/main",
        "RevenueByMonth",
        "TopCustomers",
        "report",
    ]
    assert all(
        "succeeded" in g.get("class", "").split() for g in lineage.node_groups(root) if "notebook" in g.get("class", "")
    )
    width, height = lineage.canvas(root)
    assert height > width  # drawn top to bottom, so it reads at its own size in the README
    assert_no_overlaps_inside_the_canvas(root, lineage)
