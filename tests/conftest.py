"""Shared test set-up. Fixtures `fake_dbutils`, `local_storage`, `local_flow` and `writes_outputs`
come from the dtflw pytest plugin (entry point `pytest11`), exactly as users get them."""

from __future__ import annotations

# Session-wide fixtures only this repository's suite needs: the local SparkSession
# (`spark_session`, tests marked `spark`) and Azurite (`azurite`, `azurite_server`, tests marked
# `azurite`), and the lineage tests' SVG readers (`lineage`). Test modules ask for them by fixture
# name and never import these files.
pytest_plugins = ["tests.spark_fixtures", "tests.azurite", "tests.lineage_support"]
