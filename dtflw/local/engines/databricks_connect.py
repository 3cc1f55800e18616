"""The Databricks Connect seam: ``--engine connect --remote databricks[:profile]``.

``databricks-connect`` (not a dtflw dependency) provides ``DatabricksSession``; its builder reads
the workspace, token and cluster or serverless settings from a configuration profile (``~/.databrickscfg``)
or ``DATABRICKS_*`` environment variables. dtflw passes the profile through and maps no paths: the
cluster's own DBFS, Volumes and cloud storage answer. Not tested against a workspace here (there is
none to reach); the seam is unit-tested with a stand-in module.
"""

from __future__ import annotations

import importlib
from typing import Any

from dtflw.errors import RuntimeNotAvailableError

INSTALL_HINT = "pip install databricks-connect (the version matching your cluster's Databricks Runtime)"


def databricks_session(profile: str | None) -> Any:
    """A ``DatabricksSession`` for ``profile`` (None: Databricks Connect's default configuration)."""
    try:
        module = importlib.import_module("databricks.connect")
    except ImportError:
        raise RuntimeNotAvailableError(f"--remote databricks needs Databricks Connect: {INSTALL_HINT}") from None
    builder = module.DatabricksSession.builder
    if profile is not None:
        builder = builder.profile(profile)
    try:
        return builder.getOrCreate()
    except Exception as error:
        where = f"profile '{profile}'" if profile else "the default Databricks configuration"
        raise RuntimeNotAvailableError(
            f"Databricks Connect could not open a session with {where}: {type(error).__name__}: {error}"
        ) from None
