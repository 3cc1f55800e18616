"""Fingerprints and run/skip decisions for the notebooks of a DAG, gathered in a Plan."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from dtflw.errors import FlowDefinitionError
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import LazyMode, PlanAction, as_action
from dtflw.redaction import REDACTED
from dtflw.render import html_table, text_table

PLAN_HEADER = ("notebook", "action", "reason")


def fingerprint(
    spec: NotebookSpec,
    source_hash: str | None,
    input_versions: Mapping[str, str | None],
    args: Mapping[str, str] | None = None,
) -> str:
    """What a run depends on: notebook, its source, args, input versions and output paths.

    `args`: the arguments as they may be shown (secrets masked; default `spec.args`). A history
    record holds every other part, so a secret hashed in would be open to guessing.
    """
    doc = {
        "notebook": spec.abs_path,
        "source": source_hash,
        "args": sorted((spec.args if args is None else args).items()),
        "inputs": sorted((name, version) for name, version in input_versions.items()),
        "outputs": sorted(o.path for o in spec.outputs),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


@attrs.frozen
class Decision:
    """Whether a notebook will run, and why (`"run: input 'Orders' changed"`, `"skip: up to date"`)."""

    index: int
    key: str
    notebook: str
    action: PlanAction = attrs.field(converter=as_action)
    reason: str
    fingerprint: str | None = None


@attrs.frozen
class Plan:
    """Decisions for every declared notebook, in execution order; renders as a table."""

    decisions: tuple[Decision, ...]
    lazy: LazyMode = False

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions)

    def __len__(self) -> int:
        return len(self.decisions)

    def __getitem__(self, notebook: str) -> Decision:
        for d in self.decisions:
            if notebook in (d.notebook, d.key):
                return d
        raise KeyError(notebook)

    @property
    def to_run(self) -> list[Decision]:
        return [d for d in self.decisions if d.action is PlanAction.RUN]

    def rows(self) -> list[tuple[str, str, str]]:
        return [(d.notebook, d.action.value, d.reason) for d in self.decisions]

    def __str__(self) -> str:
        return text_table(PLAN_HEADER, self.rows(), rule=True)

    def _repr_html_(self) -> str:
        """The table with run rows in green and skip rows in grey (not selected: plain)."""
        colours = {PlanAction.RUN: "#d3f9d8", PlanAction.SKIP: "#e9ecef"}
        return html_table(PLAN_HEADER, self.rows(), [colours.get(d.action) for d in self.decisions])


# What a decision needs about the present: the fingerprint and the input versions behind it.
CurrentState = Callable[[], "tuple[str, Mapping[str, str | None]]"]


def decide(
    spec: NotebookSpec,
    key: str,
    lazy: LazyMode,
    forced: bool,
    outputs_exist: Callable[[], bool],
    current: CurrentState,
    last_success: Mapping[str, Any] | None,
) -> Decision:
    """Run or skip one selected notebook.

    lazy=False: always run. lazy=True: skip when every output exists (0.6.x). lazy="auto": skip
    only when outputs exist and the fingerprint equals the last successful run's.
    """

    run, skip = PlanAction.RUN, PlanAction.SKIP
    if forced:
        return Decision(spec.index, key, spec.label, run, "forced")
    if lazy is False:
        return Decision(spec.index, key, spec.label, run, "lazy=False")
    if not outputs_exist():
        return Decision(spec.index, key, spec.label, run, "outputs missing")
    if lazy is True:
        return Decision(spec.index, key, spec.label, skip, "outputs exist")
    now, versions = current()
    if last_success is None:
        return Decision(spec.index, key, spec.label, run, "no successful run recorded", now)
    if last_success.get("fingerprint") == now:
        return Decision(spec.index, key, spec.label, skip, "up to date", now)
    return Decision(spec.index, key, spec.label, run, _what_changed(spec, versions, last_success), now)


def _what_changed(spec: NotebookSpec, versions: Mapping[str, str | None], last: Mapping[str, Any]) -> str:
    old_inputs = {i["name"]: i.get("version") for i in last.get("inputs", [])}
    changed = [name for name, version in versions.items() if old_inputs.get(name) != version]
    if changed:
        return "input " + ", ".join(f"'{n}'" for n in sorted(changed)) + " changed"
    last_args = dict(last.get("args", {}))
    if last_args != dict(spec.args) and REDACTED not in last_args.values():
        return "args changed"
    if last.get("source_hash") is not None:
        return "source changed"
    return "fingerprint changed"


def check_lazy(lazy: object) -> LazyMode:
    """False, True or "auto" (and nothing that merely compares equal to them)."""
    if lazy is True or lazy is False:
        return lazy
    if isinstance(lazy, str) and lazy == "auto":
        return "auto"
    raise FlowDefinitionError(f"lazy must be False, True or 'auto', got {lazy!r}.")
