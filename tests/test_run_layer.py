"""The run layer on its own: specs + a RunContext + RunOptions in, a FlowRunResult out."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtflw import FlowDefinitionError, InvalidArgumentError, RunOptions, init_flow
from dtflw.model.specs import InputSpec, NotebookSpec, OutputSpec
from dtflw.model.status import FlowEventName, PlanAction, RunStatus
from dtflw.run.context import RunContext
from dtflw.run.events import FlowEvent
from dtflw.run.scheduler import DagRun
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils


class ListRunner:
    """A NotebookRunner that records calls and writes each `<name>_out` path as a parquet stub."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def run(self, path: str, timeout_seconds: int, arguments: dict[str, str]) -> str | None:
        self.calls.append((path, dict(arguments)))
        for key, value in arguments.items():
            if key.endswith("_out"):
                folder = Path(value)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "_SUCCESS").write_text("")
        return f"{path} ok"


def spec(index: int, name: str, storage: LocalStorage, upstream: int | None = None) -> NotebookSpec:
    inputs = ()
    if upstream is not None:
        inputs = (InputSpec(f"T{upstream}", storage.get_abs_path(f"t{upstream}.parquet"), producer=upstream),)
    out = OutputSpec(f"T{index}", storage.get_abs_path(f"t{index}.parquet"), f"T{index}")
    return NotebookSpec(index, name, f"/Users/u/p/{name}", f"p/{name}", inputs=inputs, outputs=(out,))


@pytest.fixture
def ctx(tmp_path: Path) -> tuple[RunContext, ListRunner]:
    runner = ListRunner()
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    storage = LocalStorage(tmp_path / "tables")
    return RunContext(storage, dbutils=dbutils, runner=runner), runner


def test_a_dag_runs_from_specs_without_any_flow(ctx: tuple[RunContext, ListRunner]) -> None:
    context, runner = ctx
    storage = context.storage
    specs = [spec(0, "ingest", storage), spec(1, "clean", storage, upstream=0), spec(2, "report", storage, 1)]
    events: list[FlowEvent] = []
    result = DagRun(context, specs, RunOptions(max_workers=2), "standalone", events.append).execute()
    assert [r.status for r in result] == [RunStatus.SUCCEEDED] * 3
    assert [path for path, _ in runner.calls] == ["ingest", "clean", "report"]
    assert runner.calls[1][1]["T0_in"] == storage.get_abs_path("t0.parquet")
    assert [e.name for e in events][0] is FlowEventName.FLOW_START and events[-1].result is result
    plan = DagRun(context, specs, RunOptions(lazy=True), "standalone").plan()
    assert [d.action for d in plan] == [PlanAction.SKIP] * 3


def test_init_flow_takes_a_custom_runner(tmp_path: Path) -> None:
    runner = ListRunner()
    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    flow = init_flow(LocalStorage(tmp_path / "tables"), dbutils=dbutils, runner=runner)
    assert flow.notebook("ingest").output("Orders").run() == "ingest ok"
    assert [path for path, _ in runner.calls] == ["ingest"]
    with pytest.raises(InvalidArgumentError, match="NotebookRunner"):
        init_flow(LocalStorage(tmp_path / "t2"), dbutils=dbutils, runner=lambda *a: None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_workers": 0}, "max_workers"),
        ({"max_workers": True}, "max_workers"),
        ({"lazy": "yes"}, "lazy must be"),
        ({"lazy": 1}, "lazy must be"),
        ({"only": 3}, "only must be"),
        ({"tags": ["gold", 2]}, "tags must be"),
        ({"force": {"a": 1}}, "force must be"),
        ({"resume": ""}, "resume must be"),
    ],
)
def test_run_options_reject_bad_values(options: dict[str, object], message: str) -> None:
    with pytest.raises((InvalidArgumentError, FlowDefinitionError), match=message):
        RunOptions(**options)  # type: ignore[arg-type]


def test_nothing_to_run_is_a_definition_error(ctx: tuple[RunContext, ListRunner]) -> None:
    with pytest.raises(FlowDefinitionError, match="Nothing to run"):
        DagRun(ctx[0], [], RunOptions(), "empty")


def test_scheduling_is_linear_and_order_is_cached(tmp_path: Path) -> None:
    from dtflw.model.dag import build_dag, find_cycle, topological_order

    storage = LocalStorage(tmp_path / "t")
    specs = [spec(0, "n0", storage)] + [spec(i, f"n{i}", storage, upstream=i - 1) for i in range(1, 3000)]
    dag = build_dag(specs)
    assert dag.order == tuple(range(3000)) and dag.order is dag.order  # computed once
    assert dag.downstream[0] == frozenset({1}) and dag.descendants([2990]) == set(range(2990, 3000))
    reversed_chain = {i: frozenset({i + 1}) if i < 2999 else frozenset() for i in range(3000)}
    assert topological_order(reversed_chain)[0] == 2999  # no recursion limit on long chains
    assert find_cycle(reversed_chain) is None
    reversed_chain[2999] = frozenset({0})
    assert find_cycle(reversed_chain) is not None


def test_a_notebook_reading_its_own_output_is_a_cycle(tmp_path: Path) -> None:
    from dtflw.model.dag import build_dag

    storage = LocalStorage(tmp_path / "t")
    own = storage.get_abs_path("t0.parquet")
    looped = NotebookSpec(
        0,
        "merge",
        "/Users/u/p/merge",
        "p/merge",
        inputs=(InputSpec("Old", own, explicit=True),),
        outputs=(OutputSpec("T0", own, "T0"),),
    )
    with pytest.raises(FlowDefinitionError, match="'merge' reads its own output"):
        build_dag([looped])


@pytest.mark.parametrize("option", ["only", "tags", "from_", "to"])
def test_an_empty_selection_is_refused(option: str) -> None:
    with pytest.raises(InvalidArgumentError, match=rf"{option}=\[\] selects no notebook"):
        RunOptions(**{option: []})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="notebook pattern"):
        RunOptions(**{option: [None]})  # type: ignore[arg-type]


def test_an_eager_timeout_raises_notebook_timeout_error_with_no_raw_context(tmp_path: Path) -> None:
    import time as _time

    from dtflw import NotebookTimeoutError

    dbutils = FakeDbutils(fs_root=tmp_path / "dbfs")
    dbutils.notebook.register("slow", lambda args: _time.sleep(2))
    flow = init_flow(LocalStorage(tmp_path / "t"), dbutils=dbutils)
    with pytest.raises(NotebookTimeoutError, match="timed out after 1 seconds") as caught:
        flow.notebook("slow").timeout(1).run()
    assert caught.value.__context__ is None and caught.value.status == "CANCELED"
