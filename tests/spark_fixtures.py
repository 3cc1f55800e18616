"""One local SparkSession (Delta enabled, Databricks paths mapped) shared by every Spark test.

``tests/conftest.py`` registers this module as a plugin: ask for ``spark_session`` and mark the tests
``@pytest.mark.spark``. The fixture yields a :class:`SparkEnv`: ``.spark`` is the session with this
env's roots mapped (re-applied on every access, so another test that remapped the process-wide
session cannot leak into yours), ``.dbfs_root``, ``.volumes_root``, ``.cloud_root``, ``.run_dir``,
``.path_map`` (the matching :class:`PathMap`) and ``.config`` (the :class:`SessionConfig`).

Static settings (metastore, run dir, JVM options) belong to whichever config started the process's
session first; if another test started it, the metastore is not under this env's ``run_dir``.
Managed tables live at ``dbfs:/user/hive/warehouse/<name>``, i.e. under ``.dbfs_root``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

from dtflw.emulated.paths import PathMap
from dtflw.testing.pytest_plugin import current_engine

if TYPE_CHECKING:  # dtflw.local.session is imported when the first Spark test runs, not at collection
    from pyspark.sql import SparkSession

    from dtflw.local.session import SessionConfig


@attrs.frozen
class SparkEnv:
    config: SessionConfig

    @property
    def spark(self) -> SparkSession:
        from dtflw.local.session import get_or_create_session

        return get_or_create_session(self.config)

    @property
    def path_map(self) -> PathMap:
        return self.config.path_map

    @property
    def dbfs_root(self) -> Path:
        return self.config.dbfs_root

    @property
    def volumes_root(self) -> Path:
        assert self.config.volumes_root is not None  # SessionConfig fills in every root
        return self.config.volumes_root

    @property
    def cloud_root(self) -> Path:
        assert self.config.cloud_root is not None
        return self.config.cloud_root

    @property
    def run_dir(self) -> Path:
        assert self.config.run_dir is not None
        return self.config.run_dir


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkEnv]:
    """The shared local SparkSession and its roots under a session temp dir (stopped at the end)."""
    from dtflw.local.session import SessionConfig, stop_session

    base = tmp_path_factory.mktemp("spark")
    env = SparkEnv(SessionConfig(dbfs_root=base / "dbfs", run_dir=base / "run", app_name="dtflw-tests"))
    if current_engine() == "local":  # (another engine's test run must not start a classic session)
        _ = env.spark  # start it now, so the start-up time is not charged to the first test
    try:
        yield env
    finally:
        stop_session()
