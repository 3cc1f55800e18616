"""The `dtflw` command line's arguments: one sub-command each, every option with its help.

Exit codes: 0 success, 1 a notebook or flow failed, 2 a usage or set-up error (a bad option,
a file that cannot be read or written), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dtflw.run.history import RUN_ID


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
    if not 0 <= value <= 2**31 - 1:  # Databricks takes it as a Java int
        raise argparse.ArgumentTypeError(f"expects seconds from 0 (no limit) to {2**31 - 1}, got {text!r}")
    return value


def _run_id_or_last(text: str) -> str:
    """argparse type of ``--resume``: "last" or a run id of the form 20261122T002000Z-3f9a1c."""
    if text != "last" and not RUN_ID.match(text):
        raise argparse.ArgumentTypeError(
            f"expects 'last' or a run id such as 20261122T002000Z-3f9a1c (see `dtflw history`), got {text!r}"
        )
    return text


def pairs(values: Sequence[tuple[str, str]] | None) -> dict[str, str]:
    return dict(values or [])


def _runtime_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "-p", "--param", action="append", type=_pair, metavar="KEY=VALUE", help="widget value for the notebook"
    )
    cmd.add_argument(
        "-f",
        "--params-file",
        default=None,
        metavar="FILE",
        help="widget values from a JSON or YAML file of KEY: VALUE pairs (-p wins over it)",
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
    cmd.add_argument(
        "--engine",
        choices=("local", "connect", "sail"),
        default=None,
        help="Spark engine: local (JVM Spark), connect (Spark Connect), sail (fast, pip install 'dtflw[fast]') "
        "(default: $DTFLW_ENGINE, else connect when $DTFLW_REMOTE or $SPARK_REMOTE is set, else local)",
    )
    cmd.add_argument(
        "--remote",
        default=None,
        metavar="URL",
        help="with --engine connect: sc://host:port[/;param=value...] or databricks[:profile] "
        "(default: $DTFLW_REMOTE or $SPARK_REMOTE; none: dtflw starts a local Spark Connect server)",
    )


def _selection_options(cmd: argparse.ArgumentParser, lazy_default: str | None) -> None:
    """What `flow.run()` in the driver runs: laziness and selections (as its keyword arguments)."""
    shown = f"(default: {lazy_default})" if lazy_default else "(default: what the driver passes)"
    cmd.add_argument(
        "--lazy",
        choices=("false", "true", "auto"),
        default=lazy_default,
        help=f"false: run all; true: skip notebooks whose outputs exist; auto: also compare fingerprints {shown}",
    )
    cmd.add_argument("--only", action="append", metavar="NB", help="only these notebooks (path, key or * pattern)")
    cmd.add_argument("--tags", action="append", metavar="TAG", help="only notebooks with these tags")
    cmd.add_argument("--from", dest="from_", action="append", metavar="NB", help="these notebooks and downstream")
    cmd.add_argument("--to", action="append", metavar="NB", help="these notebooks and upstream")
    cmd.add_argument("--force", action="append", metavar="NB", help="run these notebooks whatever --lazy says")
    cmd.add_argument(
        "--backfill",
        action="append",
        metavar="NAME=START..END",
        help="run the flow once per value: dates from START to END (every --step), or NAME=V1,V2,...; "
        "repeat for a grid (flow.run(params=...); values already up to date are skipped)",
    )
    cmd.add_argument("--step", default="1d", help="date step of --backfill: Nd, Nw or Nmo (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    from dtflw import __version__

    parser = argparse.ArgumentParser(
        prog="dtflw",
        description="Run Databricks notebook pipelines locally.",
        epilog="Exit codes: 0 success, 1 a notebook or flow failed, 2 usage or set-up error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"dtflw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a notebook (and everything it calls) on a local Spark")
    run.add_argument("notebook", help="notebook file: Databricks source .py or .sql, .ipynb, or plain .py")
    _runtime_options(run)
    run.add_argument("--report", default=".dtflw-run/report", help="folder for the run report (default: %(default)s)")
    run.add_argument(
        "--report-format",
        choices=("html", "pdf"),
        default="html",
        help="html: index.html and the notebooks' pages; pdf: also report.pdf (default: %(default)s)",
    )
    run.add_argument(
        "--timeout", type=_non_negative_int, default=0, help="seconds the entry notebook may run (0 = no limit)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--resume",
        default=None,
        type=_run_id_or_last,
        metavar="RUN_ID",
        help="flow.run() in the driver resumes this run ('last' or a run id): re-runs what failed, "
        "was cancelled or never ran, plus downstream",
    )
    _selection_options(run, lazy_default=None)

    report = sub.add_parser("report", help="draw a run report again from its run.json (index.html, --pdf)")
    report.add_argument("run_dir", nargs="?", default=".dtflw-run/report", help="report folder (default: %(default)s)")
    report.add_argument("--pdf", action="store_true", help="also write report.pdf")
    plan = sub.add_parser("plan", help="what flow.run() would do, and why (declare-only driver run)")
    plan.add_argument("driver", help="driver notebook file that declares a flow")
    _runtime_options(plan)
    _selection_options(plan, lazy_default="auto")

    graph = sub.add_parser("graph", help="save the lineage graph of a driver's flow")
    graph.add_argument("driver", help="driver notebook file that declares a flow")
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
    export.add_argument("driver", help="driver notebook file that declares a flow")
    _runtime_options(export)
    kind = export.add_mutually_exclusive_group(required=True)
    kind.add_argument("--job", action="store_true", help="Jobs API 2.1 JSON")
    kind.add_argument("--bundle", action="store_true", help="Asset Bundle resources YAML")
    export.add_argument("--name", default=None, help="job name (default: the driver's name)")
    export.add_argument("--cluster", default=None, help="new_cluster spec as JSON")
    export.add_argument("--existing-cluster-id", default=None, help="run every task on this existing cluster")
    export.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    export.add_argument(
        "--include-bundle", action="store_true", help="with --bundle: a whole databricks.yml (bundle name, targets)"
    )
    export.add_argument(
        "--bundle-name", default=None, help="with --include-bundle: bundle name (default: the job's key)"
    )
    export.add_argument(
        "--bundle-root",
        default=None,
        help="with --bundle: folder of databricks.yml; notebooks below it get paths relative to it "
        "(default: the -o file's folder, else the current directory)",
    )
    export.add_argument("--path-prefix", default="", help="prefix for absolute notebook paths, e.g. /Workspace")

    history = sub.add_parser("history", help="recorded flow runs")
    history.add_argument(
        "--dbfs-root", default=".dtflw-run/dbfs", help="local folder behind dbfs:/ (default: %(default)s)"
    )
    history.add_argument("--user", default="user@example.com", help="workspace user name (default: %(default)s)")
    history.add_argument("--storage", default=None, help="storage URL (default: dbfs:/FileStore/<user>)")
    history.add_argument("--flow", default=None, help="only this flow")
    history.add_argument("--run", default=None, help="only this run id")

    catalog = sub.add_parser("catalog", help="notebooks, tables and runs recorded on a storage")
    catalog.add_argument(
        "what",
        choices=(
            "tables",
            "notebooks",
            "runs",
            "who-writes",
            "who-reads",
            "impact",
            "diff",
            "slowest",
            "failing",
            "unread",
        ),
    )
    catalog.add_argument(
        "names", nargs="*", metavar="ARG", help="a table (who-writes/who-reads/impact), two run ids (diff)"
    )
    catalog.add_argument("--format", choices=("table", "json", "csv"), default="table", help="(default: %(default)s)")
    catalog.add_argument("--last", type=int, default=None, metavar="N", help="slowest/failing: within the last N runs")
    dashboard = sub.add_parser("dashboard", help="write a static HTML run dashboard")
    dashboard.add_argument("-o", "--output", required=True, help="folder to write index.html into")
    for cmd in (catalog, dashboard):
        cmd.add_argument(
            "--dbfs-root", default=".dtflw-run/dbfs", help="local folder behind dbfs:/ (default: %(default)s)"
        )
        cmd.add_argument("--user", default="user@example.com", help="workspace user name (default: %(default)s)")
        cmd.add_argument("--storage", default=None, help="storage URL (default: dbfs:/FileStore/<user>)")
    return parser
