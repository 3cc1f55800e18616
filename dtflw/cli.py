"""`dtflw` command line: run Databricks notebooks and pipelines locally.

    dtflw run NOTEBOOK [-p KEY=VALUE]... [--conf KEY=VALUE]... [--dbfs-root DIR] [--user NAME] [--report DIR]

Exit code 0 on success; on failure a one-paragraph summary (which notebook failed, where, why)
on stderr and exit code 1. The entry notebook's exit value, if any, is the last stdout line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from dtflw.errors import DtflwError


def _pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"dtflw: {option} expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtflw", description="Run Databricks notebook pipelines locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a notebook (and everything it calls) on a local Spark")
    run.add_argument("notebook", help="notebook file: Databricks source .py, .ipynb or plain .py")
    run.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="widget value for the notebook")
    run.add_argument("--conf", action="append", metavar="KEY=VALUE", help="Spark session configuration")
    run.add_argument("--dbfs-root", default=".dtflw-run/dbfs", help="local folder behind dbfs:/ (default: %(default)s)")
    run.add_argument("--volumes-root", default=None, help="local folder behind /Volumes (default: <dbfs-root>/Volumes)")
    run.add_argument("--cloud-root", default=None, help="local folder behind abfss:// and wasbs:// URLs")
    run.add_argument("--user", default="user@example.com", help="workspace user name (default: %(default)s)")
    run.add_argument("--workspace-dir", default=None, help="workspace folder of the notebook (default: /Users/<user>/<its folder>)")
    run.add_argument("--secrets-file", default=None, help="JSON {scope: {key: value}} for dbutils.secrets")
    run.add_argument("--report", default=".dtflw-run/report", help="folder for the run report (default: %(default)s)")
    run.add_argument("--timeout", type=int, default=0, help="seconds the entry notebook may run (0 = no limit)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def run_command(args: argparse.Namespace) -> int:
    from dtflw.local.report import write_report
    from dtflw.local.runtime import LocalRuntime
    from dtflw.local.summary import failure_summary

    runtime = LocalRuntime(
        dbfs_root=args.dbfs_root, user=args.user, volumes_root=args.volumes_root, cloud_root=args.cloud_root,
        workspace_dir=args.workspace_dir, spark_conf=_pairs(args.conf, "--conf"),
        secrets_file=args.secrets_file, progress=not args.quiet,
    )
    status = 0
    exit_value = ""
    try:
        exit_value = runtime.run_notebook(args.notebook, _pairs(args.param, "-p"), timeout_seconds=args.timeout)
    except DtflwError as error:
        print(failure_summary(runtime.records, error, args.notebook), file=sys.stderr)
        status = 1
    finally:
        if args.report:
            index = write_report(runtime.records, args.report, title=f"dtflw run {args.notebook}")
            if not args.quiet:
                print(f"[dtflw] report: {Path(index).resolve()}", file=sys.stderr)
    if status == 0 and exit_value:
        print(exit_value)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
