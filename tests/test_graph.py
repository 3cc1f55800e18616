"""The lineage graph: nodes and edges from declared specs, Mermaid, DOT, SVG layout, HTML, save()."""

from __future__ import annotations

import re
import runpy
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dtflw import InvalidArgumentError, init_flow
from dtflw.lineage.graph import Edge, LineageGraph, Node, build_lineage, statuses_of
from dtflw.model.dag import task_keys
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

SVG = "{http://www.w3.org/2000/svg}"
ALL_STATUSES = {0: "succeeded", 1: "failed", 2: "upstream_failed", 3: "skipped"}


@pytest.fixture
def flow(tmp_path):
    return init_flow(LocalStorage(tmp_path), dbutils=FakeDbutils())


@pytest.fixture
def base(flow) -> str:
    return flow.ctx.storage.base_path


def declare_shop(flow):
    """ingest -> Orders -> clean -> Clean (alias OrdersClean); report reads both; stats reads Orders."""
    flow.notebook("ingest").input("Raw", file_path="raw/*.csv").output("Orders").add()
    flow.notebook("clean").input("Orders").output("Clean", alias="OrdersClean").add()
    flow.notebook("stats").input("Orders").output("Stats").add()
    flow.notebook("report").input("OrdersClean").input("Stats").input("Raw", file_path="raw/*.csv").add()
    return flow.specs


# ---- building ---------------------------------------------------------------------------------
def test_nodes_and_edges_one_node_per_table_path(flow, base):
    graph = build_lineage(declare_shop(flow))

    raw, orders = f"tbl:{base}raw/*.csv", f"tbl:{base}project/ingest/Orders.parquet"
    clean, stats = f"tbl:{base}project/clean/Clean.parquet", f"tbl:{base}project/stats/Stats.parquet"
    nb = {name: f"nb:project__{name}" for name in ("ingest", "clean", "stats", "report")}
    assert {n.id for n in graph.nodes} == {raw, orders, clean, stats, *nb.values()}
    assert {(e.source, e.target) for e in graph.edges} == {
        (raw, nb["ingest"]),
        (nb["ingest"], orders),
        (orders, nb["clean"]),
        (nb["clean"], clean),
        (orders, nb["stats"]),
        (nb["stats"], stats),
        (clean, nb["report"]),
        (stats, nb["report"]),
        (raw, nb["report"]),
    }
    assert len(graph.edges) == 9 and len(graph.nodes) == 8
    assert [n.label for n in graph.notebooks] == ["ingest", "clean", "stats", "report"]
    assert graph.node(nb["clean"]).path == "/Users/user@example.com/project/clean"
    assert graph.node(clean).label == "OrdersClean"  # published alias, not the output name
    assert graph.node(clean).path == f"{base}project/clean/Clean.parquet"
    assert graph.node(raw).label == "Raw" and graph.node(raw).external
    assert not graph.node(orders).external
    assert all(n.status is None for n in graph.nodes)


def test_explicit_input_path_of_a_produced_table_is_the_same_node(flow, base):
    flow.notebook("a").output("T").add()
    flow.notebook("b").input("Src", file_path=f"{base}project/a/T.parquet").add()
    flow.notebook("c").input("Other", source_table="T").add()
    graph = build_lineage(flow.specs)
    assert [n.label for n in graph.tables] == ["T"]
    assert {e.source for e in graph.edges if e.target != "tbl:" + graph.tables[0].path} == {graph.tables[0].id}


def test_external_table_read_under_two_names_lists_both(flow):
    flow.notebook("a").input("Conf", file_path="conf.json").add()
    flow.notebook("b").input("Settings", file_path="conf.json").add()
    (table,) = build_lineage(flow.specs).tables
    assert table.label == "Conf, Settings" and table.external


def test_unresolved_optional_input_is_left_out(flow):
    flow.notebook("a").input("Maybe", is_optional=True).output("T").add()
    graph = build_lineage(flow.specs)
    assert [n.label for n in graph.tables] == ["T"]
    assert len(graph.edges) == 1


