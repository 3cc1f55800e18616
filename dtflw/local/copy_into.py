"""``COPY INTO`` (Databricks SQL) on the local session: idempotent file loads into a Delta table.

:func:`run` is called by :mod:`dtflw.local.uc_statements` for a statement starting with ``COPY INTO``::

    COPY INTO <table> | delta.`<path>` [BY POSITION | (col, ...)]
    FROM '<path>' | (SELECT <expressions> FROM '<path>') [WITH (...)]
    FILEFORMAT = CSV | JSON | PARQUET | ORC | TEXT | AVRO | BINARYFILE
    [FILES = ('<name>', ...) | PATTERN = '<glob>']
    [FORMAT_OPTIONS ('<reader option>' = '<value>', ...)]
    [COPY_OPTIONS ('force' = 'true', 'mergeSchema' = 'true')]

As on Databricks: files loaded before into the table are skipped (by path, even if they changed since),
unless ``force``; a table without columns (``CREATE TABLE IF NOT EXISTS t``) takes the data's schema;
``mergeSchema`` adds new columns; columns the table has are cast to its types. The result has
``num_affected_rows``, ``num_inserted_rows`` and ``num_skipped_corrupt_files``.

Loaded files are tracked in ``_dtflw_copy_into.json`` in the table's folder (beside ``_delta_log``;
names starting with ``_`` are ignored by Delta and ``VACUUM``), keyed by the table's Delta id, each
with its size and modification time. Not emulated: ``VALIDATE``, credentials in ``WITH (...)``
(ignored), corrupt-file counting (always 0), the ``COPY INTO`` operation name in the table history
(the commit is a ``WRITE``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import attrs

from dtflw.local.uc import UnityCatalog, UnityCatalogError
from dtflw.local.uc_sql import Token, tokenize, unquote

TRACKING_FILE = "_dtflw_copy_into.json"
RESULT_SCHEMA = "num_affected_rows BIGINT, num_inserted_rows BIGINT, num_skipped_corrupt_files BIGINT"
_FORMATS = {
    "csv": "csv",
    "json": "json",
    "parquet": "parquet",
    "orc": "orc",
    "text": "text",
    "avro": "avro",
    "binaryfile": "binaryFile",
}
_METADATA = "__dtflw_copy_into_metadata"
_views = itertools.count(1)


@attrs.define
class CopyInto:
    """A parsed ``COPY INTO`` statement."""

    target: str  # a table name as written, or the path of ``delta.`<path>```
    target_is_path: bool
    source: str
    file_format: str
    select: list[Token] | None = None  # the inner SELECT's tokens, the source path token included
    source_index: int = -1  # index of the source path's token in ``select``
    columns: list[str] | None = None  # ``(col, ...)`` after the target
    by_position: bool = False
    files: list[str] | None = None
    pattern: str | None = None
    format_options: dict[str, str] = attrs.Factory(dict)
    copy_options: dict[str, str] = attrs.Factory(dict)
    validate: bool = False


def _error(message: str) -> UnityCatalogError:
    return UnityCatalogError("PARSE_SYNTAX_ERROR", f"COPY INTO: {message}", "42601")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = [t for t in tokenize(text) if t.kind not in ("ws", "comment")]
        while self.tokens and self.tokens[-1].text == ";":
            self.tokens.pop()
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next."""
        for k, w in enumerate(words):
            token = self.peek(k)
            if token is None or token.kind != "word" or token.text.upper() != w:
                return False
        self.i += len(words)
        return True

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token is None or token.text.upper() != text.upper():
            found = token.text if token else "end of statement"
            raise _error(f"expected {text!r}, found {found!r}")
        self.i += 1
        return token

    def string(self) -> str:
        token = self.peek()
        if token is None or token.kind != "str":
            raise _error(f"expected a quoted string, found {token.text if token else 'end of statement'!r}")
        self.i += 1
        return _literal(token.text)

    def balanced(self) -> list[Token]:
        """The tokens inside the parentheses starting here (consumed, parentheses excluded)."""
        self.expect("(")
        start, depth = self.i, 1
        while self.i < len(self.tokens):
            text = self.tokens[self.i].text
            depth += (text == "(") - (text == ")")
            if depth == 0:
                self.i += 1
                return self.tokens[start : self.i - 1]
            self.i += 1
        raise _error("unbalanced parentheses")

    def options(self) -> dict[str, str]:
        inner = [t for t in self.balanced() if t.text != ","]
        result: dict[str, str] = {}
        for k in range(0, len(inner), 3):
            key, eq, value = (inner[k : k + 3] + [None, None])[:3]
            if key is None or eq is None or eq.text != "=" or value is None:
                raise _error("options must look like ('name' = 'value', ...)")
            result[_literal(key.text)] = _literal(value.text)
        return result


