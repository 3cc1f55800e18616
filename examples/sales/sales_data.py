"""Shared by the sales drivers (a module beside the notebooks, imported like on a Repo)."""

from __future__ import annotations

import os
from typing import Any


def land_raw_files(storage: Any, dbutils: Any) -> str:
    """Copy the shipped CSV files to `<storage>/sales/raw` once (an upload step on a real
    workspace) and return that folder."""
    raw_dir = storage.get_abs_path(storage.get_path_in_root_dir("sales/raw"))
    if not storage.list(f"{raw_dir}/orders_*.csv"):
        dbutils.fs.cp("file:" + os.path.abspath("data"), raw_dir, True)
    return raw_dir
