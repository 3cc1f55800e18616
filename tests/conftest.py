"""Shared test helpers. Fixtures `fake_dbutils`, `local_storage`, `local_flow` come from the
dtflw pytest plugin (entry point `pytest11`), exactly as users get them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# Session-wide fixtures: the local SparkSession (`spark_session`, tests marked `spark`) and
# Azurite (`azurite`, `azurite_server`, tests marked `azurite`).
pytest_plugins = ["tests.spark_fixtures", "tests.azurite"]


def write_parquet_stub(path: str) -> None:
    """Make `path` look like a finished Spark parquet output (a folder with `_SUCCESS`)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-00000.parquet").write_bytes(b"PAR1")
    (folder / "_SUCCESS").write_text("")


@pytest.fixture
def writes_outputs() -> Callable[..., Callable[[dict[str, str]], str | None]]:
    """A notebook handler that writes every `<name>_out` it receives and returns `exit_value`."""

    def make(exit_value: str | None = None) -> Callable[[dict[str, str]], str | None]:
        def handler(args: dict[str, str]) -> str | None:
            for key, value in args.items():
                if key.endswith("_out"):
                    write_parquet_stub(value)
            return exit_value

        return handler

    return make
