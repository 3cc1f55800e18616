"""Regenerate docs/lineage-example.svg: the lineage graph of examples/sales, drawn by dtflw.

Declares the same notebooks, inputs and outputs as examples/sales/main.py (without running
anything: FakeDbutils + LocalStorage) and marks every notebook succeeded. Drawn top to bottom:
left to right the pipeline is about 1,700 px wide and the README would shrink it unreadably.

    python docs/make_lineage_example.py [OUTPUT]   # default: docs/lineage-example.svg
"""

from __future__ import annotations

import sys
from pathlib import Path

from dtflw import init_flow
from dtflw.lineage.graph import build_lineage
from dtflw.storage.local import LocalStorage
from dtflw.testing import FakeDbutils

# A fixed, never-created root keeps the picture (and its tooltips) the same on every machine.
ROOT = "/dbfs/FileStore/dtflw-example"


def declare_sales_flow():
    """The flow of examples/sales/main.py, declared only."""
    storage = LocalStorage(ROOT, format="delta")
    flow = init_flow(storage, dbutils=FakeDbutils())
    raw_dir = storage.get_abs_path(storage.get_path_in_root_dir("sales/raw"))
    (
        flow.notebook("ingest")
        .input("SalesRaw", file_path=f"{raw_dir}/orders_*.csv")
        .input("CustomersRaw", file_path=f"{raw_dir}/customers.csv")
        .output("OrdersBronze")
        .output("CustomersBronze")
        .add()
    )
    (
        flow.notebook("silver/merge_orders")
        .input("OrdersBronze")
        .input("CustomersBronze")
        .output("Orders", alias="OrdersSilver")
        .add()
    )
    (
        flow.notebook("gold/main")
        .args({"year": "2023", "lazy": "true"})
        .input("OrdersSilver")
        .output("RevenueByMonth")
        .output("TopCustomers")
        .add()
    )
    (flow.notebook("report").input("RevenueByMonth").input("TopCustomers").add())
    return flow


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("lineage-example.svg")
    specs = declare_sales_flow().specs
    graph = build_lineage(specs, statuses={s.index: "succeeded" for s in specs})
    print(graph.save(target, direction="TB"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
