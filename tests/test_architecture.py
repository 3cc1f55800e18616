"""The package's shape: no import cycle, the layer contracts, one status vocabulary, public paths."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import dtflw
from dtflw.model.status import FlowEventName, PlanAction, RunStatus

PACKAGE = Path(dtflw.__file__).parent


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every component of more than one module (or a self-import) is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_dtflw_modules() -> None:
    # grimp counts every import statement: module level, inside functions and under TYPE_CHECKING.
    graph = grimp.build_graph("dtflw", exclude_type_checking_imports=False)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    # A module importing its own package's __init__ (e.g. `import dtflw`) would hide a cycle
    # through the face; count those edges too.
    assert strongly_connected(imports) == []


def test_layer_contracts_are_kept() -> None:
    """lint-imports (import-linter) checks the layers configured in pyproject.toml."""
    config = PACKAGE.parent / "pyproject.toml"
    if not config.exists():
        pytest.skip("pyproject.toml is not beside the package (installed from a wheel)")
    tool = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(tool), "--config", str(config)], cwd=config.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _status_literals(path: Path) -> list[tuple[int, str]]:
    words = {v.value for v in (*RunStatus, *PlanAction, *FlowEventName)}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in words and id(node) not in docstrings
    ]


@pytest.mark.parametrize("layer", ["model", "declare", "run", "lineage", "export"])
def test_statuses_and_actions_are_spelled_once(layer: str) -> None:
    """Run statuses, plan actions and event names are enum members outside dtflw.model.status."""
    found = {
        str(path.relative_to(PACKAGE)): hits
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        if path.name != "status.py" and (hits := _status_literals(path))
    }
    assert found == {}


PUBLIC_PATHS = {
    # dtflw 0.6.x paths
    "dtflw.flow": ["Flow", "init_flow", "LazyNotebook", "FlowContext"],
    "dtflw.flow_context": ["FlowContext"],
    "dtflw.lazy_notebook": ["LazyNotebook"],
    "dtflw.arguments": ["Argument", "Input", "Output"],
    "dtflw.plugin": ["FlowPluginBase", "NotebookPluginBase"],
    "dtflw.logger": ["Logger", "DefaultLogger", "LoggerBase"],
    "dtflw.display": ["DisplayBase", "DefaultDisplay"],
    "dtflw.tables_repo": ["TablesRepository"],
    "dtflw.pipeline": ["PipelineState", "NotebookRun"],
    "dtflw.input_table": ["InputTable"],
    "dtflw.output_table": ["OutputTable"],
    "dtflw.assertions": ["assert_schema_compatible"],
    "dtflw.storage.fs": ["FileStorageBase", "file_exists"],
    "dtflw.storage.azure": ["AzureStorage", "init_storage"],
    "dtflw.storage.dbfs": ["DbfsStorage", "init_storage"],
    "dtflw.io.azure": ["AzureStorage", "init_storage"],
    "dtflw.databricks": [
        "get_spark_session",
        "get_dbutils",
        "get_current_username",
        "get_this_notebook_abs_path",
        "get_notebook_abs_path",
        "get_path_relative_to_project_dir",
        "is_job_interactive",
        "run_notebook",
        "use_runtime",
    ],
    # README paths
    "dtflw.storage": ["storage_from_url", "register_storage", "Storage"],
    "dtflw.storage.local": ["LocalStorage"],
    "dtflw.storage.volumes": ["VolumeStorage"],
    "dtflw.testing": ["FakeDbutils"],
    "dtflw.testing.azurite": ["Azurite", "DEV_ACCOUNT"],
    "dtflw.local": ["LocalRuntime"],
    "dtflw.errors": [
        "DtflwError",
        "FlowDefinitionError",
        "FlowRunError",
        "InvalidArgumentError",
        "MissingInputError",
        "MissingOutputError",
        "NotebookRunError",
        "NotebookTimeoutError",
        "RuntimeNotAvailableError",
        "SchemaMismatchError",
        "StorageError",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_PATHS))
def test_public_import_paths_keep_working(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in PUBLIC_PATHS[module] if not hasattr(loaded, name)]
    assert missing == []


def test_top_level_names_are_the_same_objects_as_their_homes() -> None:
    from dtflw.declare.flow import Flow
    from dtflw.errors import FlowRunError
    from dtflw.model.results import FlowRunResult

    assert dtflw.Flow is Flow and dtflw.FlowRunError is FlowRunError and dtflw.FlowRunResult is FlowRunResult
    assert all(hasattr(dtflw, name) for name in dtflw.__all__)
    assert importlib.import_module("dtflw.flow").Flow is Flow