def test_keys_default_to_task_keys_and_can_be_given(flow):
    specs = declare_shop(flow)
    assert [n.id for n in build_lineage(specs).notebooks] == [f"nb:{k}" for k in task_keys(specs).values()]
    custom = {s.index: f"task{s.index}" for s in specs}
    assert [n.id for n in build_lineage(specs, keys=custom).notebooks] == [f"nb:task{i}" for i in range(4)]


def test_statuses_colour_notebooks_and_come_from_run_results(flow):
    specs = declare_shop(flow)
    graph = build_lineage(specs, statuses={0: "succeeded", 1: "failed", 3: None})
    assert [n.status for n in graph.notebooks] == ["succeeded", "failed", None, None]
    result = FlowRunResult(
        "r1", (NotebookResult("k0", "ingest", "succeeded", index=0), NotebookResult("k2", "stats", "skipped", index=2))
    )
    assert statuses_of(result) == {0: "succeeded", 2: "skipped"}


def test_flow_graph_uses_build_lineage(flow):
    declare_shop(flow)
    assert flow.graph() == build_lineage(flow.specs)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: build_lineage("ingest"), "sequence of NotebookSpec"),
        (lambda s: build_lineage(42), "sequence of NotebookSpec"),
        (lambda s: build_lineage([s[0], "x"]), "NotebookSpec items"),
        (lambda s: build_lineage([s[0], s[0]]), "share declaration index 0"),
        (lambda s: build_lineage(s, keys=["a"]), "keys must map"),
        (lambda s: build_lineage(s, keys={0: "a"}), "no task key"),
        (lambda s: build_lineage(s, keys={i.index: "same" for i in s}), "same task key 'same'"),
        (lambda s: build_lineage(s, statuses=["succeeded"]), "statuses must map"),
        (lambda s: build_lineage(s, statuses={9: "succeeded"}), "index 9"),
        (lambda s: build_lineage(s, statuses={0: "done"}), "Unknown status 'done'"),
    ],
)
def test_bad_arguments_are_explained(flow, call, message):
    specs = declare_shop(flow)
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        call(specs)


def test_graph_rejects_edges_to_unknown_nodes_and_duplicate_ids():
    node = Node("nb:a", "notebook", "a", "/a")
    with pytest.raises(InvalidArgumentError, match="unknown node"):
        LineageGraph((node,), (Edge("nb:a", "tbl:x"),))
    with pytest.raises(InvalidArgumentError, match="unique"):
        LineageGraph((node, node), ())


# ---- Mermaid and DOT --------------------------------------------------------------------------
def test_mermaid_shapes_edges_and_status_classes(flow):
    graph = build_lineage(declare_shop(flow), statuses=ALL_STATUSES)
    text = graph.to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert sum(1 for l in lines if re.fullmatch(r'    n\d+\["[^"]*"\]', l)) == 4  # notebooks: boxes
    assert sum(1 for l in lines if re.fullmatch(r'    n\d+\[\("[^"]*"\)\]', l)) == 4  # tables: cylinders
    assert sum(1 for l in lines if re.fullmatch(r"    n\d+ --> n\d+", l)) == 9
    assert '[("OrdersClean<br/>project/clean/Clean.parquet")]' in text
    assert '[("Raw<br/>raw/*.csv")]' in text
    for status, colour in [
        ("succeeded", "#d3f9d8"),
        ("failed", "#ffe3e3"),
        ("upstream_failed", "#ffe8cc"),
        ("skipped", "#e9ecef"),
    ]:
        assert f"classDef {status} fill:{colour}" in text
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    assert f"class {ids['nb:project__ingest']} succeeded" in text
    assert f"class {ids['nb:project__report']} skipped" in text


