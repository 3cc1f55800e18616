"""Azurite, the Azure Storage emulator, for tests and benchmarks: start, wait, stop.

`Azurite` is a context manager around the `azurite-blob` server from `node_modules/.bin`
(installed by `make`, from the repository's package.json). It listens on 127.0.0.1 on a free
port, keeps its data in a temporary folder, skips the API-version check (newer SDKs send
versions Azurite does not know yet) and sends no telemetry. The server binary is started
directly, in its own process group, so stopping it stops everything it started.

The account is Azurite's development account, whose key is public and documented; it is fine
in tests and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dtflw.errors import StorageError

DEV_ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key (public; accepted by the emulator only).
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
BINARY_ENV = "DTFLW_AZURITE_BLOB"
_RELATIVE_BINARY = Path("node_modules") / ".bin" / "azurite-blob"
_INSTALL_HINT = "run `make test` (or `make node_modules/.bin/azurite`) in the dtflw repository to install it"


class RequestCounter:
    """An azure-storage-blob `raw_request_hook` that counts the HTTP requests a client sends.

    counter = RequestCounter()
    AzureStorage(..., client_options={"raw_request_hook": counter})
    storage.exists(path); assert counter.take() == 1
    """

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: object) -> None:
        self.count += 1

    def take(self) -> int:
        """Requests since the last call (and start counting again)."""
        count, self.count = self.count, 0
        return count


def find_binary(start: Path | None = None) -> Path | None:
    """`$DTFLW_AZURITE_BLOB`, else `node_modules/.bin/azurite-blob` in `start` (cwd) or a parent."""
    if os.environ.get(BINARY_ENV):
        return Path(os.environ[BINARY_ENV])
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / _RELATIVE_BINARY).exists():
            return candidate / _RELATIVE_BINARY
    return None


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Azurite:
    """A running Azurite blob server: `with Azurite() as server: server.connection_string`."""

    host = "127.0.0.1"

    def __init__(self, binary: str | Path | None = None, in_memory: bool = False, start_timeout: float = 30.0) -> None:
        found = Path(binary) if binary is not None else find_binary()
        if found is None or not found.exists():
            raise StorageError(
                f"Azurite's server `azurite-blob` was not found ({found or _RELATIVE_BINARY}): {_INSTALL_HINT}."
            )
        self.binary = found
        self.in_memory = in_memory
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._process else "stopped"
        return f"Azurite({state}, account={DEV_ACCOUNT!r})"

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses --------------------------------------------------------------------------
    @property
    def blob_endpoint(self) -> str:
        """The account URL (Azurite puts the account name in the path)."""
        return f"http://{self.host}:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """A connection string for the development account on this server."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server on a free port and wait until it answers (a few tries on port races)."""
        self._folder = Path(tempfile.mkdtemp(prefix="dtflw-azurite-"))
        for _ in range(3):
            self.port = _free_port(self.host)
            self._process = self._spawn()
            if self._wait_ready():
                return
            self._terminate()
        log = self._log_tail()
        self.stop()
        raise StorageError(f"Azurite did not start within {self.start_timeout:g}s; its log ends with:\n{log}")

    def stop(self) -> None:
        """Stop the server's process group and remove its data folder."""
        self._terminate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        assert self._folder is not None
        args = [
            str(self.binary),
            "--blobHost",
            self.host,
            "--blobPort",
            str(self.port),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]
        args += ["--inMemoryPersistence"] if self.in_memory else ["--location", str(self._folder / "data")]
        with open(self._folder / "azurite.log", "ab") as log:
            return subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _wait_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if _answers(self.host, self.port):
                return True
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _log_tail(self) -> str:
        log = self._folder / "azurite.log" if self._folder else None
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:])

    # ---- helpers for tests and benchmarks -----------------------------------------------------
    def container(self, name: str, **client_options: Any) -> Any:
        """A ContainerClient for container `name` on this server, created if missing."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContainerClient

        client = ContainerClient.from_connection_string(self.connection_string, name, **client_options)
        try:
            client.create_container()
        except ResourceExistsError:
            pass
        return client


def put_blobs(
    container: Any, names: Iterable[str], data: bytes = b"x", workers: int = 16, metadata: dict[str, str] | None = None
) -> int:
    """Upload a small blob under each name, in parallel; returns how many were written."""

    def put(name: str) -> None:
        container.upload_blob(name, data, overwrite=True, metadata=metadata)

    with ThreadPoolExecutor(workers) as pool:
        return sum(1 for _ in pool.map(put, names))
