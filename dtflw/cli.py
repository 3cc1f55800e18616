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
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtflw.errors import DtflwError
from dtflw.render import text_table

if TYPE_CHECKING:  # the CLI imports the local runtime only when a command needs it
    from dtflw.declare.flow import Flow
    from dtflw.local.runtime import LocalRuntime
    from dtflw.model.status import LazyMode


def _pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"dtflw: {option} expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _runtime_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="widget value for the notebook")
    cmd.add_argument("--conf", action="append", metavar="KEY=VALUE", help="Spark session configuration")
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
    run.add_argument("--timeout", type=int, default=0, help="seconds the entry notebook may run (0 = no limit)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")

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


def _runtime(args: argparse.Namespace, progress: bool = True) -> LocalRuntime:
    from dtflw.local.runtime import LocalRuntime

    return LocalRuntime(
        dbfs_root=args.dbfs_root,
        user=args.user,
        volumes_root=args.volumes_root,
        cloud_root=args.cloud_root,
        workspace_dir=args.workspace_dir,
        spark_conf=_pairs(args.conf, "--conf"),
        secrets_file=args.secrets_file,
        progress=progress,
    )


def _declared(args: argparse.Namespace) -> list[Flow]:
    flows = _runtime(args, progress=False).declare_flows(args.driver, _pairs(args.param, "-p"))
    if not flows:
        raise SystemExit(f"dtflw: {args.driver} declared no notebooks (is it a driver using init_flow?)")
    return flows


def plan_command(args: argparse.Namespace) -> int:
    lazy: LazyMode = {"false": False, "true": True}.get(args.lazy, "auto")
    for flow in _declared(args):
        print(f"Flow {flow.name}:")
        print(flow.plan(lazy=lazy, only=args.only, tags=args.tags, from_=args.from_, to=args.to, force=args.force))
    return 0


def graph_command(args: argparse.Namespace) -> int:
    out = Path(args.output)
    for number, flow in enumerate(_declared(args), start=1):
        target = out if number == 1 else out.with_name(f"{out.stem}-{number}{out.suffix}")
        flow.graph().save(target, direction=args.direction)
        print(f"lineage of {flow.name}: {target}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    flow = _declared(args)[0]
    name = args.name or Path(args.driver).stem
    options: dict[str, Any] = {}
    if args.cluster:
        options["cluster"] = json.loads(args.cluster)
    if args.existing_cluster_id:
        options["existing_cluster_id"] = args.existing_cluster_id
    text = flow.to_bundle_yaml(name, **options) if args.bundle else json.dumps(flow.to_job(name, **options), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def history_command(args: argparse.Namespace) -> int:
    from dtflw.local.runtime import LocalDbutils, LocalRuntime
    from dtflw.run.history import HistoryStore
    from dtflw.storage import storage_from_url

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
    from dtflw.local.report import write_report
    from dtflw.local.summary import failure_summary
    from dtflw.redaction import mask_secret_patterns

    runtime = _runtime(args, progress=not args.quiet)
    status = 0
    exit_value = ""

    def redact(text: str) -> str:  # the run's fetched secrets, in any common encoding
        known = runtime.dbutils.redactor.redact(text) if runtime.dbutils is not None else text
        return mask_secret_patterns(known)

    try:
        exit_value = runtime.run_notebook(args.notebook, _pairs(args.param, "-p"), timeout_seconds=args.timeout)
    except DtflwError as error:
        print(failure_summary(runtime.records, error, args.notebook, redact), file=sys.stderr)
        status = 1
    finally:
        if args.report:
            index = write_report(runtime.records, args.report, title=f"dtflw run {args.notebook}")
            if not args.quiet:
                print(f"[dtflw] report: {Path(index).resolve()}", file=sys.stderr)
    if status == 0 and exit_value:
        print(redact(exit_value))
    return status


COMMANDS = {
    "run": run_command,
    "plan": plan_command,
    "graph": graph_command,
    "export": export_command,
    "history": history_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DtflwError as error:
        if args.command == "run":
            raise
        print(f"dtflw {args.command} failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
