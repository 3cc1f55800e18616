"""Widget values a driver shares with notebooks opened by hand, through `spark.conf` (0.6.x).

The driver side (`RunContext.share_arguments`) writes, the callee side (`init_args` & co.)
reads; both sit on the runtime's config (an in-process store when no SparkSession runs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import dtflw.databricks as db

SHARED_ARGUMENTS_PREFIX = "dtflw.shared_arguments."


def share_arguments(notebook_abs_path: str, values: Mapping[str, str]) -> None:
    """Remember the widget values a driver sends to `notebook_abs_path`."""
    db.set_runtime_config_property(SHARED_ARGUMENTS_PREFIX + notebook_abs_path, json.dumps(dict(values)))


def shared_arguments(notebook_abs_path: str) -> dict[str, str]:
    """The widget values last shared for `notebook_abs_path` ({} when none)."""
    raw = db.get_runtime_config_property(SHARED_ARGUMENTS_PREFIX + notebook_abs_path)
    if not raw:
        return {}
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