def test_mermaid_running_and_pending_look_plain(flow):
    text = build_lineage(declare_shop(flow), statuses={0: "running", 1: "pending", 2: "not run"}).to_mermaid()
    assert "classDef running" not in text and "classDef pending" not in text and "succeeded" not in text


def test_mermaid_escapes_quotes_brackets_and_markup(flow):
    (
        flow.notebook('odd"nb(1)')
        .input('We"ird[x]<b>#1', file_path="raw/a{b}.csv")
        .output('Out|put"1', file_path="out/o.parquet")
        .add()
    )
    text = build_lineage(flow.specs).to_mermaid()
    for line in text.splitlines()[1:4]:
        label = re.fullmatch(r'    n\d+\[\(?"(.*)"\)?\]', line).group(1)
        assert not set(label.replace("<br/>", "")) & set('"[]<>{}|()'), label
    assert '["odd#34;nb#40;1#41;"]' in text
    assert "We#34;ird#91;x#93;#60;b#62;#35;1" in text


def test_dot_shapes_colours_and_escaping(flow, base):
    flow.notebook("ingest").input("Raw", file_path="raw/*.csv").output('Or"ders<1>').add()
    flow.notebook("clean").input('Or"ders<1>').input("Odd", file_path='odd\\dir/"x".csv').output("Clean").add()
    text = build_lineage(flow.specs, statuses={0: "succeeded", 1: "upstream_failed"}).to_dot()
    assert text.startswith("digraph lineage {") and text.rstrip().endswith("}")
    assert "rankdir=LR" in text
    assert text.count("shape=box") == 2 and text.count("shape=cylinder") == 4
    assert '"nb:project__ingest" [label="ingest", shape=box' in text
    assert 'fillcolor="#d3f9d8"' in text and 'fillcolor="#ffe8cc"' in text
    assert 'label="Or\\"ders<1>\\nproject/ingest/Or\\"ders<1>.parquet"' in text
    assert 'label="Odd\\nodd\\\\dir/\\"x\\".csv"' in text
    assert f'"tbl:{base}raw/*.csv" -> "nb:project__ingest";' in text
    assert 'style="filled,dashed"' in text  # the external input
    # every quoted string is closed: no stray quote changes the statement structure
    for line in text.splitlines()[4:-1]:
        assert re.fullmatch(r'    ("(?:[^"\\]|\\.)*"(?: -> |\s*\[|;|, |=|\]|[\w,=#-]| )*)+', line), line


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_dot_with_odd_labels_is_accepted_by_graphviz(flow):
    import subprocess

    flow.notebook('odd"nb(1)').input('We"ird[x]<b>', file_path='raw\\a{b}"c".csv').output("Out").add()
    dot = build_lineage(flow.specs).to_dot()
    done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    ET.fromstring(done.stdout)


# ---- SVG ---------------------------------------------------------------------------------------
def node_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()]


def node_box(group: ET.Element) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a node's outline shape."""
    (shape,) = [e for e in group if e.get("class") == "shape"]
    if shape.tag == f"{SVG}rect":
        x, y = float(shape.get("x")), float(shape.get("y"))
        return x, y, x + float(shape.get("width")), y + float(shape.get("height"))
    d = shape.get("d")
    points = [(float(a), float(b)) for a, b in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]
    ry = float(re.search(r"A[\d.]+,([\d.]+)", d).group(1))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys) - ry, max(xs), max(ys) + ry


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_svg_is_well_formed_with_a_shape_per_node_and_a_path_per_edge(flow):
    graph = build_lineage(declare_shop(flow), statuses=ALL_STATUSES)
    root = ET.fromstring(graph.to_svg())
    assert root.tag == f"{SVG}svg"
    groups = node_groups(root)
    assert [g.get("data-id") for g in groups] == [n.id for n in graph.nodes]
    for group, node in zip(groups, graph.nodes):
        shape = [e for e in group if e.get("class") == "shape"]
        assert len(shape) == 1
        assert shape[0].tag == (f"{SVG}rect" if node.kind == "notebook" else f"{SVG}path")
        assert node.kind in group.get("class").split()
    edges = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert [(p.get("data-source"), p.get("data-target")) for p in edges] == [(e.source, e.target) for e in graph.edges]
    assert all(p.get("marker-end", "").startswith("url(#dtflw-arrow-") for p in edges)
    assert root.find(f"{SVG}defs/{SVG}marker") is not None
    assert "failed" in groups[[n.id for n in graph.nodes].index("nb:project__clean")].get("class").split()


