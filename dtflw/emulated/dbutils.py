"""``EmulatedDbutils``: an in-process Databricks ``dbutils`` (base of FakeDbutils and LocalDbutils).

Notebooks are Python callables registered by workspace path (subclasses may also find them on
disk, see ``EmulatedNotebook._find``); ``notebook.run`` dispatches to them
with per-run widgets and context (``contextvars``), so nested and concurrent runs behave as on
Databricks. Threads a handler starts itself begin with a fresh context and see the driver's view.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import itertools
import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from dtflw.emulated import help as _help
from dtflw.emulated.context import EntryPoint, NotebookContext
from dtflw.emulated.errors import NotebookExit
from dtflw.emulated.fs import EmulatedFs
from dtflw.emulated.paths import PathMap, resolve_workspace_path
from dtflw.emulated.secrets import Redactor, Secrets
from dtflw.emulated.task_values import TaskValues
from dtflw.emulated.widgets import Widgets
from dtflw.errors import InvalidArgumentError, InvalidTypeError, NotebookRunError, NotebookTimeoutError
from dtflw.redaction import is_secret_name, redact_args, redact_exception
from dtflw.scoped import scoped

#: A fake notebook: gets the run's arguments, returns the exit value (``None`` means ``""``).
Handler = Callable[[dict[str, str]], Any]


class NotebookCall(NamedTuple):
    """One ``notebook.run`` call as made (``path`` exactly as passed, not resolved)."""

    path: str
    timeout_seconds: float
    arguments: dict[str, str]


_log = logging.getLogger(__name__)


@attrs.frozen
class _Frame:
    """What one run sees: its notebook path, widgets and run id."""

    notebook_path: str
    widgets: Widgets
    run_id: str | None = None


def _check_arguments(arguments: Mapping[str, str] | None) -> dict[str, str]:
    """Copy run arguments; keys and values must be strings, as on Databricks."""
    if arguments is None:
        return {}
    if not isinstance(arguments, Mapping):
        raise InvalidTypeError(f"arguments must be a mapping of str to str, got {type(arguments).__name__}")
    for key, value in arguments.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidTypeError(f"notebook.run arguments must be str -> str; got {key!r}: {type(value).__name__}")
    return dict(arguments)


#: How long a new run of a notebook waits for its earlier, timed-out run to end (see `_await_abandoned`).
ABANDONED_WAIT_SECONDS = 60.0
#: Databricks takes the timeout as a Java int.
MAX_TIMEOUT_SECONDS = 2**31 - 1


def _check_timeout(timeout_seconds: float) -> float:
    """``timeout_seconds`` is a number from 0 to ``MAX_TIMEOUT_SECONDS``; 0 means no timeout."""
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, (int, float)):
        raise InvalidTypeError(f"timeout_seconds must be a number, got {timeout_seconds!r}")
    if not 0 <= timeout_seconds <= MAX_TIMEOUT_SECONDS:  # also NaN
        raise InvalidArgumentError(
            f"timeout_seconds must be from 0 (no timeout) to {MAX_TIMEOUT_SECONDS} (a Java int on "
            f"Databricks), got {timeout_seconds}"
        )
    return timeout_seconds


class _Outcome:
    """Result holder for a handler run in a worker thread."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


