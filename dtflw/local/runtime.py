"""LocalRuntime: run unmodified Databricks notebooks (and whole dtflw pipelines) on this machine.

The entry notebook `dir/main.py` gets the workspace path `/Users/<user>/<dir>/main`; notebooks it
calls with `dbutils.notebook.run` or `%run` are found beside it on disk. Every notebook gets a
fresh namespace with `spark` (one shared local SparkSession with Delta, started on first use),
`dbutils` (LocalDbutils), `display`, `displayHTML` and `getArgument`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import posixpath
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

import dtflw.databricks as db
from dtflw.emulated.dbutils import EmulatedDbutils, EmulatedNotebook, Handler
from dtflw.emulated.errors import NotebookExit
from dtflw.emulated.paths import PathMap, resolve_workspace_path
from dtflw.errors import InvalidArgumentError, NotebookRunError
from dtflw.local.capture import echoing, real_stderr, routing_installed
from dtflw.local.engines import Engine, resolve_engine
from dtflw.local.engines.sessions import require_engine
from dtflw.local.interpreter import ExecEnv, execute_notebook, new_namespace, redact_output
from dtflw.local.lookup import NOTEBOOK_SUFFIXES as NOTEBOOK_SUFFIXES  # re-exported
from dtflw.local.lookup import TRIED_SUFFIXES, find_notebook_file, not_found
from dtflw.local.records import NotebookRecord, NotebookStatus
from dtflw.local.source import NotebookSourceError, parse_notebook_file
from dtflw.logger import emit
from dtflw.scoped import scoped

if TYPE_CHECKING:
    from dtflw.declare.flow import Flow

SECRET_ENV_PREFIX = "DTFLW_SECRET__"
_log = logging.getLogger(__name__)
_current_record: contextvars.ContextVar[NotebookRecord | None] = contextvars.ContextVar(
    "dtflw_local_record", default=None
)


def secrets_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Secrets given as `DTFLW_SECRET__<scope>__<key>=<value>` environment variables."""
    found: dict[str, dict[str, str]] = {}
    for name, value in (environ if environ is not None else os.environ).items():
        if name.startswith(SECRET_ENV_PREFIX):
            scope, sep, key = name[len(SECRET_ENV_PREFIX) :].partition("__")
            if sep and scope and key:
                found.setdefault(scope, {})[key] = value
    return found


