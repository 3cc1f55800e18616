"""Executing a parsed notebook's cells the way a Databricks Python or SQL notebook would.

Python cells run in the notebook's namespace; `%sql` cells and the cells of a SQL notebook run
through `spark.sql` (with `CREATE WIDGET` handled here); `%run` executes another notebook inline
in the same namespace; `%md` is kept for the report; `%fs` calls `dbutils.fs`; `%scala` and `%r`
fail the notebook; `%pip`, `%sh` and unknown magics are not run and leave a warning (in the
report and on stderr).
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import re
import shlex
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from dtflw.emulated.errors import NotebookExit
from dtflw.errors import NotebookCancelledError
from dtflw.local.capture import captured, is_echoing, real_stderr, real_stdout
from dtflw.local.cells import unsupported_language
from dtflw.local.records import CellRecord, CellStatus, NotebookRecord, Output
from dtflw.local.source import Cell, Notebook, parse_notebook_file, parse_run_directive
from dtflw.local.sqltext import WidgetStatement, bind_widgets, parse_widget_statement, split_sql
from dtflw.local.tabular import render_table, table_of
from dtflw.scoped import scoped

_current_cell: contextvars.ContextVar[CellRecord | None] = contextvars.ContextVar("dtflw_cell", default=None)
_current_buffer: contextvars.ContextVar[Any] = contextvars.ContextVar("dtflw_cell_buffer", default=None)
# The running notebook's secret redactor: every output kept for the report or echoed passes it.
_redact: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar("dtflw_redact", default=None)


def redactor_of(dbutils: Any) -> Callable[[str], str]:
    """`dbutils.redactor.redact`, or the identity for a dbutils without one."""
    redactor = getattr(dbutils, "redactor", None)
    return redactor.redact if redactor is not None else (lambda text: text)


def redact_output(output: Output, redact: Callable[[str], str]) -> Output:
    """`output` with its text and every string in its data redacted."""
    data = {k: redact(v) if isinstance(v, str) else v for k, v in output.data.items()}
    return Output(output.kind, redact(output.text), data)


SPARK_GLOBALS = ("spark", "sc", "sqlContext", "sql", "table", "udf")


@attrs.frozen
class ExecEnv:
    """What executing cells needs from the runtime."""

    dbutils: Any
    get_spark: Callable[[], Any]
    resolve_include: Callable[[Path, str], Path]  # (including file, %run path) -> notebook file
    display_rows: int = 100
    cancelled: Callable[[], bool] = lambda: False  # True once the run is cancelled: no further cell starts
    engine: str = "local"  # the Spark engine (`sc` and `sqlContext` exist on "local" only)


class NotebookNamespace(dict[str, Any]):
    """A notebook's globals; `spark` and friends are created on first use, so notebooks that
    never touch Spark never pay for starting it."""

    def __init__(self, env: ExecEnv, **values: Any) -> None:
        super().__init__(**values)
        self._env = env

    def __missing__(self, name: str) -> Any:
        if name not in SPARK_GLOBALS:
            raise KeyError(name)
        spark = self._env.get_spark()
        from pyspark.sql import SQLContext, functions

        provided = {"spark": spark, "sql": spark.sql, "table": spark.table, "udf": functions.udf}
        if self._env.engine == "local":
            provided.update(sc=spark.sparkContext, sqlContext=SQLContext(spark.sparkContext, spark))
        else:  # Spark Connect: no SparkContext; using one says so, naming the engine
            from dtflw.local.engines.guards import SC_INSTEAD, Unavailable

            for handle in ("sc", "sqlContext"):
                provided[handle] = Unavailable(self._env.engine, handle, SC_INSTEAD)
        for key, value in provided.items():
            self.setdefault(key, value)
        return self[name]


def new_namespace(env: ExecEnv) -> NotebookNamespace:
    """A fresh namespace with the globals Databricks injects into a Python notebook."""
    dbutils = env.dbutils
    return NotebookNamespace(
        env,
        __name__="__main__",
        dbutils=dbutils,
        display=lambda *args, **kwargs: display(*args, rows=env.display_rows),
        displayHTML=display_html,
        getArgument=dbutils.widgets.getArgument,
    )


# ---- display ---------------------------------------------------------------------------------
def _emit(output: Output) -> None:
    redact = _redact.get()
    if redact is not None:
        output = redact_output(output, redact)
    cell = _current_cell.get()
    if cell is None:
        print(output.text)
        return
    _flush_stream(cell)
    cell.outputs.append(output)
    if output.kind == "warning":
        print(f"[dtflw] warning: {output.text}", file=real_stderr(), flush=True)
    elif is_echoing() and output.kind in ("html", "text"):
        print(output.text, file=real_stdout(), flush=True)


def _flush_stream(cell: CellRecord) -> None:
    buffer = _current_buffer.get()
    if buffer is not None and buffer.getvalue():
        cell.outputs.append(Output("stream", buffer.getvalue()))
        buffer.seek(0)
        buffer.truncate()


def display(obj: Any = None, *args: Any, rows: int = 100) -> None:
    """Databricks' `display`: DataFrames, pandas DataFrames, lists of records (`Row`s,
    `dbutils.fs.ls` entries, dicts) and dicts as tables, objects with `_repr_html_` as HTML."""
    if obj is None:
        return
    if hasattr(obj, "schema") and hasattr(obj, "take"):
        _emit(dataframe_output(obj, rows))
    elif (table := table_of(obj, rows)) is not None:
        (names, values), truncated = table
        text, markup = render_table(names, values, truncated, rows)
        _emit(Output("html", text, {"text/html": markup}))
    elif hasattr(obj, "_repr_html_"):
        _emit(Output("html", repr(obj), {"text/html": obj._repr_html_()}))
    else:
        _emit(Output("text", repr(obj)))


def display_html(markup: str) -> None:
    """Databricks' `displayHTML`."""
    _emit(Output("html", "<HTML>", {"text/html": str(markup)}))


