"""`dtflw` command line: run Databricks notebooks and pipelines locally, and inspect them.

    dtflw run NOTEBOOK [-p KEY=VALUE]... [--conf KEY=VALUE]... [--dbfs-root DIR] [--user NAME] [--report DIR]
    dtflw plan DRIVER [-p KEY=VALUE]... [--lazy auto|true|false] [--only NB]... [--tags T]...
    dtflw graph DRIVER -o lineage.html [--direction LR|TB|auto]   (.html .svg .mmd .dot; .png with Graphviz)
    dtflw export DRIVER --job | --bundle [--name NAME] [--cluster JSON] [-o FILE]
    dtflw history [--storage URL] [--flow NAME] [--run RUN_ID]

`run` exits 0 on success; on failure a one-paragraph summary (which notebook failed, where, why)
goes to stderr and the exit code is 1. The entry notebook's exit value, if any, is the last stdout
line. `plan`, `graph` and `export` run the driver under the local runtime in declare-only mode:
notebooks are declared, none is executed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtflw.cli.checks import (
    check_notebook_file,
    check_output_file,
    check_runtime_options,
    cluster_option,
    os_reason,
    prepare_report_folder,
    unused_selection,
    widget_params,
    write_output,
)
from dtflw.cli.parser import build_parser as build_parser
from dtflw.cli.parser import pairs
from dtflw.errors import (
    DtflwError,
    FlowInterrupted,
    FlowRunError,
    HistoryError,
    InvalidArgumentError,
    RuntimeNotAvailableError,
    error_chain,
)
from dtflw.redaction import is_secret_name, looks_secret_value, mask_secret_patterns

_RUN_ID_IN_TEXT = re.compile(r"Flow run (\d{8}T\d{6}Z-[0-9a-f]{6}): ")

if TYPE_CHECKING:  # the CLI imports the local runtime only when a command needs it
    from dtflw.declare.flow import Flow
    from dtflw.local.runtime import LocalRuntime
    from dtflw.model.status import LazyMode


# ---- checks made before anything runs ---------------------------------------------------------
def _params(args: argparse.Namespace) -> dict[str, str]:
    return widget_params(args.params_file, pairs(args.param))


def _runtime(args: argparse.Namespace, progress: bool = True) -> LocalRuntime:
    from dtflw.local.runtime import LocalRuntime

    check_runtime_options(args)
    from dtflw.local.engines import resolve_engine

    try:
        engine = resolve_engine(getattr(args, "engine", None), getattr(args, "remote", None))
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"--engine/--remote: {error}") from None
    try:
        return LocalRuntime(
            dbfs_root=args.dbfs_root,
            user=args.user,
            volumes_root=args.volumes_root,
            cloud_root=args.cloud_root,
            workspace_dir=args.workspace_dir,
            spark_conf=pairs(args.conf),
            secrets_file=args.secrets_file,
            progress=progress,
            engine=engine.engine,
            remote=engine.remote,
        )
    except InvalidArgumentError as error:  # only the secrets file is left unchecked by now
        raise InvalidArgumentError(f"--secrets-file: {error}") from None


def _declared(args: argparse.Namespace, runtime: LocalRuntime | None = None) -> list[Flow]:
    check_notebook_file("driver", args.driver)
    runtime = runtime if runtime is not None else _runtime(args, progress=False)
    flows = runtime.declare_flows(args.driver, _params(args))
    if not flows:
        raise SystemExit(
            f"dtflw {args.command} failed: {args.driver} declared no notebooks (is it a driver using init_flow?)"
        )
    return flows


def _backfill_params(args: argparse.Namespace) -> dict[str, list[str]] | None:
    """`--backfill date=2024-01-01..2024-01-31 [--step 1d]` as `flow.run(params=...)` takes it."""
    from dtflw.errors import FlowDefinitionError
    from dtflw.model.foreach import parse_backfill

    if not getattr(args, "backfill", None):
        return None
    params: dict[str, list[str]] = {}
    for text in args.backfill:
        try:
            found = parse_backfill(text, args.step)
        except FlowDefinitionError as error:
            raise InvalidArgumentError(f"--backfill {text!r}: {error}") from None
        if params.keys() & found.keys():
            raise InvalidArgumentError(f"--backfill names {', '.join(found)} twice.")
        params.update(found)
    return params


def plan_command(args: argparse.Namespace) -> int:
    lazy: LazyMode = {"false": False, "true": True}.get(args.lazy, "auto")
    from dtflw.declare.mode import run_defaults

    params = _backfill_params(args)
    with run_defaults(params=params):
        flows = _declared(args)
    for flow in flows:
        print(f"Flow {flow.name}:")
        print(flow.plan(lazy=lazy, only=args.only, tags=args.tags, from_=args.from_, to=args.to, force=args.force))
    return 0


def graph_command(args: argparse.Namespace) -> int:
    from dtflw.lineage.graph import SAVE_SUFFIXES

    out = Path(args.output)
    if out.suffix.lower() not in SAVE_SUFFIXES:
        raise InvalidArgumentError(
            f"-o {args.output!r}: unknown suffix {out.suffix or '(none)'!r}; expected one of {', '.join(SAVE_SUFFIXES)}"
        )
    check_output_file("-o", args.output)
    for number, flow in enumerate(_declared(args), start=1):
        target = out if number == 1 else out.with_name(f"{out.stem}-{number}{out.suffix}")
        try:
            flow.graph().save(target, direction=args.direction)
        except OSError as error:
            raise InvalidArgumentError(f"-o {str(target)!r}: could not write the file: {os_reason(error)}") from None
        print(f"lineage of {flow.name}: {target}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    cluster = cluster_option(args.cluster)
    if cluster is not None:
        options["cluster"] = cluster
    if args.existing_cluster_id is not None:  # "" is refused by the export, as in the API
        options["existing_cluster_id"] = args.existing_cluster_id
    if args.path_prefix:
        options["notebook_path_prefix"] = args.path_prefix
    if not args.bundle and (args.include_bundle or args.bundle_name or args.bundle_root):
        raise InvalidArgumentError("--include-bundle, --bundle-name and --bundle-root need --bundle.")
    if args.output:
        check_output_file("-o", args.output)
    runtime = _runtime(args, progress=False)
    flow = _declared(args, runtime)[0]
    if args.bundle:
        options.update(_bundle_options(args, flow, runtime))
    name = args.name or Path(args.driver).stem
    text = flow.to_bundle_yaml(name, **options) if args.bundle else json.dumps(flow.to_job(name, **options), indent=2)
    if args.output:
        write_output("-o", args.output, text + "\n")
    else:
        print(text)
    return 0


def _bundle_options(args: argparse.Namespace, flow: Flow, runtime: LocalRuntime) -> dict[str, Any]:
    """Notebook files relative to the bundle root, the user as `${workspace.current_user.userName}`."""
    root = Path(args.bundle_root or (Path(args.output).parent if args.output else ".")).resolve()
    files: dict[str, str] = {}
    for spec in flow.specs:
        file = runtime.notebook_file(spec.abs_path)
        if file is not None and file.resolve().is_relative_to(root):
            files[spec.abs_path] = file.resolve().relative_to(root).as_posix()
    options: dict[str, Any] = {"notebook_files": files, "user": args.user, "include_bundle": args.include_bundle}
    if args.bundle_name:
        options["bundle_name"] = args.bundle_name
    return options


def run_command(args: argparse.Namespace) -> int:
    from dtflw.declare.mode import collecting_flows, run_defaults
    from dtflw.local.report import write_report
    from dtflw.local.summary import failure_summary

    check_notebook_file("notebook", args.notebook)
    params = _backfill_params(args)  # a bad --backfill is a usage error, before anything runs
    runtime = _runtime(args, progress=not args.quiet)
    if args.report:
        prepare_report_folder(args.report)
    status = 0
    exit_value = ""
    flows: list[Any] = []
    run_error: BaseException | None = None

    def redact(text: str) -> str:  # the run's fetched secrets, in any common encoding
        known = runtime.dbutils.redactor.redact(text) if runtime.dbutils is not None else text
        return mask_secret_patterns(known)

    try:
        lazy = {"false": False, "true": True, "auto": "auto", None: None}[args.lazy]
        selection = {"only": args.only, "tags": args.tags, "from_": args.from_, "to": args.to, "force": args.force}
        with collecting_flows() as flows, run_defaults(resume=args.resume, lazy=lazy, params=params, **selection):
            exit_value = runtime.run_notebook(args.notebook, _params(args), timeout_seconds=args.timeout)
    except DtflwError as error:
        run_error = error
        print(failure_summary(runtime.records, error, args.notebook, redact), file=sys.stderr)
        run_id = _failed_run_id(error)
        if run_id is not None:
            print(f"Resume with: {_resume_command(args, run_id)}", file=sys.stderr)
        status = 2 if isinstance(error, InvalidArgumentError) else 1
    except KeyboardInterrupt as interrupt:
        run_error = interrupt
        print(redact(_interrupted(interrupt, args)), file=sys.stderr)
        status = 130
    finally:
        if args.report:
            try:
                index = write_report(
                    runtime.records,
                    args.report,
                    title=f"dtflw run {args.notebook}",
                    flows=flows,
                    error=run_error,
                    redact=redact,
                    formats=("html", "pdf") if args.report_format == "pdf" else ("html",),
                )
            except InvalidArgumentError as error:  # e.g. --report-format pdf without fpdf2
                print(f"dtflw run failed: could not write the report: {error}", file=sys.stderr)
                status = status or 2
            except OSError as error:
                print(
                    f"dtflw run failed: could not write the report to --report {args.report!r}: {os_reason(error)}",
                    file=sys.stderr,
                )
                status = status or 2
            else:
                if not args.quiet:
                    print(f"[dtflw] report: {Path(index).resolve()}", file=sys.stderr)
    unused = unused_selection(args, flows) if run_error is None else None
    if unused:
        print(unused, file=sys.stderr)
    if exit_value:
        print(redact(exit_value))
    return status


def _interrupted(interrupt: KeyboardInterrupt, args: argparse.Namespace) -> str:
    """What a Ctrl-C during `dtflw run` stopped, and the command that resumes it."""
    if not isinstance(interrupt, FlowInterrupted):
        return f"dtflw run interrupted: {args.notebook} was stopped."
    return f"dtflw run interrupted: {interrupt}\nResume with: {_resume_command(args, interrupt.result.run_id)}"


def _resume_command(args: argparse.Namespace, run_id: str) -> str:
    """The command line again with `--resume run_id`; secret-looking `-p`/`--conf` values are
    shown as [REDACTED] (give them again when running it)."""
    argv = _redacted_argv(_without_resume(args.argv or sys.argv[1:]))
    return shlex.join(["dtflw", *argv, "--resume", run_id])


def _redacted_argv(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    pair_next = remote_next = False
    for arg in argv:
        option, eq, inline = arg.partition("=")
        if pair_next:
            out.append(_redacted_pair(arg))
        elif remote_next:
            out.append(_redacted_remote(arg))
        elif eq and option in ("--param", "--conf"):
            out.append(f"{option}={_redacted_pair(inline)}")
        elif eq and option == "--remote":
            out.append(f"{option}={_redacted_remote(inline)}")
        else:
            out.append(arg)
        pair_next, remote_next = arg in ("-p", "--param", "--conf"), arg == "--remote"
    return out


def _redacted_remote(url: str) -> str:
    """A Spark Connect URL with its parameters (`/;token=...`) replaced: they may hold a token."""
    base, sep, _ = url.partition("/;")
    return f"{base}/;[REDACTED]" if sep else url


def _redacted_pair(pair: str) -> str:
    key, eq, value = pair.partition("=")
    return f"{key}=[REDACTED]" if eq and (is_secret_name(key) or looks_secret_value(value)) else pair


def _failed_run_id(error: BaseException) -> str | None:
    """The run id of a failed flow run anywhere in the error's chain (a driver's FlowRunError,
    or its message where the local runtime wrapped it)."""
    for cause in error_chain(error):
        if isinstance(cause, FlowRunError):
            return cause.result.run_id
        found = _RUN_ID_IN_TEXT.search(str(cause))
        if found:
            return found.group(1)
    return None


def _without_resume(argv: Sequence[str]) -> list[str]:
    """The command line minus any `--resume X` / `--resume=X`."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            out.append(arg)
    return out