def test_svg_layout_has_no_overlaps_fits_the_canvas_and_flows_left_to_right(flow):
    declare_shop(flow)
    flow.notebook("audit").input("Raw", file_path="raw/*.csv").input("Stats").output("Audit").add()
    flow.notebook("final").input("Audit").input("OrdersClean").input("Orders").add()
    graph = build_lineage(flow.specs, statuses=ALL_STATUSES)
    root = ET.fromstring(graph.to_svg())
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    boxes = {g.get("data-id"): node_box(g) for g in node_groups(root)}
    assert len(boxes) == len(graph.nodes)
    items = list(boxes.values())
    for i, a in enumerate(items):
        assert 0 <= a[0] < a[2] <= width and 0 <= a[1] < a[3] <= height
        for b in items[i + 1 :]:
            assert not overlaps(a, b), (a, b)
    for edge in graph.edges:
        assert boxes[edge.source][2] < boxes[edge.target][0], edge  # sources left of targets


def test_svg_shows_a_legend_of_the_statuses_present(flow):
    svg = build_lineage(declare_shop(flow), statuses={0: "succeeded", 1: "upstream_failed"}).to_svg()
    legend = next(g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "legend")
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == ["notebook", "table", "external input", "succeeded", "upstream failed"]


def test_svg_escapes_odd_labels_and_survives_control_characters():
    nodes = (
        Node("nb:a", "notebook", "a<b>&\"c'", "/w/a<b>", "succeeded"),
        Node("tbl:/x/<T>&\x01", "table", "T]]>\x00<!--", "/x/<T>&\x01", external=True),
    )
    graph = LineageGraph(nodes, (Edge("tbl:/x/<T>&\x01", "nb:a"),))
    root = ET.fromstring(graph.to_svg())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "a<b>&\"c'" in texts and "T]]>\ufffd<!--" in texts
    assert [g.get("data-id") for g in node_groups(root)] == ["nb:a", "tbl:/x/<T>&\ufffd"]
    ET.fromstring(graph._repr_html_().split("</style>", 1)[1].rsplit("</div>", 1)[0])
    assert "\x00" not in graph.to_mermaid() and "\x01" not in graph.to_mermaid()


def test_long_labels_are_shortened_with_the_full_text_in_the_tooltip(flow):
    name = "A" + "x" * 120
    flow.notebook("a").output(name).add()
    root = ET.fromstring(build_lineage(flow.specs).to_svg())
    table = node_groups(root)[1]
    left, _, right, _ = node_box(table)
    assert right - left <= 300
    title_text = next(table.iter(f"{SVG}text")).text
    assert title_text.endswith("…") and len(title_text) < len(name)
    assert name in table.find(f"{SVG}title").text


def test_cycles_from_explicit_paths_still_render(flow, base):
    flow.notebook("a").input("X", file_path=f"{base}project/b/X.parquet").output("A").add()
    flow.notebook("b").input("A").output("X").add()
    graph = build_lineage(flow.specs)
    root = ET.fromstring(graph.to_svg())
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]) == len(graph.edges) == 4
    boxes = [node_box(g) for g in node_groups(root)]
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_empty_graph_renders():
    graph = build_lineage([])
    assert graph.nodes == () and graph.to_mermaid() == "flowchart LR\n"
    assert "No notebooks declared" in ET.fromstring(graph.to_svg()).find(f"{SVG}text").text
    assert graph.to_dot().startswith("digraph lineage {")