def _literal(text: str) -> str:
    if text[:1] in ("'", '"'):
        body = text[1:-1]
        return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), body)
    return unquote(text)


def parse(text: str) -> CopyInto:
    """Parse a ``COPY INTO`` statement (raises ``PARSE_SYNTAX_ERROR`` with what was expected)."""
    p = _Parser(text)
    if not p.word("COPY", "INTO"):
        raise _error("statement must start with COPY INTO")
    first, second = p.peek(), p.peek(1)
    if first and second and first.text.lower() == "delta" and second.text == "." and p.peek(2):
        p.i += 2
        target, is_path = unquote(p.tokens[p.i].text), True
        p.i += 1
    else:
        parts = []
        while (token := p.peek()) is not None and (token.kind in ("word", "bq") or token.text == "."):
            if token.kind == "word" and token.text.upper() in ("FROM", "BY"):
                break
            parts.append(token.text)
            p.i += 1
        target, is_path = "".join(parts), False
    if not target:
        raise _error("missing the target table")
    by_position = p.word("BY", "POSITION")
    columns = None
    if (token := p.peek()) is not None and token.text == "(":
        columns = [unquote(t.text) for t in p.balanced() if t.text != ","]
    p.expect("FROM")
    select, source_index = None, -1
    if (token := p.peek()) is not None and token.text == "(":
        select = p.balanced()
        for k in range(len(select) - 1, 0, -1):
            if select[k].kind == "str" and select[k - 1].text.upper() == "FROM":
                source_index = k
                break
        else:
            raise _error("the SELECT must read FROM '<path>'")
        source = _literal(select[source_index].text)
    else:
        source = p.string()
    if p.word("WITH"):
        p.balanced()  # credentials / encryption: nothing to do locally
    p.expect("FILEFORMAT")
    p.expect("=")
    fmt_token = p.peek()
    if fmt_token is None or fmt_token.text.lower() not in _FORMATS:
        raise _error(f"FILEFORMAT must be one of {', '.join(f.upper() for f in _FORMATS)}")
    p.i += 1
    statement = CopyInto(target, is_path, source, _FORMATS[fmt_token.text.lower()], select, source_index)
    statement.columns, statement.by_position = columns, by_position
    while p.peek() is not None:
        if p.word("VALIDATE"):
            statement.validate = True
            while (token := p.peek()) is not None and (token.kind == "num" or token.text.upper() in ("ALL", "ROWS")):
                p.i += 1
        elif p.word("FILES"):
            p.expect("=")
            statement.files = [_literal(t.text) for t in p.balanced() if t.text != ","]
        elif p.word("PATTERN"):
            p.expect("=")
            statement.pattern = p.string()
        elif p.word("FORMAT_OPTIONS"):
            statement.format_options = p.options()
        elif p.word("COPY_OPTIONS"):
            statement.copy_options = p.options()
        else:
            token = p.peek()
            raise _error(f"unexpected {token.text if token else ''!r}")
    if statement.files is not None and statement.pattern is not None:
        raise _error("FILES and PATTERN cannot both be given")
    return statement


