"""A Spark Connect server on 127.0.0.1 that dtflw starts: pyspark's own ``SparkConnectServer``
class run by its ``spark-submit``, in a separate JVM process, configured exactly as the classic
local session is (:func:`dtflw.local.session_conf.spark_conf`: Delta, catalog, warehouse and the
Databricks path mapping for the roots of the configuration it started with).

One server per process, started on first use and stopped at exit (or by :func:`stop_server`). Its
log is ``<run_dir>/connect-server/server.log``; a server that does not come up within
``START_TIMEOUT`` seconds, or exits, fails with the log's last lines.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import attrs

from dtflw.emulated.paths import PathMap
from dtflw.errors import RuntimeNotAvailableError
from dtflw.local.jars import resolve_delta_jars
from dtflw.local.session_conf import SessionConfig, _prepare_dirs, spark_conf

START_TIMEOUT = 180.0
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
_lock = threading.Lock()


@attrs.frozen
class RunningServer:
    """A started server: its URL, the roots and cloud authorities its Hadoop mapping has, the process."""

    url: str
    path_map: PathMap
    authorities: frozenset[str]
    process: subprocess.Popen[bytes] = attrs.field(eq=False, repr=False)
    log: Path


_server: RunningServer | None = None


def ensure_server(config: SessionConfig) -> RunningServer:
    """The process's server (started with ``config``, a SessionConfig, on first use)."""
    global _server
    with _lock:
        if _server is not None and _server.process.poll() is None:
            return _server
        _server = _start(config)
        atexit.register(stop_server)
        return _server


def current_server() -> RunningServer | None:
    """The running server this process started, if any."""
    with _lock:
        return _server if _server is not None and _server.process.poll() is None else None


def stop_server() -> None:
    """Stop the server this process started, if any (idempotent)."""
    global _server
    with _lock:
        server, _server = _server, None
    if server is None or server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spark_home() -> Path:
    try:
        import pyspark
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeNotAvailableError("engine 'connect' needs pyspark: pip install 'dtflw[connect]'") from error
    return Path(pyspark.__file__).resolve().parent


def _start(config: SessionConfig) -> RunningServer:
    assert config.run_dir is not None
    # Its own run dir: the Derby metastore allows one process, and a classic session may hold the other.
    server_config = attrs.evolve(config, run_dir=config.run_dir / "connect-server")
    delta = resolve_delta_jars(server_config.conf)
    _prepare_dirs(server_config)
    port = _free_port()
    conf = dict(spark_conf(server_config, delta.jars, delta.ivy_dir))
    conf["spark.connect.grpc.binding.address"] = "127.0.0.1"
    conf["spark.connect.grpc.binding.port"] = str(port)
    home = _spark_home()
    command = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--name", "dtflw-connect"]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command.append("spark-internal")
    assert server_config.run_dir is not None
    log = server_config.run_dir / "server.log"
    env = dict(os.environ, SPARK_HOME=str(home))
    env.setdefault("PYSPARK_PYTHON", sys.executable)  # Python UDFs run on the server with this interpreter
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=server_config.run_dir, start_new_session=True,  # a Ctrl-C meant for the run does not kill it first
        )  # fmt: skip
    _wait_listening(process, port, log)
    return RunningServer(f"sc://127.0.0.1:{port}", config.path_map, config.cloud_authorities, process, log)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeNotAvailableError(
                f"The Spark Connect server exited with code {process.returncode} while starting; "
                f"last lines of {log}:\n{_tail(log)}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeNotAvailableError(
        f"The Spark Connect server did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s; "
        f"last lines of {log}:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