def report_command(args: argparse.Namespace) -> int:
    from dtflw.local.report import rebuild_report

    written = rebuild_report(args.run_dir, formats=("html", "pdf") if args.pdf else ("html",))
    print(Path(written).resolve())
    return 0


from dtflw.cli.catalog import catalog_command, dashboard_command, history_command  # noqa: E402

COMMANDS = {
    "catalog": catalog_command,
    "dashboard": dashboard_command,
    "run": run_command,
    "report": report_command,
    "plan": plan_command,
    "graph": graph_command,
    "export": export_command,
    "history": history_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a user's mistake ends as one `dtflw <command> failed: ...` line and exit 1."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else None
    try:
        with _progress_on_stderr(quiet=getattr(args, "quiet", False)):
            return COMMANDS[args.command](args)
    except (DtflwError, OSError) as error:
        print(f"dtflw {args.command} failed: {mask_secret_patterns(_describe(error))}", file=sys.stderr)
        return 2 if isinstance(error, (InvalidArgumentError, HistoryError, RuntimeNotAvailableError, OSError)) else 1
    except KeyboardInterrupt:
        print(f"dtflw {args.command} interrupted", file=sys.stderr)
        return 130


def _mask_record(record: logging.LogRecord) -> bool:
    """Credential-shaped text in a progress line is masked (dtflw's own lines are redacted already)."""
    record.msg, record.args = mask_secret_patterns(record.getMessage()), None
    return True


@contextlib.contextmanager
def _progress_on_stderr(quiet: bool) -> Iterator[None]:
    """dtflw's progress lines (flow and runtime) go to stderr, one line each, so stdout holds
    only what notebooks print and the exit value; `--quiet` keeps warnings only. A handler the
    user put on the "dtflw" logger stays in charge (nothing is added then)."""
    logger = logging.getLogger("dtflw")
    if logger.handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_mask_record)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _describe(error: BaseException) -> str:
    """The error as one line; an OSError keeps its file name and reason."""
    text = str(error) or type(error).__name__
    return " ".join(text.split()) if isinstance(error, OSError) else text


if __name__ == "__main__":
    sys.exit(main())
