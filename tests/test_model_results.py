"""The model layer: status vocabulary, results, and the errors that describe them."""

from __future__ import annotations

import json

import attrs
import pytest

from dtflw import FlowRunError, FlowRunResult, NotebookResult, PlanAction, RunStatus
from dtflw.errors import NotebookRunError
from dtflw.model.status import FlowEventName


def test_statuses_read_and_serialise_as_plain_text() -> None:
    assert RunStatus.UPSTREAM_FAILED == "upstream_failed"
    assert str(RunStatus.FAILED) == "failed" and f"{RunStatus.SKIPPED:>8}" == " skipped"
    assert (
        json.dumps({"s": RunStatus.SUCCEEDED, "a": PlanAction.NOT_SELECTED})
        == '{"s": "succeeded", "a": "not selected"}'
    )
    assert RunStatus("skipped") is RunStatus.SKIPPED
    assert [s.ok for s in RunStatus] == [True, True, False, False, False]
    assert [s.is_failure for s in RunStatus] == [False, False, True, True, False]
    assert [e.value for e in FlowEventName] == ["flow_start", "notebook_start", "notebook_end", "flow_end"]


def test_results_convert_status_text_and_reject_unknown_ones() -> None:
    result = NotebookResult("k", "nb", "failed")  # type: ignore[arg-type]
    assert result.status is RunStatus.FAILED
    with pytest.raises(ValueError, match="'finished'"):
        NotebookResult("k", "nb", "finished")  # type: ignore[arg-type]


def run_result() -> FlowRunResult:
    return FlowRunResult(
        "r1",
        (
            NotebookResult("a", "a", RunStatus.SUCCEEDED, index=0),
            NotebookResult("b", "b", RunStatus.FAILED, error="RuntimeError: boom", index=1),
            NotebookResult("c", "c", RunStatus.UPSTREAM_FAILED, "upstream failed: b", index=2),
            NotebookResult("d", "d", RunStatus.SKIPPED, "outputs exist", index=3),
        ),
    )


def test_flow_run_result_groups_and_indexes_statuses() -> None:
    result = run_result()
    assert not result.ok and [r.notebook for r in result.failed] == ["b"]
    assert [r.notebook for r in result.upstream_failed] == ["c"]
    assert result.by_status()[RunStatus.SKIPPED] == ["d"] and result.by_status()["succeeded"] == ["a"]
    assert result.statuses() == {0: "succeeded", 1: "failed", 2: "upstream_failed", 3: "skipped"}
    assert "upstream_failed" in str(result) and "<td>failed</td>" in result._repr_html_()
    with pytest.raises(KeyError, match="'zzz'"):
        result["zzz"]


def test_flow_run_error_names_failed_and_blocked_notebooks() -> None:
    error = FlowRunError(run_result())
    assert str(error).splitlines() == [
        "Flow run r1: 1 notebook(s) failed:",
        "- 'b': RuntimeError: boom",
        "Not run because an upstream notebook failed: c.",
    ]
    assert error.result["a"].status is RunStatus.SUCCEEDED


def test_notebook_run_error_attempts_is_a_field() -> None:
    assert NotebookRunError("nb", "boom").attempts == 1
    assert NotebookRunError("nb", "boom", attempts=3).attempts == 3


def test_results_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run_result().results[0].status = RunStatus.FAILED  # type: ignore[misc]


def test_flow_run_error_lists_at_most_twenty_notebooks_of_each_kind() -> None:
    many = FlowRunResult(
        "r2",
        tuple(NotebookResult(f"f{i}", f"f{i}", RunStatus.FAILED, error="boom", index=i) for i in range(25))
        + tuple(NotebookResult(f"b{i}", f"b{i}", RunStatus.UPSTREAM_FAILED, index=100 + i) for i in range(30)),
    )
    text = str(FlowRunError(many))
    assert text.startswith("Flow run r2: 25 notebook(s) failed:") and "- 'f19': boom" in text
    assert "'f20'" not in text and "... and 5 more (see .result)" in text
    assert "b19 and 10 more." in text and "b20" not in text