def dataframe_output(df: Any, rows: int) -> Output:
    """An HTML table (and a plain-text one) of the first `rows` rows of a Spark DataFrame."""
    names = [f.name for f in df.schema.fields]
    taken = df.take(rows + 1)
    text, markup = render_table(names, [list(row) for row in taken[:rows]], len(taken) > rows, rows)
    return Output("html", text, {"text/html": markup})


# ---- cells -----------------------------------------------------------------------------------
def execute_notebook(nb: Notebook, file: Path, ns: NotebookNamespace, env: ExecEnv, record: NotebookRecord) -> None:
    """Run every cell in order; a failing cell is recorded (with traceback) and re-raised.

    Everything recorded (displays, errors, tracebacks) is redacted with `env.dbutils`' redactor.
    """
    with scoped(_redact, redactor_of(env.dbutils)):
        for cell in nb.cells:
            if env.cancelled():
                raise NotebookCancelledError(f"Run cancelled: cell {cell.index + 1} and after were not run.")
            cell_record = CellRecord(cell)
            record.cells.append(cell_record)
            _run_recorded(cell, cell_record, file, ns, env, record)


def _run_recorded(
    cell: Cell, cell_record: CellRecord, file: Path, ns: NotebookNamespace, env: ExecEnv, record: NotebookRecord
) -> None:
    started = time.monotonic()
    with scoped(_current_cell, cell_record), captured() as buffer, scoped(_current_buffer, buffer):
        try:
            run_cell(cell, file, ns, env, record)
            cell_record.status = CellStatus.OK
        except NotebookExit:
            cell_record.status = CellStatus.EXITED
            raise
        except BaseException as error:
            cell_record.status = CellStatus.ERROR
            _record_error(error, cell, cell_record, file, record)
            raise
        finally:
            _flush_stream(cell_record)
            cell_record.seconds = time.monotonic() - started