# -- files ------------------------------------------------------------------------------------------


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Hadoop glob (``*``, ``?``, ``[abc]``, ``[^a]``, ``{a,b}``) as a regex on a relative path."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        elif c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body).replace("\\", "\\\\") + "]")
                i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + "$")


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


def source_files(uc: UnityCatalog, statement: CopyInto) -> dict[str, Path]:
    """Qualified URI → local path of every file the statement names (sorted)."""
    found: dict[str, Path] = {}
    glob_at = next((i for i, c in enumerate(statement.source) if c in "*?[{"), -1)
    if glob_at >= 0:
        base = statement.source[:glob_at].rsplit("/", 1)[0]
        base_uri, base_local = uc.path_map.qualify(base).rstrip("/"), uc.path_map.to_local(base)
        regex = glob_regex(statement.source[len(base) + 1 :])
        for path in sorted(base_local.rglob("*")):
            relative = path.relative_to(base_local).as_posix()
            if path.is_file() and regex.match(relative) and not _hidden(relative):
                found[f"{base_uri}/{relative}"] = path
        return found
    source = uc.path_map.qualify(statement.source).rstrip("/")
    local = uc.path_map.to_local(statement.source)
    if local.is_file():
        return {source: local}
    if not local.is_dir():
        raise UnityCatalogError("PATH_NOT_FOUND", f"[PATH_NOT_FOUND] Path does not exist: {statement.source}.", "42K03")
    if statement.files is not None:
        for name in statement.files:
            path = local / name.lstrip("/")
            if not path.is_file():
                raise UnityCatalogError(
                    "PATH_NOT_FOUND", f"[PATH_NOT_FOUND] Path does not exist: {source}/{name}.", "42K03"
                )
            found[f"{source}/{name.lstrip('/')}"] = path
        return found
    wanted = glob_regex(statement.pattern) if statement.pattern is not None else None
    for path in sorted(local.rglob("*")):
        relative = path.relative_to(local).as_posix()
        if path.is_file() and not _hidden(relative) and (wanted is None or wanted.match(relative)):
            found[f"{source}/{relative}"] = path
    return found


# -- the target -------------------------------------------------------------------------------------


def _target(uc: UnityCatalog, statement: CopyInto) -> tuple[str, Path, str, Any]:
    """(Delta location URI, its local folder, table id, current schema) of the target."""
    if statement.target_is_path:
        location = uc.path_map.qualify(statement.target)
        if not (uc.path_map.to_local(location) / "_delta_log").is_dir():
            raise UnityCatalogError("DELTA_MISSING_DELTA_TABLE", f"`{statement.target}` is not a Delta table.", "42P01")
        ident = f"delta.`{location}`"
    else:
        ident = uc.table_name(statement.target, "write")
    detail = uc._sql(f"DESCRIBE DETAIL {ident}").collect()[0].asDict()
    if str(detail.get("format", "")).lower() != "delta":
        raise UnityCatalogError(
            "DELTA_MISSING_DELTA_TABLE", f"COPY INTO needs a Delta table; {statement.target} is not one.", "42P01"
        )
    location = str(detail["location"])
    schema = uc.spark.read.format("delta").load(location).schema
    return location, uc.path_map.to_local(location), str(detail["id"]), schema


def _tracked(folder: Path, table_id: str) -> dict[str, Any]:
    file = folder / TRACKING_FILE
    if file.is_file():
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        if data.get("table_id") == table_id:
            return data
    return {"table_id": table_id, "files": {}}


def _save_tracked(folder: Path, data: dict[str, Any]) -> None:
    tmp = folder / (TRACKING_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / TRACKING_FILE)


def _true(options: dict[str, str], name: str) -> bool:
    lowered = {k.lower(): v for k, v in options.items()}
    return str(lowered.get(name.lower(), "false")).strip().lower() == "true"


