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
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtflw.cli.checks import (
    check_local_root,
    check_notebook_file,
    check_output_file,
    check_runtime_options,
    cluster_option,
    os_reason,
    prepare_report_folder,
    write_output,
)
from dtflw.errors import DtflwError, FlowInterrupted, InvalidArgumentError
from dtflw.redaction import mask_secret_patterns
from dtflw.render import text_table

if TYPE_CHECKING:  # the CLI imports the local runtime only when a command needs it
    from dtflw.declare.flow import Flow
    from dtflw.local.runtime import LocalRuntime
    from dtflw.model.status import LazyMode


def _pair(item: str) -> tuple[str, str]:
    """argparse type of ``-p`` / ``--conf``: ``KEY=VALUE`` with a non-blank key."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expects KEY=VALUE, got {item!r}")
    return key, value


def _non_negative_int(text: str) -> int:
    """argparse type of ``--timeout``: whole seconds, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects whole seconds (0 = no limit), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expects seconds >= 0 (0 = no limit), got {text!r}")
    return value


def _pairs(values: Sequence[tuple[str, str]] | None) -> dict[str, str]:
    return dict(values or [])


def _runtime_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "-p", "--param", action="append", type=_pair, metavar="KEY=VALUE", help="widget value for the notebook"
    )
    cmd.add_argument("--conf", action="append", type=_pair, metavar="KEY=VALUE", help="Spark session configuration")
    cmd.add_argument("--dbfs-root", default=".dtflw-run/dbfs", help="local folder behind dbfs:/ (default: %(default)s)")
    cmd.add_argument("--volumes-root", default=None, help="local folder behind /Volumes (default: <dbfs-root>/Volumes)")
    cmd.add_argument("--cloud-root", default=None, help="local folder behind abfss:// and wasbs:// URLs")
    cmd.add_argument("--user", default="user@example.com", help="workspace user name (default: %(default)s)")
    cmd.add_argument(
        "--workspace-dir", default=None, help="workspace folder of the notebook (default: /Users/<user>/<its folder>)"
    )
    cmd.add_argument("--secrets-file", default=None, help="JSON {scope: {key: value}} for dbutils.secrets")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtflw", description="Run Databricks notebook pipelines locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a notebook (and everything it calls) on a local Spark")
    run.add_argument("notebook", help="notebook file: Databricks source .py, .ipynb or plain .py")
    _runtime_options(run)
    run.add_argument("--report", default=".dtflw-run/report", help="folder for the run report (default: %(default)s)")
    run.add_argument(
        "--timeout", type=_non_negative_int, default=0, help="seconds the entry notebook may run (0 = no limit)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--resume",
        default=None,
        metavar="RUN_ID",
        help="flow.run() in the driver resumes this run ('last' or a run id): re-runs what failed, "
        "was cancelled or never ran, plus downstream",
    )

    plan = sub.add_parser("plan", help="what flow.run() would do, and why (declare-only driver run)")
    plan.add_argument("driver")
    _runtime_options(plan)
    plan.add_argument("--lazy", choices=("false", "true", "auto"), default="auto")
    plan.add_argument("--only", action="append")
    plan.add_argument("--tags", action="append")
    plan.add_argument("--from", dest="from_", action="append")
    plan.add_argument("--to", action="append")
    plan.add_argument("--force", action="append")

    graph = sub.add_parser("graph", help="save the lineage graph of a driver's flow")
    graph.add_argument("driver")
    _runtime_options(graph)
    graph.add_argument("-o", "--output", default="lineage.html", help="file to write (default: %(default)s)")
    graph.add_argument(
        "--direction",
        choices=("LR", "TB", "auto"),
        default="LR",
        help="layers left to right, top to bottom, or auto: TB when LR would be much wider than tall "
        "(default: %(default)s)",
    )

    export = sub.add_parser("export", help="a Databricks Jobs / Asset Bundle definition of a driver's flow")
    export.add_argument("driver")
    _runtime_options(export)
    kind = export.add_mutually_exclusive_group(required=True)
    kind.add_argument("--job", action="store_true", help="Jobs API 2.1 JSON")
    kind.add_argument("--bundle", action="store_true", help="Asset Bundle resources YAML")
    export.add_argument("--name", default=None, help="job name (default: the driver's name)")
    export.add_argument("--cluster", default=None, help="new_cluster spec as JSON")
    export.add_argument("--existing-cluster-id", default=None)
    export.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")

    history = sub.add_parser("history", help="recorded flow runs")
    history.add_argument(
        "--dbfs-root", default=".dtflw-run/dbfs", help="local folder behind dbfs:/ (default: %(default)s)"
    )
    history.add_argument("--user", default="user@example.com")
    history.add_argument("--storage", default=None, help="storage URL (default: dbfs:/FileStore/<user>)")
    history.add_argument("--flow", default=None, help="only this flow")
    history.add_argument("--run", default=None, help="only this run id")
    return parser


