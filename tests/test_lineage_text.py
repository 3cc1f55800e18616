"""dtflw.lineage.text: Mermaid, Graphviz DOT, and PNG through Graphviz."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from dtflw import InvalidArgumentError
from dtflw.lineage import text
from dtflw.lineage.graph import build_lineage

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


# ---- Mermaid ----------------------------------------------------------------------------------
def test_mermaid_shapes_edges_and_status_classes(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    mermaid = graph.to_mermaid()
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    assert sum(1 for line in lines if re.fullmatch(r'    n\d+\["[^"]*"\]', line)) == 4  # notebooks: boxes
    assert sum(1 for line in lines if re.fullmatch(r'    n\d+\[\("[^"]*"\)\]', line)) == 4  # tables: cylinders
    assert sum(1 for line in lines if re.fullmatch(r"    n\d+ --> n\d+", line)) == 9
    assert '[("OrdersClean<br/>project/clean/Clean.parquet")]' in mermaid
    assert '[("Raw<br/>raw/*.csv")]' in mermaid
    for status, colour in [
        ("succeeded", "#d3f9d8"),
        ("failed", "#ffe3e3"),
        ("upstream_failed", "#ffe8cc"),
        ("skipped", "#e9ecef"),
    ]:
        assert f"classDef {status} fill:{colour}" in mermaid
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    assert f"class {ids['nb:project__ingest']} succeeded" in mermaid
    assert f"class {ids['nb:project__report']} skipped" in mermaid


def test_mermaid_top_to_bottom_changes_only_the_header(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    across, down = graph.to_mermaid("LR").splitlines(), graph.to_mermaid("TB").splitlines()
    assert (across[0], down[0]) == ("flowchart LR", "flowchart TB")
    assert across[1:] == down[1:]


def test_mermaid_running_and_pending_look_plain(flow, lineage):
    mermaid = build_lineage(
        lineage.declare_shop(flow), statuses={0: "running", 1: "pending", 2: "not run"}
    ).to_mermaid()
    assert "classDef running" not in mermaid and "classDef pending" not in mermaid and "succeeded" not in mermaid


def test_mermaid_escapes_quotes_brackets_and_markup(flow):
    (
        flow.notebook('odd"nb(1)')
        .input('We"ird[x]<b>#1', file_path="raw/a{b}.csv")
        .output('Out|put"1', file_path="out/o.parquet")
        .add()
    )
    mermaid = build_lineage(flow.specs).to_mermaid()
    for line in mermaid.splitlines()[1:4]:
        found = re.fullmatch(r'    n\d+\[\(?"(.*)"\)?\]', line)
        assert found is not None, line
        label = found.group(1)
        assert not set(label.replace("<br/>", "")) & set('"[]<>{}|()'), label
    assert '["odd#34;nb#40;1#41;"]' in mermaid
    assert "We#34;ird#91;x#93;#60;b#62;#35;1" in mermaid


# ---- DOT --------------------------------------------------------------------------------------
def test_dot_shapes_colours_and_escaping(flow, base):
    flow.notebook("ingest").input("Raw", file_path="raw/*.csv").output('Or"ders<1>').add()
    flow.notebook("clean").input('Or"ders<1>').input("Odd", file_path='odd\\dir/"x".csv').output("Clean").add()
    dot = build_lineage(flow.specs, statuses={0: "succeeded", 1: "upstream_failed"}).to_dot()
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert "rankdir=LR" in dot
    assert dot.count("shape=box") == 2 and dot.count("shape=cylinder") == 4
    assert '"nb:project__ingest" [label="ingest", shape=box' in dot
    assert 'fillcolor="#d3f9d8"' in dot and 'fillcolor="#ffe8cc"' in dot
    assert 'label="Or\\"ders<1>\\nproject/ingest/Or\\"ders<1>.parquet"' in dot
    assert 'label="Odd\\nodd\\\\dir/\\"x\\".csv"' in dot
    assert f'"tbl:{base}raw/*.csv" -> "nb:project__ingest";' in dot
    assert 'style="filled,dashed"' in dot  # the external input
    # every quoted string is closed: no stray quote changes the statement structure
    for line in dot.splitlines()[4:-1]:
        assert re.fullmatch(r'    ("(?:[^"\\]|\\.)*"(?: -> |\s*\[|;|, |=|\]|[\w,=#-]| )*)+', line), line


def test_dot_top_to_bottom_sets_rankdir_only(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES)
    across, down = graph.to_dot("LR"), graph.to_dot("TB")
    assert "rankdir=TB" in down and "rankdir=LR" not in down
    assert down.replace("rankdir=TB", "rankdir=LR") == across


@needs_graphviz
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_dot_with_odd_labels_is_accepted_by_graphviz(flow, direction):
    flow.notebook('odd"nb(1)').input('We"ird[x]<b>', file_path='raw\\a{b}"c".csv').output("Out").add()
    dot = build_lineage(flow.specs).to_dot(direction)
    done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    ET.fromstring(done.stdout)


# ---- the renderers on their own -----------------------------------------------------------------
def test_renderers_take_nodes_and_edges_and_check_the_direction(flow, lineage):
    graph = build_lineage(lineage.declare_shop(flow))
    assert text.mermaid(graph.nodes, graph.edges, "TB") == graph.to_mermaid("TB")
    assert text.dot(list(graph.nodes), list(graph.edges)) == graph.to_dot()
    for render in (text.mermaid, text.dot):
        with pytest.raises(InvalidArgumentError, match=r"direction must be 'LR' or 'TB'.*'auto'"):
            render(graph.nodes, graph.edges, "auto")  # "auto" is decided by the graph, not here


def test_empty_graph_renders_as_text():
    graph = build_lineage([])
    assert graph.to_mermaid() == "flowchart LR\n" and graph.to_mermaid("TB") == "flowchart TB\n"
    assert graph.to_dot().startswith("digraph lineage {")


# ---- PNG --------------------------------------------------------------------------------------
def test_png_without_graphviz_says_graphviz_is_needed(flow, tmp_path, monkeypatch, lineage):
    monkeypatch.setattr("dtflw.lineage.text.shutil.which", lambda name: None)
    graph = build_lineage(lineage.declare_shop(flow))
    with pytest.raises(InvalidArgumentError, match=r"PNG output needs Graphviz.*'dot'.*\.svg"):
        graph.save(tmp_path / "lineage.png")
    assert not (tmp_path / "lineage.png").exists()


def test_png_with_empty_path_finds_no_graphviz(flow, tmp_path, monkeypatch, lineage):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(InvalidArgumentError, match="needs Graphviz"):
        build_lineage(lineage.declare_shop(flow)).save(tmp_path / "lineage.png", direction="TB")


def test_png_is_rendered_from_the_dot_of_the_direction_asked_for(flow, tmp_path, monkeypatch, lineage):
    seen: list[str] = []
    monkeypatch.setattr("dtflw.lineage.text.render_png", lambda source, target: seen.append(source))
    graph = build_lineage(lineage.declare_shop(flow))
    graph.save(tmp_path / "lineage.png", direction="TB")
    assert seen == [graph.to_dot("TB")]


@needs_graphviz
def test_png_is_rendered_by_graphviz(flow, tmp_path, lineage):
    target = build_lineage(lineage.declare_shop(flow), statuses=lineage.ALL_STATUSES).save(tmp_path / "lineage.png")
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