class EmulatedNotebook:
    """``dbutils.notebook``: register handlers, run them (or notebooks found by ``_find``), exit, context."""

    def __init__(self, owner: EmulatedDbutils) -> None:
        self._owner = owner
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self.calls: list[NotebookCall] = []
        self.entry_point = owner.entry_point
        self._abandoned: dict[str, threading.Thread] = {}  # notebook -> a timed-out run still going

    def __repr__(self) -> str:
        return f"{type(self).__name__}(registered={self.registered()!r})"

    def register(self, path: str, handler: Handler) -> None:
        """Register ``handler`` for ``path`` (relative paths resolve against the driver's folder)."""
        if not callable(handler):
            raise InvalidArgumentError(f"Handler for notebook {path!r} must be callable, got {handler!r}")
        resolved = resolve_workspace_path(path, self._owner.notebook_path)
        with self._lock:
            self._handlers[resolved] = handler

    def registered(self) -> list[str]:
        """Absolute paths of all registered notebooks, sorted."""
        with self._lock:
            return sorted(self._handlers)

    def run(self, path: str, timeout_seconds: float, arguments: Mapping[str, str] | None = {}) -> str:
        """Run the handler registered for ``path`` and return its exit value as a string."""
        timeout = _check_timeout(timeout_seconds)
        args = _check_arguments(arguments)
        for name, value in args.items():  # a secret-looking argument's value is a secret from now on
            if value and is_secret_name(name):
                self._owner.redactor.register(value)
        with self._lock:
            self.calls.append(NotebookCall(path, timeout_seconds, dict(args)))
        resolved = resolve_workspace_path(path, self._owner._frame().notebook_path)
        handler = self._lookup(path, resolved, args)
        self._await_abandoned(resolved)
        frame = _Frame(resolved, Widgets(args), self._owner._next_run_id())
        failure: tuple[NotebookRunError, BaseException] | None = None
        try:
            outcome = self._invoke(handler, frame, args, timeout)
        except NotebookExit as exit_:
            return exit_.value
        except (Exception, SystemExit) as error:  # sys.exit() in a notebook fails it; Ctrl-C propagates
            failure = self._failure(resolved, error, args)
        if failure is not None:
            # Raised outside the handler so `__context__` does not keep the unredacted original.
            raise failure[0] from failure[1]
        if outcome is None:
            raise NotebookTimeoutError(resolved, timeout, self._redacted(args))
        return "" if outcome.value is None else str(outcome.value)

    def exit(self, value: Any) -> None:
        """End the current notebook with ``value`` (``str()``-ed); raises ``NotebookExit``.

        Outside a run it raises too: there is no notebook to end, the caller sees the exception.
        """
        raise NotebookExit(str(value))

    def getContext(self) -> NotebookContext:
        """The context of the calling run (newer DBRs expose this directly)."""
        return self._owner.context()

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.notebook`` (or one of them); returns ``None``."""
        return _help.print_help(_help.NOTEBOOK, method_name)

    # -- helpers -----------------------------------------------------------------------------

    def _lookup(self, path: str, resolved: str, args: Mapping[str, str]) -> Handler:
        """The handler for ``resolved``, else ``NotebookRunError`` listing what is registered."""
        with self._lock:
            handler = self._handlers.get(resolved)
        if handler is None:
            handler = self._find(resolved)
        if handler is None:
            with self._lock:
                known = sorted(self._handlers)
            shown = resolved if path == resolved else f"{resolved} (called as {path!r})"
            raise NotebookRunError(
                resolved,
                f"notebook {shown} not found; registered notebooks: {known or 'none'}",
                self._redacted(args),
            )
        return handler

    def _find(self, resolved: str) -> Handler | None:
        """A handler for an unregistered notebook (none here; LocalDbutils looks on disk)."""
        return None

    def _invoke(self, handler: Handler, frame: _Frame, args: dict[str, str], timeout: float) -> _Outcome | None:
        """Call the handler inside ``frame``, in a worker thread when a timeout applies.

        Returns the outcome (handler errors are re-raised here), or ``None`` on timeout; the
        abandoned worker keeps running in the background (threads cannot be killed).
        """
        context = contextvars.copy_context()
        call = lambda: self._in_frame(handler, frame, args)  # noqa: E731
        outcome = _Outcome()
        if not timeout:
            outcome.value = context.run(call)
            return outcome
        worker = threading.Thread(
            target=context.run,
            args=(self._capture, call, outcome),
            name=f"notebook {frame.notebook_path}",
            daemon=True,
        )
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            with self._lock:
                self._abandoned[frame.notebook_path] = worker
            return None
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def _await_abandoned(self, resolved: str) -> None:
        """Before running `resolved` again (a retry after a timeout), wait for its timed-out run
        to end: Databricks stops a timed-out run, but Python threads cannot be stopped, and the
        two would write the same outputs at once. Waits up to `ABANDONED_WAIT_SECONDS`, then
        warns and goes on."""
        with self._lock:
            earlier = self._abandoned.pop(resolved, None)
        if earlier is None or not earlier.is_alive():
            return
        earlier.join(ABANDONED_WAIT_SECONDS)
        if earlier.is_alive():
            _log.warning(
                "dtflw: an earlier run of %s timed out and is still running in the background (a handler "
                "cannot be stopped); its writes may mix with this run's",
                resolved,
            )

    def _in_frame(self, handler: Handler, frame: _Frame, args: dict[str, str]) -> Any:
        """Run the handler with ``frame`` as the current run (restored afterwards)."""
        with scoped(self._owner._current, frame):
            return handler(dict(args))

    @staticmethod
    def _capture(call: Callable[[], Any], outcome: _Outcome) -> None:
        """Worker-thread body: keep the result or the exception for the waiting caller."""
        try:
            outcome.value = call()
        except BaseException as error:  # re-raised in the caller's thread
            outcome.error = error

    def _failure(
        self, resolved: str, error: Exception | SystemExit, args: Mapping[str, str]
    ) -> tuple[NotebookRunError, BaseException]:
        """The `NotebookRunError` for a failed handler and its cause, both free of secrets.

        The cause is the handler's exception with its whole chain redacted (`redact_exception`).
        A `sys.exit(code)` shows as ``SystemExit: <code>`` (``None`` when no code was given).
        """
        redact = self._owner.redactor.redact
        detail = str(error.code) if isinstance(error, SystemExit) else str(error)
        message = redact(f"{type(error).__name__}: {detail}")
        return NotebookRunError(resolved, message, self._redacted(args)), redact_exception(error, redact)

    def _redacted(self, args: Mapping[str, str]) -> dict[str, str]:
        """Arguments with secret-looking names and values and fetched secret values hidden."""
        return redact_args(args, self._owner)


class EmulatedJobs:
    """``dbutils.jobs``: holds ``taskValues``."""

    def __init__(self, task_values: TaskValues) -> None:
        self.taskValues = task_values

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.jobs`` (or one of them); returns ``None``."""
        return _help.print_help(_help.JOBS, method_name)


