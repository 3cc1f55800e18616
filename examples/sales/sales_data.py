"""Shared by the sales drivers (a module beside the notebooks, imported like on a Repo)."""

from __future__ import annotations

import csv
import os
from typing import Any


def land_raw_files(storage: Any, dbutils: Any) -> str:
    """Copy the shipped CSV files to `<storage>/sales/raw` once (an upload step on a real
    workspace) and return that folder."""
    raw_dir = storage.get_abs_path(storage.get_path_in_root_dir("sales/raw"))
    if not storage.list(f"{raw_dir}/orders_*.csv"):
        dbutils.fs.cp("file:" + os.path.abspath("data"), raw_dir, True)
    return raw_dir


def land_daily_files(storage: Any, dbutils: Any, month: str, through: str) -> str:
    """Land one raw file per day of `month` that has orders, up to `through` (YYYY-MM-DD), as
    `<storage>/sales/daily/raw/date=<day>/orders.csv` (a daily upload on a real workspace); days
    already landed are left alone. Returns the raw folder."""
    raw_dir = storage.get_abs_path(storage.get_path_in_root_dir("sales/daily/raw"))
    by_day: dict[str, list[list[str]]] = {}
    header: list[str] = []
    for name in sorted(os.listdir("data")):
        if name.startswith("orders_") and name.endswith(".csv"):
            with open(os.path.join("data", name), newline="") as handle:
                rows = list(csv.reader(handle))
            header = rows[0]
            for row in rows[1:]:
                if row[1].startswith(month) and row[1] <= through:
                    by_day.setdefault(row[1], []).append(row)
    for day, rows in sorted(by_day.items()):
        target = f"{raw_dir}/date={day}/orders.csv"
        if not storage.list(target):
            text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
            dbutils.fs.put(target, text, True)
    return raw_dir
