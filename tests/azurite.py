"""Session-scoped Azurite for the Azure storage tests (registered as a plugin by tests/conftest.py).

The server is the repository's `node_modules/.bin/azurite-blob`, installed by `make test`; if it
is missing the tests fail (they are never skipped: CI installs it). Start/stop logic lives in
`dtflw.testing.azurite`, shared with the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dtflw.testing.azurite import Azurite

REPO = Path(__file__).resolve().parents[1]
BINARY = REPO / "node_modules" / ".bin" / "azurite-blob"


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[Azurite]:
    """A running Azurite blob server on 127.0.0.1 (free port, temporary data folder)."""
    if not BINARY.exists():
        pytest.fail(
            f"Azurite is not installed ({BINARY} is missing): run `make test`, which installs it "
            "(or `make node_modules/.bin/azurite`).",
            pytrace=False,
        )
    with Azurite(BINARY) as server:
        yield server


@pytest.fixture(scope="session")
def azurite(azurite_server: Azurite) -> str:
    """The connection string of the session's Azurite (public development account and key)."""
    return azurite_server.connection_string
