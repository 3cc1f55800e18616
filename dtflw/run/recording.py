"""Turning a notebook's outcome into a `RunRecord`, the same way for DAG runs and eager runs.

A record of a notebook that ran carries its fingerprint (notebook, source, args, input versions,
output paths) whatever `lazy=` the run used, so a later `lazy="auto"` run can skip it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from dtflw.model.specs import NotebookSpec
from dtflw.model.status import RunStatus
from dtflw.run.context import RunContext
from dtflw.run.decide import fingerprint
from dtflw.run.history import HistoryStore, RunRecord, TableVersion, new_run_id


def spec_fingerprint(
    ctx: RunContext, spec: NotebookSpec, known: Mapping[str, str | None] | None = None
) -> tuple[str, dict[str, str | None]]:
    """The notebook's fingerprint now, and the input versions it is made of (`known`: versions
    by path read moments ago, e.g. of outputs this run's notebooks wrote)."""
    known = known or {}
    versions = {
        i.name: (known[i.path] if i.path in known else ctx.storage.version(i.path)) if i.path else None
        for i in spec.inputs
    }
    shown = ctx.redact(spec.args) if spec.args else {}  # a secret's value is never hashed in
    return fingerprint(spec, ctx.source_hash(spec.abs_path), versions, shown), versions


def make_record(
    ctx: RunContext,
    run_id: str,
    flow: str,
    key: str,
    spec: NotebookSpec,
    attempt: int,
    status: RunStatus,
    started: float | None = None,
    ended: float | None = None,
    exit_value: str | None = None,
    error: str | None = None,
    reason: str = "",
    fingerprint: str | None = None,
    known_versions: Mapping[str, str | None] | None = None,
) -> RunRecord:
    """A record with redacted args and exit value.

    Table versions are read for a notebook that ran and for a skip that carries a fingerprint
    (`lazy="auto"` compares them next time); a plain `lazy=True` skip or a failure has none.
    """
    with_versions = status is RunStatus.SUCCEEDED or (status is RunStatus.SKIPPED and fingerprint is not None)
    if with_versions:
        storage = ctx.storage
        known = known_versions or {}

        def version(path: str) -> str | None:  # `known_versions`: read moments ago for this notebook
            return known[path] if path in known else storage.version(path)

        inputs = tuple([TableVersion(i.name, i.path, version(i.path) if i.path else None) for i in spec.inputs])
        outputs = tuple([TableVersion(o.alias, o.path, version(o.path)) for o in spec.outputs])
    else:  # a failure, or a plain `lazy=True` skip: no versions
        inputs = tuple([TableVersion(i.name, i.path, None) for i in spec.inputs])
        outputs = tuple([TableVersion(o.alias, o.path, None) for o in spec.outputs])
    return RunRecord(
        run_id=run_id,
        flow=flow,
        key=key,
        notebook=spec.abs_path,
        attempt=attempt,
        status=status,
        args=ctx.redact(spec.args) if spec.args else {},
        inputs=inputs,
        outputs=outputs,
        started=started,
        ended=ended,
        exit_value=ctx.redact_text(exit_value) if exit_value else exit_value,
        error=error,
        reason=reason,
        fingerprint=fingerprint,
        source_hash=ctx.source_hash(spec.abs_path),
    )


def new_successes(records: Iterable[RunRecord], known: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The `_latest` updates a run makes: each notebook that ran successfully, and each skip
    whose fingerprint differs from what `known` holds for it (an unchanged skip adds nothing)."""
    updates: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.status is RunStatus.SUCCEEDED or (
            record.status is RunStatus.SKIPPED
            and record.fingerprint is not None
            and (known.get(record.key) or {}).get("fingerprint") != record.fingerprint
        ):
            updates[record.key] = record.to_dict()
    return updates


def save_run(history: HistoryStore, flow: str, records: Iterable[RunRecord], known: Mapping[str, Any]) -> None:
    """End of a run: write the buffered records, then the notebooks' new last successes."""
    history.flush()
    history.save_latest_successes(flow, new_successes(records, known))


class EagerRecorder:
    """History of eager `.run()` calls: one run id per flow, each record written at once, and a
    success saved as the notebook's last success (with its fingerprint) for `lazy="auto"`."""

    def __init__(self, ctx: RunContext, flow: str) -> None:
        self.ctx = ctx
        self.flow = flow
        self.run_id = new_run_id()
        self.history = HistoryStore(ctx.storage, flush_seconds=0.0)

    def fingerprint(self, spec: NotebookSpec) -> str | None:
        """The fingerprint before the run; None when it cannot be computed (never fails a run)."""
        try:
            return spec_fingerprint(self.ctx, spec)[0]
        except Exception as error:
            self.ctx.logger.debug(f"Run history: no fingerprint for '{spec.abs_path}': {error}")
            return None

    def record(self, key: str, spec: NotebookSpec, status: RunStatus, started: float, **fields: Any) -> None:
        """Write one record (fields as `make_record` takes them); a success also updates `_latest`."""
        try:
            record = make_record(self.ctx, self.run_id, self.flow, key, spec, status=status, started=started,
                                 ended=time.time(), **fields)  # fmt: skip
        except Exception as error:  # history must never fail a run
            self.ctx.logger.debug(f"Run history: could not record '{spec.abs_path}': {error}")
            return
        self.history.append(record)
        if status is RunStatus.SUCCEEDED:
            self.history.save_latest_successes(self.flow, {key: record.to_dict()})


def run_error_reason(error: BaseException) -> str:
    """A failed notebook's reason for history: NotebookRunError's own, else `Type: message`."""
    reason: Any = getattr(error, "reason", None)
    return str(reason) if reason is not None else f"{type(error).__name__}: {error}"
