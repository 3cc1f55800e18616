"""What the run layer works with: the storage, the runtime handles, a logger and a runner.

`RunContext` is built once per flow (`init_flow`) and handed to the run layer together with
the specs; nothing in the run layer knows the `Flow` that declared them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import attrs

import dtflw.databricks as db
from dtflw.emulated.secrets import Redactor
from dtflw.errors import InvalidArgumentError
from dtflw.logger import Logger, LoggerBase
from dtflw.redaction import is_secret_name, redact_args, redact_text
from dtflw.sharing import share_arguments
from dtflw.storage.base import Storage


@runtime_checkable
class NotebookRunner(Protocol):
    """Starts a notebook and returns its exit value (Databricks' `dbutils.notebook.run` contract)."""

    def run(self, path: str, timeout_seconds: int, arguments: dict[str, str]) -> str | None: ...


@attrs.frozen
class DbutilsRunner:
    """Runs notebooks with `dbutils.notebook.run` — real, local (`LocalDbutils`) or fake.

    Goes through `dtflw.databricks.run_notebook` (as dtflw 0.6.x did), with `dbutils` or, when
    it is None, the runtime's dbutils found at call time.
    """

    dbutils: Any = None

    def run(self, path: str, timeout_seconds: int, arguments: dict[str, str]) -> str | None:
        result: str | None = db.run_notebook(path, timeout_seconds, arguments, dbutils=self.dbutils)
        return result

    def cancel(self) -> None:
        """Cancel running notebooks where the runtime can: the local runtime stops them before
        their next cell and cancels their Spark jobs. Databricks' dbutils has no such call."""
        dbutils = self.dbutils
        if dbutils is None:
            try:
                dbutils = db.get_dbutils()
            except Exception:  # no runtime: nothing to cancel
                return
        cancel = getattr(getattr(dbutils, "runtime", None), "cancel_running", None)
        if callable(cancel):
            cancel()


class RunContext:
    """What running notebooks needs: storage, spark, dbutils, logger, runner, driver path, redaction."""

    def __init__(
        self,
        storage: Storage,
        spark: Any = None,
        dbutils: Any = None,
        logger: LoggerBase | None = None,
        runner: NotebookRunner | None = None,
    ) -> None:
        if not isinstance(storage, Storage):
            raise InvalidArgumentError(
                "storage must be a dtflw Storage (e.g. dtflw.storage.dbfs.init_storage()), "
                f"got {type(storage).__name__}."
            )
        if isinstance(dbutils, (str, bytes, int, float, list, tuple, dict, set)):  # bool is an int
            raise InvalidArgumentError(
                f"dbutils must be Databricks' dbutils (or LocalDbutils / FakeDbutils), got {type(dbutils).__name__}."
            )
        if runner is not None and not isinstance(runner, NotebookRunner):
            raise InvalidArgumentError(
                "runner must have a run(path, timeout_seconds, arguments) method (a NotebookRunner), "
                f"got {type(runner).__name__}."
            )
        self.storage = storage
        self._spark = spark
        self._dbutils = dbutils
        self.logger = logger if logger is not None else Logger()
        self._runner = runner
        self._source_hashes: dict[tuple[str, int, int], str] = {}
        self._finder: tuple[Any, Any] | None = None  # (dbutils, its runtime's notebook_file or None)
        self._arg_secrets = Redactor()  # values given under secret-looking argument names

    @property
    def dbutils(self) -> Any:
        """The dbutils given, else the storage's, else the runtime's (looked up on first use)."""
        if self._dbutils is None:
            self._dbutils = self.storage._dbutils or db.get_dbutils()
        return self._dbutils

    @dbutils.setter
    def dbutils(self, value: Any) -> None:
        self._dbutils = value

    @property
    def runner(self) -> NotebookRunner:
        """Starts notebooks: the runner given, else `dbutils.notebook.run` on this context's dbutils."""
        if self._runner is None:
            self._runner = DbutilsRunner(self._dbutils if self._dbutils is not None else self.storage._dbutils)
        return self._runner

    @property
    def logger(self) -> LoggerBase:
        return self._logger

    @logger.setter
    def logger(self, value: LoggerBase) -> None:
        if not isinstance(value, LoggerBase):
            raise InvalidArgumentError(
                f"logger must be a dtflw.logger.LoggerBase (e.g. DefaultLogger()), got {type(value).__name__}."
            )
        self._logger = value

    @property
    def spark(self) -> Any:
        """The SparkSession (discovered on first use, so flows without schema checks need none)."""
        if self._spark is None:
            self._spark = self.storage.spark
        return self._spark

    @spark.setter
    def spark(self, value: Any) -> None:
        self._spark = value

    @cached_property
    def driver_path(self) -> str:
        """Workspace path of the driver notebook, read once from the notebook context."""
        return db.get_this_notebook_abs_path(self.dbutils)

    @cached_property
    def interactive(self) -> bool:
        """True when the driver runs interactively (not as a job)."""
        return db.is_job_interactive(self.dbutils)

    def notebook_abs_path(self, path: str) -> str:
        return db.resolve_notebook_path(self.driver_path, path)

    @staticmethod
    def project_path(abs_path: str) -> str:
        return db.project_relative_path(abs_path)

    def share_arguments(self, notebook_abs_path: str, values: Mapping[str, str]) -> None:
        """Share widget values through `spark.conf` (readable by anyone on the cluster, and in
        Spark's logs): secret-looking and known secret values are shared as `[REDACTED]`."""
        share_arguments(notebook_abs_path, self.redact(values))

    def remember_secrets(self, args: Mapping[str, Any]) -> None:
        """Treat the values of secret-looking arguments (`password`, `api_token`, `*_key`...) as
        known secrets from now on: masked wherever they appear (a callee's error message, its exit
        value, printed output), in every encoding, like values fetched through `dbutils.secrets`.
        Also hands them to the runtime's redactor when it has one (emulated and local dbutils)."""
        found = [v for k, v in args.items() if isinstance(v, str) and v and is_secret_name(k)]
        if not found:
            return
        dbutils = self._dbutils if self._dbutils is not None else self.storage._dbutils
        register = getattr(getattr(dbutils, "redactor", None), "register", None)
        for value in found:
            self._arg_secrets.register(value)
            if callable(register):
                register(value)

    def redact(self, args: Mapping[str, str]) -> dict[str, str]:
        shown = redact_args(args, self.dbutils)
        if not len(self._arg_secrets):
            return shown
        return {k: self._arg_secrets.redact(v) if isinstance(v, str) else v for k, v in shown.items()}

    def redact_text(self, text: str) -> str:
        shown = redact_text(text, self.dbutils)
        return self._arg_secrets.redact(shown) if len(self._arg_secrets) else shown

    def source_hash(self, abs_path: str) -> str | None:
        """SHA-256 of a notebook's source when the runtime can read it (local runtime), else None."""
        dbutils = self.dbutils
        if self._finder is None or self._finder[0] is not dbutils:  # looked up once per dbutils
            self._finder = (dbutils, getattr(getattr(dbutils, "runtime", None), "notebook_file", None))
        find = self._finder[1]
        if find is None:
            return None
        path = find(abs_path)
        if path is None:
            return None
        # A notebook's hash is asked for several times a run (decision, fingerprint, record):
        # read and hash the file once per version of it.
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in self._source_hashes:
            self._source_hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:24]
        return self._source_hashes[key]