# -- running ----------------------------------------------------------------------------------------


def run(uc: UnityCatalog, text: str) -> Any:
    """Execute a ``COPY INTO`` statement; returns the one-row result DataFrame."""
    from pyspark.sql import functions as F

    statement = parse(text)
    if statement.validate:
        raise UnityCatalogError(
            "NOT_SUPPORTED_COMMAND", "COPY INTO ... VALIDATE is not emulated by the local runtime.", "0A000"
        )
    spark = uc.spark
    location, folder, table_id, schema = _target(uc, statement)
    data = _tracked(folder, table_id)
    files = source_files(uc, statement)
    force = _true(statement.copy_options, "force")
    new = {uri: path for uri, path in files.items() if force or uri not in data["files"]}
    if not new:
        return spark.createDataFrame([(0, 0, 0)], RESULT_SCHEMA)
    reader = spark.read.format(statement.file_format).options(**statement.format_options)
    df = reader.load(list(new))
    if statement.by_position or statement.columns:
        names = statement.columns or [f.name for f in schema.fields]
        if len(names) != len(df.columns):
            raise UnityCatalogError(
                "COPY_INTO_COLUMN_ARITY_MISMATCH",
                f"COPY INTO: the source has {len(df.columns)} columns, the target list {len(names)}.",
                "21S01",
            )
        df = df.toDF(*names)
    if statement.select is not None:
        view = f"__dtflw_copy_into_{next(_views)}"
        tokens = list(statement.select)
        tokens[statement.source_index] = Token("word", view)
        uses_metadata = any(t.kind == "word" and t.text.lower() == "_metadata" for t in tokens)
        if uses_metadata:  # a view hides the file source's _metadata column: expose it under another name
            df = df.select("*", F.col("_metadata").alias(_METADATA))
            tokens = [Token("word", _METADATA) if t.text.lower() == "_metadata" else t for t in tokens]
        df.createOrReplaceTempView(view)
        try:
            df = uc._sql(uc.rewriter.rewrite(" ".join(t.text for t in tokens)))
            if _METADATA in df.columns:
                df = df.drop(_METADATA)
            return _write(uc, statement, df, schema, location, folder, data, new, F)
        finally:
            spark.catalog.dropTempView(view)
    return _write(uc, statement, df, schema, location, folder, data, new, F)


def _write(
    uc: UnityCatalog,
    statement: CopyInto,
    df: Any,
    schema: Any,
    location: str,
    folder: Path,
    data: dict[str, Any],
    new: dict[str, Path],
    F: Any,  # noqa: N803
) -> Any:
    types = {f.name.lower(): f.dataType for f in schema.fields}
    df = df.select(
        *[
            F.col(f"`{c}`").cast(types[c.lower()]).alias(c) if c.lower() in types else F.col(f"`{c}`")
            for c in df.columns
        ]
    )
    merge = not schema.fields or _true(statement.copy_options, "mergeSchema")
    writer = df.write.format("delta").mode("append")
    if merge:
        writer = writer.option("mergeSchema", "true")
    writer.save(location)
    inserted = _inserted_rows(uc, location)
    if inserted is None:
        inserted = df.count()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for uri, path in new.items():
        stat = path.stat()
        data["files"][uri] = {"size": stat.st_size, "mtime": stat.st_mtime, "loaded_at": now}
    _save_tracked(folder, data)
    return uc.spark.createDataFrame([(inserted, inserted, 0)], RESULT_SCHEMA)


def _inserted_rows(uc: UnityCatalog, location: str) -> int | None:
    try:
        row = uc._sql(f"DESCRIBE HISTORY delta.`{location}` LIMIT 1").collect()[0]
        return int(row["operationMetrics"]["numOutputRows"])
    except Exception:  # noqa: BLE001 - the metrics are a convenience; count instead
        return None
