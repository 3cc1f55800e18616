"""Executing a parsed notebook's cells the way a Databricks Python notebook would.

Python cells run in the notebook's namespace; `%sql` runs through `spark.sql`; `%run` executes
another notebook inline in the same namespace; `%md` is kept for the report; `%fs` calls
`dbutils.fs`; `%pip`, `%sh`, `%scala`, `%r` and unknown magics are not run and leave a warning.
"""

from __future__ import annotations

import contextvars
import html
import importlib.metadata
import re
import shlex
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from dtflw.emulated.errors import NotebookExit
from dtflw.errors import NotebookCancelledError
from dtflw.local.capture import captured, is_echoing, real_stdout
from dtflw.local.records import CellRecord, CellStatus, NotebookRecord, Output
from dtflw.local.source import Cell, Notebook, parse_notebook_file, parse_run_directive
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

        provided = {
            "spark": spark,
            "sc": spark.sparkContext,
            "sql": spark.sql,
            "table": spark.table,
            "udf": functions.udf,
            "sqlContext": SQLContext(spark.sparkContext, spark),
        }
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
    if is_echoing() and output.kind in ("html", "text", "warning"):
        print(output.text, file=real_stdout(), flush=True)


def _flush_stream(cell: CellRecord) -> None:
    buffer = _current_buffer.get()
    if buffer is not None and buffer.getvalue():
        cell.outputs.append(Output("stream", buffer.getvalue()))
        buffer.seek(0)
        buffer.truncate()


def display(obj: Any = None, *args: Any, rows: int = 100) -> None:
    """Databricks' `display`: DataFrames as tables, objects with `_repr_html_` as HTML."""
    if obj is None:
        return
    if hasattr(obj, "schema") and hasattr(obj, "take"):
        _emit(dataframe_output(obj, rows))
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
    truncated = len(taken) > rows
    values = [[_cell_text(v) for v in row] for row in taken[:rows]]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in values)
    note = f"<p>Showing the first {rows} rows.</p>" if truncated else ""
    markup = f"<table class='dataframe'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    text = _text_table(names, values) + (f"\n(first {rows} rows)" if truncated else "")
    return Output("html", text, {"text/html": markup})


def _cell_text(value: Any) -> str:
    return "null" if value is None else str(value)


def _text_table(names: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line, fmt(names), line, *[fmt(r) for r in rows], line])


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
    if cell.kind == "python":
        run_python(cell, file, ns)
    elif cell.kind == "md":
        _emit(Output("markdown", cell.source))
    elif cell.kind == "sql":
        run_sql(cell.source, ns, env)
    elif cell.kind == "run":
        run_include(cell, file, ns, env, record)
    elif cell.kind == "fs":
        run_fs(cell.source, env)
    elif cell.kind == "pip":
        _emit(Output("warning", pip_warning(cell.source)))
    elif cell.kind == "sh":
        _emit(Output("warning", f"%sh is not run by the local runtime; skipped: {cell.source.strip()}"))
    else:
        _emit(Output("warning", f"%{cell.magic or cell.kind} cells are not supported locally; skipped."))


def run_python(cell: Cell, file: Path, ns: NotebookNamespace) -> None:
    """Execute Python with line numbers matching the notebook file (for tracebacks)."""
    padded = "\n" * (cell.first_line - 1) + cell.source
    exec(compile(padded, str(file), "exec"), ns)  # noqa: S102 - running the user's notebook is the point


def split_sql(text: str) -> list[str]:
    """Statements separated by `;` outside quotes and comments."""
    statements, current, quote = [], [], ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        elif ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def sql_literal(value: str) -> str:
    """`value` as a Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bind_widgets(statement: str, widgets: Mapping[str, str]) -> str:
    """Fill `${name}` (legacy, as text) and `:name` markers (as string literals) from widgets.

    Markers are bound client-side: with Delta's SQL extension loaded, OSS Spark 4.2 rejects
    `spark.sql(..., args=...)` (UNBOUND_SQL_PARAMETER), measured with delta-spark 4.4.0. Text
    inside quotes and `::` casts are left alone; unknown names stay as they are.
    """
    out, i, quote = [], 0, ""
    while i < len(statement):
        ch = statement[i]
        if quote:
            out.append(ch)
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
            out.append(ch)
        elif ch == ":" and statement.startswith("::", i):
            out.append("::")
            i += 2
            continue
        elif ch == ":" and (m := re.match(r":([A-Za-z_]\w*)", statement[i:])) and m.group(1) in widgets:
            out.append(sql_literal(widgets[m.group(1)]))
            i += len(m.group(0))
            continue
        else:
            out.append(ch)
        i += 1
    return re.sub(r"\$\{(\w+)\}", lambda m: widgets.get(m.group(1), m.group(0)), "".join(out))


def run_sql(text: str, ns: NotebookNamespace, env: ExecEnv) -> None:
    """Run each statement with widget values bound; the last result is shown and kept as `_sqldf`."""
    widgets = env.dbutils.widgets.getAll()
    result = None
    for statement in split_sql(text):
        result = ns["spark"].sql(bind_widgets(statement, widgets))
    if result is not None:
        ns["_sqldf"] = result
        if result.schema.fields:
            display(result, rows=env.display_rows)


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
