"""examples/sales end to end on the local runtime: real Spark, Delta, MERGE, nested driver, laziness."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dtflw.local.runtime import LocalRuntime

pytestmark = pytest.mark.engines  # make test runs this module on every Spark engine

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sales" / "main.py"


def expected_revenue(year: int) -> float:
    """Revenue the pipeline should report, computed from the raw CSVs in plain Python."""
    best: dict[str, dict[str, str]] = {}
    for path in sorted((EXAMPLE.parent / "data").glob("orders_*.csv")):
        for row in csv.DictReader(path.open()):
            seen = best.get(row["order_id"])
            if seen is None or int(row["quantity"]) > int(seen["quantity"]):
                best[row["order_id"]] = row
    return round(
        sum(
            int(r["quantity"]) * float(r["unit_price"]) for r in best.values() if r["order_date"].startswith(str(year))
        ),
        2,
    )


@pytest.mark.spark
def test_sales_example_runs_end_to_end_and_second_run_skips(spark_session, tmp_path):
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    summary = runtime.run_notebook(EXAMPLE, {"year": "2022"})
    assert summary.startswith(f"revenue {expected_revenue(2022):.2f} over 12 months")
    ran = {r.workspace_path.rsplit("/sales/", 1)[1] for r in runtime.records}
    assert ran == {
        "main",
        "ingest",
        "silver/merge_orders",
        "gold/main",
        "gold/revenue_by_month",
        "gold/top_customers",
        "report",
    }
    assert all(r.status == "succeeded" for r in runtime.records)
    tables = tmp_path / "dbfs" / "FileStore" / "user@example.com" / "sales"
    for table in (
        "ingest/OrdersBronze",
        "silver/merge_orders/Orders",
        "gold/main/RevenueByMonth",
        "gold/main/TopCustomers",
    ):
        assert (tables / table / "_delta_log" / "00000000000000000000.json").exists(), table
    assert not list(tables.rglob("*._dtflw_pending")), "pending markers must be cleared"

    again = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    assert again.run_notebook(EXAMPLE, {"year": "2022"}) == summary
    assert [r.workspace_path.rsplit("/sales/", 1)[1] for r in again.records] == ["main", "report"]


@pytest.mark.spark
def test_sales_dag_runs_gold_in_parallel_and_noop_rerun_skips_everything(spark_session, tmp_path):
    dag = EXAMPLE.with_name("dag.py")
    runtime = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    summary = runtime.run_notebook(dag, {"year": "2023"})
    assert summary.startswith(f"revenue {expected_revenue(2023):.2f} over 12 months")
    by_name = {r.workspace_path.rsplit("/sales/", 1)[1]: r for r in runtime.records}
    assert set(by_name) == {
        "dag",
        "ingest",
        "silver/merge_orders",
        "gold/revenue_by_month",
        "gold/top_customers",
        "report",
    }
    revenue, top = by_name["gold/revenue_by_month"], by_name["gold/top_customers"]
    assert revenue.started < top.ended and top.started < revenue.ended, "gold notebooks ran in parallel"
    assert by_name["report"].started >= max(revenue.ended, top.ended)

    again = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    assert again.run_notebook(dag, {"year": "2023"}) == "up to date"
    assert [r.workspace_path.rsplit("/sales/", 1)[1] for r in again.records] == ["dag"]

    changed = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    changed.run_notebook(dag, {"year": "2022"})  # new args: the gold notebooks and the report re-run
    assert sorted(r.workspace_path.rsplit("/sales/", 1)[1] for r in changed.records) == [
        "dag",
        "gold/revenue_by_month",
        "gold/top_customers",
        "report",
    ]


def march_revenue(through: str) -> float:
    rows = [r for p in (EXAMPLE.parent / "data").glob("orders_*.csv") for r in csv.DictReader(p.open())]
    return round(
        sum(int(r["quantity"]) * float(r["unit_price"]) for r in rows if "2023-03-01" <= r["order_date"] <= through), 2
    )


@pytest.mark.spark
def test_daily_example_backfills_the_month_then_runs_only_the_new_day(spark_session, tmp_path):
    daily = EXAMPLE.with_name("daily.py")
    first = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    summary = first.run_notebook(daily)
    assert summary.startswith("ran 9 day(s): 2023-03-01, ") and summary.endswith(
        f"revenue {march_revenue('2023-03-25'):.2f} over 9 days"
    )
    assert len([r for r in first.records if r.workspace_path.endswith("/ingest_day")]) == 9

    later = LocalRuntime(dbfs_root=tmp_path / "dbfs", progress=False)
    summary = later.run_notebook(daily, {"through": "2023-03-31"})  # one more day has landed
    assert summary == f"ran 1 day(s): 2023-03-26; revenue {march_revenue('2023-03-31'):.2f} over 10 days"
    assert sorted(r.workspace_path.rsplit("/sales/", 1)[1] for r in later.records) == [
        "daily",
        "daily/ingest_day",
        "daily/revenue_day",
    ]