def load_secrets_file(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """A JSON file `{"<scope>": {"<key>": "<value>"}}`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        # The position, never the message: a JSON error message quotes the text around it.
        where = f" at line {error.lineno}, column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise InvalidArgumentError(
            f"Secrets file {str(path)!r} could not be read as JSON: {type(error).__name__}{where}"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in data.values()
    ):
        raise InvalidArgumentError(
            f"Secrets file {str(path)!r} must hold {{scope: {{key: value}}}} with string values."
        )
    return data


class LocalNotebook(EmulatedNotebook):
    """`dbutils.notebook` of the local runtime: unregistered paths are notebook files on disk."""

    def _lookup(self, path: str, resolved: str, args: Mapping[str, str]) -> Handler:
        """Registered handlers first, then files on disk; a miss names the file and suffixes tried."""
        if resolved in self.registered():
            return super()._lookup(path, resolved, args)
        handler = self._find(resolved)
        if handler is None:
            owner = self._owner
            assert isinstance(owner, LocalDbutils)  # LocalDbutils.notebook_class is this class
            shown = resolved if path == resolved else f"{resolved} (called as {path!r})"
            message = not_found(f"notebook {shown}", owner.runtime.notebook_candidate(resolved))
            raise NotebookRunError(resolved, message, self._redacted(args))
        return handler

    def _find(self, resolved: str) -> Handler | None:
        owner = self._owner
        assert isinstance(owner, LocalDbutils)  # LocalDbutils.notebook_class is this class
        runtime = owner.runtime
        file = runtime.notebook_file(resolved)
        if file is None:
            return None
        return lambda args: runtime.execute_file(file, resolved, args)


class LocalDbutils(EmulatedDbutils):
    """The `dbutils` notebooks see in a local run (widgets, notebook, fs, secrets, jobs, context)."""

    notebook_class = LocalNotebook

    def __init__(self, runtime: LocalRuntime, path_map: PathMap, **kwargs: Any) -> None:
        self.runtime = runtime
        self._local_path_map = path_map
        super().__init__(fs_root=path_map.dbfs_root, **kwargs)

    def _make_path_map(self) -> PathMap:
        self._local_path_map.dbfs_root.mkdir(parents=True, exist_ok=True)
        return self._local_path_map


class LocalRuntime:
    """Runs notebooks locally. `run_notebook(path, params)` returns the entry notebook's exit value."""

    def __init__(
        self,
        dbfs_root: str | os.PathLike[str] = ".dtflw-run/dbfs",
        user: str = "user@example.com",
        volumes_root: str | os.PathLike[str] | None = None,
        cloud_root: str | os.PathLike[str] | None = None,
        workspace_dir: str | None = None,
        spark_conf: Mapping[str, str] | None = None,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        secrets_file: str | os.PathLike[str] | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
        engine: str | Engine | None = None,
        remote: str | None = None,
    ) -> None:
        if not isinstance(user, str) or not user.strip() or "/" in user:
            raise InvalidArgumentError(f"user must be a non-empty name without '/', got {user!r}.")
        if workspace_dir is not None and not str(workspace_dir).startswith("/"):
            raise InvalidArgumentError(f"workspace_dir must be an absolute workspace path, got {workspace_dir!r}.")
        self.engine = resolve_engine(engine, remote)  # argument, else DTFLW_ENGINE / DTFLW_REMOTE / SPARK_REMOTE
        require_engine(self.engine)  # a missing extra fails here, in one line, before anything runs
        self.user = user
        self.path_map = PathMap(Path(dbfs_root), volumes_root, cloud_root)
        self.run_dir = Path(run_dir) if run_dir is not None else self.path_map.dbfs_root.parent
        self.workspace_dir = workspace_dir
        self.spark_conf = {str(k): str(v) for k, v in (spark_conf or {}).items()}
        self.progress = progress
        self.echo = True  # the entry notebook's printed output also goes to the terminal
        merged = secrets_from_environment()
        if secrets_file is not None:
            for scope, keys in load_secrets_file(secrets_file).items():
                merged.setdefault(scope, {}).update(keys)
        for scope, given in (secrets or {}).items():
            merged.setdefault(scope, {}).update(given)
        self._secrets = merged
        self.records: list[NotebookRecord] = []
        self._records_lock = threading.Lock()
        self._spark_lock = threading.Lock()
        self._spark: Any = None
        self._cancel = threading.Event()
        self._entry_dir: Path | None = None
        self._authorities: set[str] = set()
        self.dbutils: LocalDbutils | None = None

    # ---- public -----------------------------------------------------------------------------
    def run_notebook(
        self, path: str | os.PathLike[str], params: Mapping[str, str] | None = None, timeout_seconds: int = 0
    ) -> str:
        """Run the notebook file at `path` with widget `params`; returns its exit value ("" if none).

        A failing notebook raises `NotebookRunError` naming the notebook and its error.
        """
        entry = find_notebook_file(Path(path))
        if entry is None:
            where = Path(path) if Path(path).is_absolute() else Path.cwd() / path  # relative: to the current folder
            raise InvalidArgumentError(
                f"Notebook file {str(path)!r} not found ({TRIED_SUFFIXES}; looked at {str(where)!r})"
            )
        entry = entry.resolve()
        self._entry_dir = entry.parent
        if self.workspace_dir is None:
            self.workspace_dir = f"/Users/{self.user}/{entry.parent.name}"
        ws_path = posixpath.join(self.workspace_dir, entry.stem)
        self.dbutils = LocalDbutils(self, self.path_map, user=self.user, notebook_path=ws_path, secrets=self._secrets)
        self._cancel.clear()
        try:
            with self._activated(entry.parent):
                return self.dbutils.notebook.run(ws_path, timeout_seconds, dict(params or {}))
        finally:
            self.redact_records()

    def cancel_running(self) -> None:
        """Cancel the notebooks of this run: none starts another cell, and running Spark jobs are
        cancelled (the cell waiting for one fails). Called on a flow run's first Ctrl-C."""
        self._cancel.set()
        with self._spark_lock:
            spark = self._spark
        if spark is not None:
            try:
                if self.engine.engine is Engine.LOCAL:
                    spark.sparkContext.cancelAllJobs()
                else:
                    spark.interruptAll()  # Spark Connect: every operation of this session
            except Exception as error:  # a stopped session: nothing left to cancel
                _log.debug("Cancelling Spark jobs failed: %s", error)

    def redact_records(self) -> None:
        """Redact every record with all secrets fetched by the end of the run.

        Outputs are redacted as they are recorded; this catches values recorded before the
        secret was fetched (a parent's output, a value read elsewhere) and cell sources.
        """
        if self.dbutils is None:
            return
        redact = self.dbutils.redactor.redact
        with self._records_lock:
            for record in self.records:
                redact_record(record, redact)

    def declare_flows(self, path: str | os.PathLike[str], params: Mapping[str, str] | None = None) -> list[Flow]:
        """Run a driver in declare-only mode and return the flows it declared (nothing executes).

        Driver cells after the declarations that fail (a preview needing data that is not there)
        end the driver early; what was declared up to then is returned.
        """
        from dtflw.declare.mode import declare_only

        progress, self.progress, echo, self.echo = self.progress, False, self.echo, False
        try:
            with declare_only() as flows:
                try:
                    self.run_notebook(path, params)
                except NotebookRunError as error:
                    if not any(flow.specs for flow in flows):
                        raise
                    print(f"[dtflw] driver stopped after its declarations: {error.reason}", file=real_stderr())
        finally:
            self.progress, self.echo = progress, echo
        return [flow for flow in flows if flow.specs]

    def notebook_file(self, workspace_path: str) -> Path | None:
        """The file behind a workspace notebook path (None when there is none)."""
        return find_notebook_file(self.notebook_candidate(workspace_path))

    def notebook_candidate(self, workspace_path: str) -> Path:
        """Where on disk a workspace notebook path is looked for (before adding a suffix)."""
        assert self._entry_dir is not None and self.workspace_dir is not None
        rel = posixpath.relpath(workspace_path, self.workspace_dir)
        return (self._entry_dir / rel).resolve()

    def resolve_include(self, including: Path, target: str) -> Path:
        """The file a `%run <target>` in `including` refers to."""
        if target.startswith("/"):
            candidate = self.notebook_candidate(resolve_workspace_path(target, "/"))
        else:
            candidate = (including.parent / target).resolve()
        file = find_notebook_file(candidate)
        if file is None:
            raise NotebookSourceError(f"{including.name}: " + not_found(f"%run target {target!r}", candidate))
        return file

    @property
    def spark(self) -> Any:
        """The run's SparkSession, started on first use (`runtime.spark.table(...)`): the shared local
        one on engine `local`, a Spark Connect session on `connect` and `sail`."""
        return self.get_spark()

    def get_spark(self) -> Any:
        """The shared local SparkSession (started on first use); the factory notebooks use."""
        with self._spark_lock:
            if self._spark is None:
                from dtflw.local import session

                if self.engine.engine is Engine.LOCAL:
                    self._spark = session.get_or_create_session(self._session_config())
                else:
                    from dtflw.local.engines.sessions import open_session

                    self._spark = open_session(self.engine, self._session_config())
                session.set_display_hook(self._display_hook)
            for authority in sorted(self._authorities):
                self._register_authority(authority)
            return self._spark

    # ---- execution --------------------------------------------------------------------------
    def execute_file(self, file: Path, workspace_path: str, args: Mapping[str, str]) -> str | None:
        """Run a notebook file in a fresh namespace (inside the run frame set up by notebook.run)."""
        assert self.dbutils is not None
        parent = _current_record.get()
        record = NotebookRecord(
            workspace_path, str(file), self.dbutils.notebook._redacted(args), parent=parent.id if parent else None
        )
        with self._records_lock:
            self.records.append(record)
            record.id = len(self.records)
        self._progress(f"started  {workspace_path}")
        try:
            notebook = parse_notebook_file(file)
            self._note_authorities(file)
            env = ExecEnv(
                self.dbutils, self.get_spark, self.resolve_include, cancelled=self._cancel.is_set,
                engine=self.engine.engine.value,
            )  # fmt: skip
            with scoped(_current_record, record), echoing(parent is None and self.echo):
                execute_notebook(notebook, file, new_namespace(env), env, record)
        except NotebookExit as exit_:
            record.exit_value = self.dbutils.redactor.redact(exit_.value)
            record.finish(NotebookStatus.SUCCEEDED)
            self._progress(f"finished {workspace_path} ({record.seconds:.1f} s)")
            raise
        except BaseException as error:
            record.finish(
                NotebookStatus.FAILED, self.dbutils.redactor.redact(f"{type(error).__name__}: {_reason(error)}")
            )
            headline = (record.error or "").strip().splitlines()[:1]  # the full text is in the summary and report
            self._progress(f"FAILED   {workspace_path} ({record.seconds:.1f} s): {''.join(headline)}")
            raise
        record.finish(NotebookStatus.SUCCEEDED)
        self._progress(f"finished {workspace_path} ({record.seconds:.1f} s)")
        return None

    # ---- helpers ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _activated(self, entry_dir: Path) -> Iterator[None]:
        """Install this runtime: dbutils seam, routed output, entry folder on sys.path and as cwd."""
        from dtflw.local.dbfs_files import dbfs_mapped

        assert self.dbutils is not None
        old_cwd = os.getcwd()
        sys.path.insert(0, str(entry_dir))
        os.chdir(entry_dir)
        try:
            with (
                db.use_runtime(dbutils=self.dbutils, spark_factory=self.get_spark),
                routing_installed(self.dbutils.redactor.redact),
                dbfs_mapped(self.path_map.dbfs_root),  # open("/dbfs/...") & co. reach the DBFS root
            ):
                yield
        finally:
            os.chdir(old_cwd)
            with contextlib.suppress(ValueError):
                sys.path.remove(str(entry_dir))

    def _session_config(self) -> Any:
        from dtflw.local.session import SessionConfig

        return SessionConfig(
            dbfs_root=self.path_map.dbfs_root,
            volumes_root=self.path_map.volumes_root,
            cloud_root=self.path_map.cloud_root,
            run_dir=self.run_dir.resolve(),
            conf=dict(self.spark_conf),
            cloud_authorities=frozenset(self._authorities),
        )

    def _note_authorities(self, file: Path) -> None:
        from dtflw.local.session import authorities_in_text

        found = authorities_in_text(file.read_text(encoding="utf-8", errors="replace"))
        new = found - self._authorities
        if new:
            self._authorities |= new
            if self._spark is not None:
                for authority in sorted(new):
                    self._register_authority(authority)

    @property
    def cloud_authorities(self) -> frozenset[str]:
        """Azure `<container>@<host>` authorities mapped for Spark I/O in this run."""
        return frozenset(self._authorities)

    def register_cloud_authority(self, authority: str) -> None:
        """Map `<container>@<account>.dfs.core.windows.net` (or blob) for Spark I/O."""
        self._authorities.add(authority)
        if self._spark is not None:
            self._register_authority(authority)

    def _register_authority(self, authority: str) -> None:
        if self.engine.engine is not Engine.LOCAL:
            from dtflw.local.engines.sessions import register_authority

            register_authority(self._spark, self.engine, authority, self.path_map)
            return
        from dtflw.local.session import register_cloud_authority

        register_cloud_authority(self._spark, authority, self.path_map)

    def _display_hook(self, df: Any) -> None:
        from dtflw.local.interpreter import display

        display(df)

    def _progress(self, message: str) -> None:
        """One progress line: through logging ("dtflw.local") when configured, else to stderr."""
        if self.progress:
            emit(logging.INFO, f"[dtflw] {message}", stream=real_stderr(), logger=_log)


def redact_record(record: NotebookRecord, redact: Callable[[str], str]) -> None:
    """Redact, in place, every text of a notebook record that goes into the report."""
    record.arguments = {k: redact(v) for k, v in record.arguments.items()}
    if record.exit_value is not None:
        record.exit_value = redact(record.exit_value)
    if record.error is not None:
        record.error = redact(record.error)
    for cell in record.cells:
        source = redact(cell.cell.source)
        title = redact(cell.cell.title) if cell.cell.title is not None else None
        if source != cell.cell.source or title != cell.cell.title:
            cell.cell = attrs.evolve(cell.cell, source=source, title=title)
        cell.outputs = [redact_output(o, redact) for o in cell.outputs]


def _reason(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return str(error.code)
    return error.reason if isinstance(error, NotebookRunError) else str(error)
