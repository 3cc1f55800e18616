"""Running one declared notebook: check inputs, maybe skip, call the runner, check outputs.

Eager `.run()` and the DAG scheduler both call `run_one`, so a notebook behaves the same way
whichever way it is started. While a notebook runs, each of its outputs carries a pending
marker; only a successful, validated run removes it, so a failed run never leaves an output
that a later lazy run mistakes for complete.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Collection

import attrs

from dtflw.errors import (
    MissingInputError,
    MissingOutputError,
    NotebookCancelledError,
    NotebookRunError,
    NotebookTimeoutError,
    SchemaMismatchError,
    error_chain,
)
from dtflw.model.specs import NotebookSpec
from dtflw.model.status import RunStatus, as_status
from dtflw.run.context import RunContext
from dtflw.storage.leases import held

# Hears about each failed attempt that is retried: (attempt, started, reason).
RetryCallback = Callable[[int, float, str], None]
_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")  # fits a marker owner with a suffix


@attrs.frozen
class RunOutcome:
    """What happened to one notebook: status, exit value, why, attempts and seconds taken."""

    status: RunStatus = attrs.field(converter=as_status)  # succeeded or skipped
    exit_value: str | None = None
    reason: str = ""
    attempts: int = 0
    seconds: float = 0.0


def resolve_input_values(ctx: RunContext, spec: NotebookSpec, produced: Collection[str] = ()) -> dict[str, str]:
    """Check that every input exists; optional missing inputs become "". Raises MissingInputError.

    `produced`: paths this run's own notebooks wrote and validated moments ago: only checked for
    a pending marker (another run may have started rewriting one since), not listed again.
    """
    values: dict[str, str] = {}
    for inp in spec.inputs:
        present = bool(inp.path) and (
            (inp.path in produced and not ctx.storage.is_pending(inp.path))
            or (
                bool(ctx.storage.list(inp.path))
                if ctx.storage.is_pattern(inp.path)
                else ctx.storage.table_exists(inp.path)
            )
        )
        if present:
            values[inp.widget] = inp.path
        elif inp.is_optional:
            values[inp.widget] = ""
        else:
            what = (
                "matches no file" if ctx.storage.is_pattern(inp.path) else "does not exist (or is still being written)"
            )
            raise MissingInputError(spec.path, inp.name, f"at '{inp.path}' {what}.")
        ctx.logger.debug(f"Input '{inp.name}': '{values[inp.widget]}'")
    return values


def outputs_exist(ctx: RunContext, spec: NotebookSpec) -> bool:
    """True when every declared output exists and is complete (vacuously true without outputs)."""
    return all(ctx.storage.table_exists(o.path) for o in spec.outputs)


def validate_outputs(ctx: RunContext, spec: NotebookSpec, strict: bool, known_present: bool = False) -> None:
    """Each output must exist and, when columns were declared, match them."""
    for out in spec.outputs:
        if not known_present and not ctx.storage.table_exists(out.path, ignore_pending=True):
            raise MissingOutputError(spec.path, out.name, out.path)
        if out.schema is not None:
            found = ctx.storage.read_table(out.path).dtypes
            diff = out.schema.diff(found, strict=strict)
            if not diff.ok:
                raise SchemaMismatchError(
                    spec.path, out.name, out.path, list(diff.missing), list(diff.extra), list(diff.mistyped)
                )
        ctx.logger.debug(f"Output '{out.alias}': '{out.path}'")


def call_notebook(
    ctx: RunContext,
    spec: NotebookSpec,
    values: dict[str, str],
    on_retry: RetryCallback | None = None,
    may_retry: Callable[[], bool] | None = None,
) -> tuple[str | None, int]:
    """Call the runner, retrying as declared; the final failure becomes NotebookRunError.

    `on_retry(attempt, started, reason)` hears about each failed attempt that is retried. No
    retry follows a cancelled attempt (Ctrl-C), or any attempt once `may_retry()` says False.
    """
    attempt = 0
    while True:
        attempt += 1
        started = time.time()
        try:
            return ctx.runner.run(spec.path, spec.timeout, values), attempt
        except Exception as error:  # any callee failure, whatever the runtime raises
            failure = error
        # Raised outside the `except` block, so the runner's raw exception is not the new
        # error's `__context__`; its redacted form is the `__cause__`.
        if attempt > spec.retries or _cancelled(failure) or (may_retry is not None and not may_retry()):
            raise as_run_error(ctx, spec, failure, values, attempt, chain=True)
        if on_retry is not None:
            on_retry(attempt, started, as_run_error(ctx, spec, failure, values, 1).reason)
        ctx.logger.log(f"Retrying: '{spec.abs_path}' (attempt {attempt + 1} of {spec.retries + 1})")
        time.sleep(spec.retry_backoff_seconds * attempt)


def _cancelled(error: BaseException) -> bool:
    """True when the attempt was stopped by a cancellation (Ctrl-C), anywhere in its chain."""
    return any(isinstance(e, NotebookCancelledError) for e in error_chain(error))


def as_run_error(
    ctx: RunContext,
    spec: NotebookSpec,
    error: BaseException,
    values: dict[str, str],
    attempts: int,
    chain: bool = False,
) -> NotebookRunError:
    """Wrap a callee failure, keeping its message but never a secret value.

    With `chain`, `error` (which becomes both `__cause__` and, being handled when this is
    raised, `__context__`) and its own chain are redacted first (`redact_exception`: in place,
    or a stand-in as the cause when that is not possible).
    """
    from dtflw.redaction import redact_exception

    reason = error.reason if isinstance(error, NotebookRunError) else f"{type(error).__name__}: {error}"
    if attempts > 1:
        reason = f"{reason} (after {attempts} attempts)"
    status = error.status if isinstance(error, NotebookRunError) else "FAILED"
    run_error: NotebookRunError
    if isinstance(error, NotebookTimeoutError):  # a timeout stays a timeout (eager and DAG runs)
        run_error = NotebookTimeoutError(spec.path, error.timeout_seconds, ctx.redact(values))
        run_error.attempts = attempts
    else:
        run_error = NotebookRunError(
            spec.path, ctx.redact_text(reason), ctx.redact(values), status=status, attempts=attempts
        )
    if chain:
        run_error.__cause__ = redact_exception(error, ctx.redact_text)
        run_error.__suppress_context__ = True
    return run_error


def call_values(ctx: RunContext, spec: NotebookSpec, produced: Collection[str] = ()) -> dict[str, str]:
    """The widgets a notebook gets: args, checked input paths and output paths."""
    return {**spec.args, **resolve_input_values(ctx, spec, produced), **{o.widget: o.path for o in spec.outputs}}


def execute_spec(
    ctx: RunContext,
    spec: NotebookSpec,
    values: dict[str, str],
    strict: bool,
    on_retry: RetryCallback | None = None,
    run_id: str | None = None,
    lease_seconds: float | None = None,
    may_retry: Callable[[], bool] | None = None,
) -> tuple[str | None, int]:
    """Mark outputs pending, call the notebook (with retries), validate outputs, clear the marks.

    Any failure leaves the pending marks in place, so the outputs never look complete. While the
    notebook runs, its marks' leases are renewed (`dtflw.storage.leases.held`). Another live
    writer of an output makes this fail up front with ConcurrentWriteError; the notebook this flow
    runs in is no rival (its caller marked the outputs it delegates to this nested flow). `run_id`
    names this run in the marks, so such an error can name it; `lease_seconds` defaults to `DEFAULT_LEASE_SECONDS`.
    """
    if spec.args:
        ctx.remember_secrets(spec.args)
    owner = f"{run_id}.{uuid.uuid4().hex[:12]}" if run_id and _RUN_ID.match(run_id) else None
    paths = [out.path for out in spec.outputs]
    with held(ctx.storage, paths, spec.abs_path, owner, lease_seconds, run_id=run_id, inside=_driver_path(ctx)):
        if ctx.interactive:
            ctx.share_arguments(spec.abs_path, values)
        exit_value, attempts = call_notebook(ctx, spec, values, on_retry, may_retry)
        validate_outputs(ctx, spec, strict)
    return exit_value, attempts


def _driver_path(ctx: RunContext) -> str | None:
    """The notebook this flow runs in (a nested driver's outputs are held by its caller too)."""
    try:
        return ctx.driver_path
    except Exception:  # no notebook context (plain scripts): no caller can hold the outputs
        return None


def run_one(ctx: RunContext, spec: NotebookSpec, lazy: bool, strict: bool) -> RunOutcome:
    """Run (or lazily skip) one notebook and validate its outputs (eager `.run()`)."""
    started = time.monotonic()
    values = call_values(ctx, spec)
    if lazy and outputs_exist(ctx, spec):
        ctx.logger.log(f"Skipped run: '{spec.abs_path}'")
        validate_outputs(ctx, spec, strict, known_present=True)
        return RunOutcome(RunStatus.SKIPPED, None, "all outputs exist", 0, time.monotonic() - started)
    ctx.logger.log(f"Running: '{spec.abs_path}'")
    exit_value, attempts = execute_spec(ctx, spec, values, strict)
    return RunOutcome(RunStatus.SUCCEEDED, exit_value, "", attempts, time.monotonic() - started)