class EmulatedLibrary:
    """``dbutils.library``: ``restartPython()`` (a no-op locally) and the removed ``installPyPI``."""

    def restartPython(self) -> None:  # noqa: N802 - Databricks' name
        """Locally a no-op: the Python process is not restarted and keeps its variables and imports.

        Packages installed meanwhile (``%pip install`` into the runtime's environment) are importable
        afterwards, since the import caches are invalidated; modules imported before keep their old
        version (Databricks would load the new one after the restart).
        """
        importlib.invalidate_caches()

    def installPyPI(self, project: str, version: str = "", repo: str = "", extras: str = "") -> bool:  # noqa: N802
        """Removed from Databricks Runtime 11 on; raises as there."""
        raise NotImplementedError(
            "dbutils.library.installPyPI is not supported (removed in Databricks Runtime 11.0 and above); "
            f"use %pip install {project}{'==' + version if version else ''} instead."
        )

    def install(self, path: str) -> bool:
        """Removed from Databricks Runtime 11 on; raises as there."""
        raise NotImplementedError(
            "dbutils.library.install is not supported (removed in Databricks Runtime 11.0 and above); "
            f"use %pip install {path} instead."
        )

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils.library`` (or one of them); returns ``None``."""
        return _help.print_help(_help.LIBRARY, method_name)


class EmulatedDbutils:
    """A ``dbutils``: real widgets/fs/secrets/task values, per-run state, notebooks as callables."""

    notebook_class: type[EmulatedNotebook] = EmulatedNotebook

    def __init__(
        self,
        user: str = "user@example.com",
        notebook_path: str | None = None,
        fs_root: str | Path | None = None,
        secrets: Mapping[str, Mapping[str, str]] | None = None,
        widgets: Mapping[str, str] | None = None,
        job_tags: Mapping[str, str] | None = None,
    ) -> None:
        self.user = self._check_user(user)
        self.notebook_path = self._check_notebook_path(notebook_path, self.user)
        self.job_tags = self._check_tags(job_tags)
        if fs_root is not None and not isinstance(fs_root, (str, os.PathLike)):
            raise InvalidTypeError(f"fs_root must be a folder path, got {type(fs_root).__name__}")
        if secrets is not None and not isinstance(secrets, Mapping):
            raise InvalidTypeError(f"secrets must map scope -> {{key: value}}, got {type(secrets).__name__}")
        self._fs_root = None if fs_root is None else Path(fs_root)
        self._fs: EmulatedFs | None = None
        self._fs_lock = threading.Lock()
        self._run_ids = itertools.count(1)
        self._root = _Frame(self.notebook_path, Widgets(widgets))
        self._current: contextvars.ContextVar[_Frame | None] = contextvars.ContextVar(
            f"dtflw_fake_dbutils_{id(self)}", default=None
        )
        self.redactor = Redactor()
        self.secrets = Secrets(secrets, redactor=self.redactor)
        task_key = self.job_tags.get("taskKey", "main")
        self.jobs = EmulatedJobs(TaskValues(in_job=bool(self.job_tags), task_key=task_key))
        self.entry_point = EntryPoint(self.context)
        self.library = EmulatedLibrary()
        self.notebook = self.notebook_class(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self.user!r}, notebook_path={self.notebook_path!r})"

    def help(self, method_name: str = "") -> None:
        """Print the methods of ``dbutils`` (or one of them); returns ``None``."""
        return _help.print_help(_help.DBUTILS, method_name)

    # -- validation --------------------------------------------------------------------------

    @staticmethod
    def _check_user(user: str) -> str:
        if not isinstance(user, str) or not user.strip():
            raise InvalidArgumentError(f"user must be a non-empty str, got {user!r}")
        return user

    @staticmethod
    def _check_notebook_path(notebook_path: str | None, user: str) -> str:
        if notebook_path is None:
            return f"/Users/{user}/project/main"
        if not isinstance(notebook_path, str) or not notebook_path.startswith("/"):
            raise InvalidArgumentError(
                f"notebook_path must be an absolute workspace path like '/Users/{user}/nb', got {notebook_path!r}"
            )
        return resolve_workspace_path(notebook_path, notebook_path)

    @staticmethod
    def _check_tags(job_tags: Mapping[str, str] | None) -> dict[str, str]:
        if job_tags is not None and not isinstance(job_tags, Mapping):
            raise InvalidTypeError(f"job_tags must be a mapping of str to str, got {type(job_tags).__name__}")
        tags = dict(job_tags or {})
        for key, value in tags.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidArgumentError(f"job_tags must be str -> str, got {key!r}: {value!r}")
        return tags

    # -- per-run state -----------------------------------------------------------------------

    def widget_overlay(self, values: Mapping[str, str]) -> contextlib.AbstractContextManager[Any]:
        """Run a block (an inline `%run`) with the current widgets plus `values` as arguments."""
        frame = self._frame()
        merged = {**frame.widgets.getAll(), **_check_arguments(values)}
        return scoped(self._current, attrs.evolve(frame, widgets=Widgets(merged)))

    def _frame(self) -> _Frame:
        """The run active in the calling context, else the driver notebook."""
        return self._current.get() or self._root

    def _next_run_id(self) -> str:
        return str(next(self._run_ids))

    @property
    def widgets(self) -> Widgets:
        """Widgets of the run active in the calling thread (the driver's outside any run)."""
        return self._frame().widgets

    def context(self) -> NotebookContext:
        """The notebook context of the run active in the calling thread."""
        frame = self._frame()
        return NotebookContext(
            notebook_path=frame.notebook_path,
            user=self.user,
            tags=self.job_tags,
            current_run_id=frame.run_id,
        )

    # -- file system -------------------------------------------------------------------------

    @property
    def fs(self) -> EmulatedFs:
        """``dbutils.fs``; without ``fs_root`` a temporary folder is created on first use."""
        with self._fs_lock:
            if self._fs is None:
                self._fs = EmulatedFs(self._make_path_map())
            return self._fs

    @property
    def path_map(self) -> PathMap:
        """How ``fs`` maps Databricks paths to local ones (creates the temp root if needed)."""
        return self.fs.path_map

    def _make_path_map(self) -> PathMap:
        """``PathMap`` over ``fs_root``, or over a temp folder removed with this object."""
        if self._fs_root is not None:
            self._fs_root.mkdir(parents=True, exist_ok=True)
            return PathMap(self._fs_root)
        base = Path(tempfile.mkdtemp(prefix="dtflw-fake-dbutils-"))
        weakref.finalize(self, shutil.rmtree, base, ignore_errors=True)
        (base / "dbfs").mkdir()
        return PathMap(base / "dbfs", cloud_root=base / "cloud")