def test_thousand_notebook_chain_renders_quickly(flow):
    flow.notebook("n0").input("Raw", file_path="raw/*.csv").output("T0").add()
    for i in range(1, 1000):
        flow.notebook(f"n{i}").input(f"T{i - 1}").output(f"T{i}").add()
    started = time.perf_counter()
    graph = build_lineage(flow.specs)
    svg = graph.to_svg()
    graph.to_mermaid()
    graph.to_dot()
    assert time.perf_counter() - started < 5  # smoke check, not a benchmark
    assert len(graph.nodes) == 2001 and svg.count('class="edge"') == 2000


# ---- HTML and save() --------------------------------------------------------------------------
def test_repr_html_is_self_contained_inline_svg(flow):
    graph = build_lineage(declare_shop(flow), statuses=ALL_STATUSES)
    page = graph._repr_html_()
    assert page.startswith('<div class="dtflw-lineage"') and page.endswith("</div>")
    assert graph.to_svg() in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize(
    "suffix, check",
    [
        (".html", lambda text: text.startswith("<!DOCTYPE html>") and "<svg" in text),
        (".mmd", lambda text: text.startswith("flowchart LR")),
        (".dot", lambda text: text.startswith("digraph lineage {")),
        (".svg", lambda text: ET.fromstring(text).tag == f"{SVG}svg"),
        (".SVG", lambda text: text.startswith("<svg")),
    ],
)
def test_save_writes_the_format_its_suffix_names(flow, tmp_path, suffix, check):
    graph = build_lineage(declare_shop(flow))
    target = tmp_path / f"lineage{suffix}"
    assert graph.save(str(target)) == target
    assert check(target.read_text(encoding="utf-8"))


def test_save_rejects_unknown_suffixes_listing_the_supported_ones(flow, tmp_path):
    graph = build_lineage(declare_shop(flow))
    with pytest.raises(InvalidArgumentError, match=r"unknown suffix '\.pdf'.*\.html, \.mmd, \.dot, \.svg, \.png"):
        graph.save(tmp_path / "lineage.pdf")
    with pytest.raises(InvalidArgumentError, match="unknown suffix"):
        graph.save(tmp_path / "lineage")
    with pytest.raises(InvalidArgumentError, match="file path"):
        graph.save(None)  # type: ignore[arg-type]


def test_png_without_graphviz_says_graphviz_is_needed(flow, tmp_path, monkeypatch):
    monkeypatch.setattr("dtflw.lineage.graph.shutil.which", lambda name: None)
    graph = build_lineage(declare_shop(flow))
    with pytest.raises(InvalidArgumentError, match=r"PNG output needs Graphviz.*'dot'.*\.svg"):
        graph.save(tmp_path / "lineage.png")
    assert not (tmp_path / "lineage.png").exists()


def test_png_with_empty_path_finds_no_graphviz(flow, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(InvalidArgumentError, match="needs Graphviz"):
        build_lineage(declare_shop(flow)).save(tmp_path / "lineage.png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_png_is_rendered_by_graphviz(flow, tmp_path):
    target = build_lineage(declare_shop(flow), statuses=ALL_STATUSES).save(tmp_path / "lineage.png")
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_docs_example_script_draws_the_sales_pipeline(tmp_path):
    script = Path(__file__).resolve().parents[1] / "docs" / "make_lineage_example.py"
    module = runpy.run_path(str(script), run_name="make_lineage_example")
    assert module["main"](["make_lineage_example.py", str(tmp_path / "example.svg")]) == 0
    root = ET.fromstring((tmp_path / "example.svg").read_text(encoding="utf-8"))
    labels = [g.find(f"{SVG}text").text for g in node_groups(root)]
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
    assert all("succeeded" in g.get("class").split() for g in node_groups(root) if "notebook" in g.get("class"))