def _record_error(
    error: BaseException, cell: Cell, cell_record: CellRecord, file: Path, record: NotebookRecord
) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if f.filename == str(file)]
    redact = _redact.get() or (lambda text: text)
    text = redact("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    evalue = redact(str(error))
    cell_record.outputs.append(Output("error", text, {"ename": type(error).__name__, "evalue": evalue}))
    if record.error_cell is None:
        record.error_cell = cell.index
        record.error_line = own[-1].lineno if own else cell.first_line


def run_cell(cell: Cell, file: Path, ns: NotebookNamespace, env: ExecEnv, record: NotebookRecord) -> None:
    """Dispatch one cell on its kind."""
    if _only_magic_lines(cell):
        _warn(file, cell, "only MAGIC lines, no %magic word; nothing was run.")
    elif cell.kind == "python":
        run_python(cell, file, ns)
    elif cell.kind == "md":
        _emit(Output("markdown", cell.source))
    elif cell.kind == "sql":
        run_sql(cell.source, ns, env)
    elif cell.kind == "run":
        run_include(cell, file, ns, env, record)
    elif cell.kind == "fs":
        run_fs(cell.source, env)
    elif cell.kind in ("scala", "r"):
        raise unsupported_language(cell.kind, "cells", f"{file}, cell {cell.index + 1}, line {cell.first_line}")
    elif cell.kind == "pip":
        _warn(file, cell, pip_warning(cell.source))
    elif cell.kind == "sh":
        _warn(file, cell, f"%sh is not run by the local runtime; skipped: {cell.source.strip()}")
    else:
        _warn(file, cell, f"%{cell.magic or cell.kind} cells are not supported locally; skipped.")


_MAGIC_LINE = re.compile(r"(#|--|//) MAGIC(\s|\Z)")


def _only_magic_lines(cell: Cell) -> bool:
    """A code cell made of nothing but MAGIC-prefixed lines: a magic cell whose magic was lost."""
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return cell.magic is None and bool(lines) and all(_MAGIC_LINE.match(line) for line in lines)


def _warn(file: Path, cell: Cell, text: str) -> None:
    """A warning output naming the cell that was not run (shown in the report and on stderr)."""
    _emit(Output("warning", f"{file.name}, cell {cell.index + 1} (line {cell.first_line}): {text}"))


def run_python(cell: Cell, file: Path, ns: NotebookNamespace) -> None:
    """Execute Python with line numbers matching the notebook file (for tracebacks)."""
    padded = "\n" * (cell.first_line - 1) + cell.source
    exec(compile(padded, str(file), "exec"), ns)  # noqa: S102 - running the user's notebook is the point


def run_sql(text: str, ns: NotebookNamespace, env: ExecEnv) -> None:
    """Run each statement with widget values bound; the last result is shown and kept as `_sqldf`.

    `CREATE WIDGET` / `REMOVE WIDGET` statements act on `dbutils.widgets` (Spark never sees them).
    """
    result = None
    for statement in split_sql(text):
        widget = parse_widget_statement(statement)
        if widget is not None:
            apply_widget_statement(widget, ns, env)
        else:
            result = ns["spark"].sql(bind_widgets(statement, env.dbutils.widgets.getAll()))
    if result is not None:
        ns["_sqldf"] = result
        if result.schema.fields:
            display(result, rows=env.display_rows)


def apply_widget_statement(statement: WidgetStatement, ns: NotebookNamespace, env: ExecEnv) -> None:
    """Declare (or remove) the widget; a passed argument keeps winning over the default."""
    widgets = env.dbutils.widgets
    if statement.kind == "remove":
        widgets.remove(statement.name)
    elif statement.kind == "text" or statement.choices is None:
        widgets.text(statement.name, statement.default)
    else:
        query = bind_widgets(statement.choices, widgets.getAll())
        choices = [str(row[0]) for row in ns["spark"].sql(query).collect()]
        getattr(widgets, statement.kind)(statement.name, statement.default, choices)


def run_include(cell: Cell, file: Path, ns: NotebookNamespace, env: ExecEnv, record: NotebookRecord) -> None:
    """`%run ./other $k=v`: run that notebook inline, in this namespace, with those widget values."""
    directive = parse_run_directive(cell.source)
    target = env.resolve_include(file, directive.path)
    included = parse_notebook_file(target)
    sub = NotebookRecord(record.workspace_path, str(target), dict(directive.params), parent=record.id)
    _emit(Output("text", f"%run {directive.path} -> {target}"))
    outer = _current_cell.get()
    try:
        with env.dbutils.widget_overlay(directive.params):
            execute_notebook(included, target, ns, env, sub)
    finally:
        if outer is not None:
            for child in sub.cells:
                outer.outputs.extend(child.outputs)
        if sub.error_cell is not None and record.error_cell is None:
            record.error_cell, record.error_line = cell.index, sub.error_line


def run_fs(text: str, env: ExecEnv) -> None:
    """`%fs ls /path` and friends: shorthand for `dbutils.fs.<command>(args...)`."""
    words = shlex.split(text)
    if not words:
        raise ValueError("%fs needs a command, e.g. %fs ls /FileStore")
    command, args = words[0], words[1:]
    allowed = {"ls", "head", "mkdirs", "rm", "cp", "mv", "put"}
    if command not in allowed:
        raise ValueError(f"%fs {command} is not supported locally; supported: {', '.join(sorted(allowed))}")
    flags = {"-r": "recurse", "--recurse": "recurse"}
    kwargs = {flags[a]: True for a in args if a in flags}
    positional = [a for a in args if a not in flags]
    result = getattr(env.dbutils.fs, command)(*positional, **kwargs)
    _emit(Output("text", "\n".join(map(repr, result)) if isinstance(result, list) else repr(result)))


def pip_warning(text: str) -> str:
    """What a `%pip` cell would have done, and whether its packages are already installed."""
    words = shlex.split(text)
    if not words or words[0] != "install":
        return f"%pip {text.strip()} is not run by the local runtime; skipped."
    names = [re.split(r"[<>=!~\[;@ ]", w, maxsplit=1)[0] for w in words[1:] if not w.startswith("-")]
    states = []
    for name in names:
        try:
            states.append(f"{name} {importlib.metadata.version(name)} is installed")
        except importlib.metadata.PackageNotFoundError:
            states.append(f"{name} is NOT installed: add it to your local environment")
    return "%pip is not run by the local runtime; " + ("; ".join(states) or "nothing to install") + "."
