"""dtflw.lineage.graph: nodes and edges from declared specs, the direction option, HTML, save()."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from dtflw import InvalidArgumentError, init_flow
from dtflw.cli import build_parser
from dtflw.cli import main as cli_main
from dtflw.lineage import graph as graph_module
from dtflw.lineage.graph import Edge, LineageGraph, Node, build_lineage, statuses_of
from dtflw.model.dag import task_keys
from dtflw.model.results import FlowRunResult, NotebookResult
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils


# ---- building ---------------------------------------------------------------------------------
def test_nodes_and_edges_one_node_per_table_path(flow, base, lineage):
    graph = build_lineage(lineage.declare_shop(flow))

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


def test_keys_default_to_task_keys_and_can_be_given(flow, lineage):
    specs = lineage.declare_shop(flow)
    assert [n.id for n in build_lineage(specs).notebooks] == [f"nb:{k}" for k in task_keys(specs).values()]
    custom = {s.index: f"task{s.index}" for s in specs}
    assert [n.id for n in build_lineage(specs, keys=custom).notebooks] == [f"nb:task{i}" for i in range(4)]


def test_statuses_colour_notebooks_and_come_from_run_results(flow, lineage):
    specs = lineage.declare_shop(flow)
    graph = build_lineage(specs, statuses={0: "succeeded", 1: "failed", 3: None})
    assert [n.status for n in graph.notebooks] == ["succeeded", "failed", None, None]
    result = FlowRunResult(
        "r1", (NotebookResult("k0", "ingest", "succeeded", index=0), NotebookResult("k2", "stats", "skipped", index=2))
    )
    assert statuses_of(result) == {0: "succeeded", 2: "skipped"}


def test_flow_graph_uses_build_lineage(flow, lineage):
    lineage.declare_shop(flow)
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
def test_bad_arguments_are_explained(flow, call, message, lineage):
    specs = lineage.declare_shop(flow)
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        call(specs)


def test_graph_rejects_edges_to_unknown_nodes_and_duplicate_ids():
    node = Node("nb:a", "notebook", "a", "/a")
    with pytest.raises(InvalidArgumentError, match="unknown node"):
        LineageGraph((node,), (Edge("nb:a", "tbl:x"),))
    with pytest.raises(InvalidArgumentError, match="unique"):
        LineageGraph((node, node), ())


def test_graph_takes_any_iterables_and_keeps_tuples():
    nodes = [Node("nb:a", "notebook", "a", "/a"), Node("tbl:/t", "table", "T", "/t")]
    graph = LineageGraph(iter(nodes), (e for e in [Edge("nb:a", "tbl:/t")]))
    assert graph.nodes == tuple(nodes) and graph.edges == (Edge("nb:a", "tbl:/t"),)


def test_package_re_exports_the_public_names():
    import dtflw.lineage as lineage

    for name in ("LineageGraph", "Node", "Edge", "build_lineage", "statuses_of"):
        assert getattr(lineage, name) is getattr(graph_module, name)
    assert lineage.__doc__ and "Lineage layer" in lineage.__doc__


# ---- direction --------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["tb", "BT", "RL", "", " LR", "vertical", None, 1, ("TB",)])
@pytest.mark.parametrize("method", ["to_svg", "to_mermaid", "to_dot"])
def test_unknown_directions_are_rejected_naming_the_allowed_values(flow, method, bad, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    with pytest.raises(InvalidArgumentError, match=r"direction must be 'LR', 'TB' or 'auto'.*got"):
        getattr(graph, method)(bad)


def test_save_rejects_an_unknown_direction_before_writing(flow, tmp_path, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    for suffix in (".svg", ".html", ".mmd", ".dot", ".png"):
        with pytest.raises(InvalidArgumentError, match="direction must be"):
            graph.save(tmp_path / f"lineage{suffix}", direction="down")  # type: ignore[arg-type]
        assert not (tmp_path / f"lineage{suffix}").exists()


def test_default_direction_is_left_to_right(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    assert graph.to_svg() == graph.to_svg("LR") != graph.to_svg("TB")
    assert graph.to_mermaid() == graph.to_mermaid("LR") and graph.to_dot() == graph.to_dot("LR")
    assert graph.to_svg("LR") in graph._repr_html_()


@pytest.mark.parametrize(
    "suffix, check",
    [
        (".svg", lambda graph, text: text == graph.to_svg("TB")),
        (".html", lambda graph, text: graph.to_svg("TB") in text and graph.to_svg("LR") not in text),
        (".mmd", lambda graph, text: text.startswith("flowchart TB\n")),
        (".dot", lambda graph, text: "rankdir=TB" in text and "rankdir=LR" not in text),
    ],
)
def test_save_draws_in_the_direction_asked_for(flow, tmp_path, suffix, check, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    target = graph.save(tmp_path / f"lineage{suffix}", direction="TB")
    assert check(graph, target.read_text(encoding="utf-8"))


def test_auto_goes_top_to_bottom_for_a_long_chain_and_stays_left_to_right_for_a_wide_fan(flow, tmp_path, lineage):
    chain = build_lineage(lineage.declare_chain(flow, 6))
    assert chain.to_svg("auto") == chain.to_svg("TB")
    assert chain.to_mermaid("auto").startswith("flowchart TB") and "rankdir=TB" in chain.to_dot("auto")
    assert chain.save(tmp_path / "chain.mmd", direction="auto").read_text().startswith("flowchart TB")

    fan = init_flow(LocalStorage(tmp_path / "fan"), dbutils=FakeDbutils())
    for i in range(8):
        fan.notebook(f"reader{i}").input("Shared", file_path="shared.csv").add()
    wide = build_lineage(fan.specs)
    assert wide.to_svg("auto") == wide.to_svg("LR")
    assert wide.to_mermaid("auto").startswith("flowchart LR")
    assert build_lineage([]).to_svg("auto") == build_lineage([]).to_svg()


# ---- HTML and save() --------------------------------------------------------------------------
def test_repr_html_is_self_contained_inline_svg(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    page = graph._repr_html_()
    assert page.startswith('<div class="dtflw-lineage"') and page.endswith("</div>")
    assert graph.to_svg() in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize(
    "suffix, check",
    [
        (".html", lambda text: text.startswith("<!DOCTYPE html>") and "<svg" in text),
        (".mmd", lambda text: text.startswith("flowchart LR")),
        (".dot", lambda text: text.startswith("digraph lineage {") and "rankdir=LR" in text),
        (".svg", lambda text: ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"),
        (".SVG", lambda text: text.startswith("<svg")),
    ],
)
def test_save_writes_the_format_its_suffix_names(flow, tmp_path, suffix, check, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    target = tmp_path / f"lineage{suffix}"
    assert graph.save(str(target)) == target
    assert check(target.read_text(encoding="utf-8"))


def test_save_rejects_unknown_suffixes_listing_the_supported_ones(flow, tmp_path, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    with pytest.raises(InvalidArgumentError, match=r"unknown suffix '\.pdf'.*\.html, \.mmd, \.dot, \.svg, \.png"):
        graph.save(tmp_path / "lineage.pdf")
    with pytest.raises(InvalidArgumentError, match="unknown suffix"):
        graph.save(tmp_path / "lineage")
    with pytest.raises(InvalidArgumentError, match="file path"):
        graph.save(None)  # type: ignore[arg-type]


# ---- dtflw graph --direction --------------------------------------------------------------------
def test_cli_graph_parser_takes_a_direction():
    parser = build_parser()
    assert parser.parse_args(["graph", "d.py"]).direction == "LR"
    assert parser.parse_args(["graph", "d.py", "--direction", "TB"]).direction == "TB"
    with pytest.raises(SystemExit):
        parser.parse_args(["graph", "d.py", "--direction", "down"])


@pytest.mark.parametrize("extra, first_line", [([], "flowchart LR"), (["--direction", "TB"], "flowchart TB")])
def test_cli_graph_saves_in_the_direction_asked_for(flow, tmp_path, monkeypatch, capsys, extra, first_line, lineage):
    lineage.declare_shop(flow)
    monkeypatch.setattr("dtflw.cli._declared", lambda args: [flow])
    target = tmp_path / "g.mmd"
    assert cli_main(["graph", "driver.py", "-o", str(target), *extra]) == 0
    assert target.read_text(encoding="utf-8").splitlines()[0] == first_line
    assert str(target) in capsys.readouterr().out


def test_cli_graph_svg_top_to_bottom_puts_targets_below_sources(flow, tmp_path, monkeypatch, lineage):
    lineage.declare_shop(flow)
    monkeypatch.setattr("dtflw.cli._declared", lambda args: [flow])
    assert cli_main(["graph", "driver.py", "-o", str(tmp_path / "g.svg"), "--direction", "TB"]) == 0
    root = ET.fromstring((tmp_path / "g.svg").read_text(encoding="utf-8"))
    boxes = {g.get("data-id"): lineage.node_box(g) for g in lineage.node_groups(root)}
    pairs = [(p.get("data-source"), p.get("data-target")) for p in lineage.edge_paths(root)]
    assert pairs and all(boxes[s][3] < boxes[t][1] for s, t in pairs)