# ---- checks made before anything runs ---------------------------------------------------------
def _runtime(args: argparse.Namespace, progress: bool = True) -> LocalRuntime:
    from dtflw.local.runtime import LocalRuntime

    check_runtime_options(args)
    try:
        return LocalRuntime(
            dbfs_root=args.dbfs_root,
            user=args.user,
            volumes_root=args.volumes_root,
            cloud_root=args.cloud_root,
            workspace_dir=args.workspace_dir,
            spark_conf=_pairs(args.conf),
            secrets_file=args.secrets_file,
            progress=progress,
        )
    except InvalidArgumentError as error:  # only the secrets file is left unchecked by now
        raise InvalidArgumentError(f"--secrets-file: {error}") from None


def _declared(args: argparse.Namespace) -> list[Flow]:
    check_notebook_file("driver", args.driver)
    flows = _runtime(args, progress=False).declare_flows(args.driver, _pairs(args.param))
    if not flows:
        raise SystemExit(
            f"dtflw {args.command} failed: {args.driver} declared no notebooks (is it a driver using init_flow?)"
        )
    return flows


def plan_command(args: argparse.Namespace) -> int:
    lazy: LazyMode = {"false": False, "true": True}.get(args.lazy, "auto")
    for flow in _declared(args):
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
    if args.existing_cluster_id:
        options["existing_cluster_id"] = args.existing_cluster_id
    if args.output:
        check_output_file("-o", args.output)
    flow = _declared(args)[0]
    name = args.name or Path(args.driver).stem
    text = flow.to_bundle_yaml(name, **options) if args.bundle else json.dumps(flow.to_job(name, **options), indent=2)
    if args.output:
        write_output("-o", args.output, text + "\n")
    else:
        print(text)
    return 0


def history_command(args: argparse.Namespace) -> int:
    from dtflw.local.runtime import LocalDbutils, LocalRuntime
    from dtflw.run.history import HistoryStore
    from dtflw.storage import storage_from_url

    if not args.user.strip() or "/" in args.user:
        raise InvalidArgumentError(f"--user expects a non-empty name without '/', got {args.user!r}")
    check_local_root("--dbfs-root", args.dbfs_root)
    runtime = LocalRuntime(dbfs_root=args.dbfs_root, user=args.user, progress=False)
    dbutils = LocalDbutils(runtime, runtime.path_map, user=args.user)
    storage = storage_from_url(args.storage or f"dbfs:/FileStore/{args.user}", dbutils=dbutils)
    records = HistoryStore(storage).records(args.run, args.flow)
    if not records:
        print("no runs recorded")
        return 0
    rows = [
        (
            r.run_id,
            r.notebook,
            str(r.attempt),
            r.status,
            "" if r.seconds is None else f"{r.seconds:.1f}",
            r.error or r.reason,
        )
        for r in records
    ]
    print(text_table(("run", "notebook", "attempt", "status", "seconds", "detail"), rows))
    return 0


def run_command(args: argparse.Namespace) -> int:
    from dtflw.declare.mode import resuming
    from dtflw.local.report import write_report
    from dtflw.local.summary import failure_summary

    check_notebook_file("notebook", args.notebook)
    runtime = _runtime(args, progress=not args.quiet)
    if args.report:
        prepare_report_folder(args.report)
    status = 0
    exit_value = ""

    def redact(text: str) -> str:  # the run's fetched secrets, in any common encoding
        known = runtime.dbutils.redactor.redact(text) if runtime.dbutils is not None else text
        return mask_secret_patterns(known)

    try:
        with resuming(args.resume) if args.resume else contextlib.nullcontext():
            exit_value = runtime.run_notebook(args.notebook, _pairs(args.param), timeout_seconds=args.timeout)
    except DtflwError as error:
        print(failure_summary(runtime.records, error, args.notebook, redact), file=sys.stderr)
        status = 1
    except KeyboardInterrupt as interrupt:
        print(redact(_interrupted(interrupt, args)), file=sys.stderr)
        status = 130
    finally:
        if args.report:
            try:
                index = write_report(runtime.records, args.report, title=f"dtflw run {args.notebook}")
            except OSError as error:
                print(
                    f"dtflw run failed: could not write the report to --report {args.report!r}: {os_reason(error)}",
                    file=sys.stderr,
                )
                status = 1
            else:
                if not args.quiet:
                    print(f"[dtflw] report: {Path(index).resolve()}", file=sys.stderr)
    if exit_value:
        print(redact(exit_value))
    return status


def _interrupted(interrupt: KeyboardInterrupt, args: argparse.Namespace) -> str:
    """What a Ctrl-C during `dtflw run` stopped, and the command that resumes it."""
    if not isinstance(interrupt, FlowInterrupted):
        return f"dtflw run interrupted: {args.notebook} was stopped."
    command = shlex.join(["dtflw", *_without_resume(args.argv or sys.argv[1:]), "--resume", interrupt.result.run_id])
    return f"dtflw run interrupted: {interrupt}\nResume with: {command}"


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


COMMANDS = {
    "run": run_command,
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
        return COMMANDS[args.command](args)
    except (DtflwError, OSError) as error:
        print(f"dtflw {args.command} failed: {mask_secret_patterns(_describe(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dtflw {args.command} interrupted", file=sys.stderr)
        return 130


def _describe(error: BaseException) -> str:
    """The error as one line; an OSError keeps its file name and reason."""
    text = str(error) or type(error).__name__
    return " ".join(text.split()) if isinstance(error, OSError) else text


if __name__ == "__main__":
    sys.exit(main())
