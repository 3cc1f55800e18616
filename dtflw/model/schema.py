"""Expected columns of a table and how a found table is compared with them.

`cols` can be `[(name, type | None)]` (None = any type, as `DataFrame.dtypes` spells types),
a DDL string `"id INT, name STRING"`, or a pyspark `StructType`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from dtflw.errors import InvalidArgumentError

# DDL type names -> the simpleString form DataFrame.dtypes reports.
_DDL_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "real": "float",
    "dec": "decimal",
    "numeric": "decimal",
    "bool": "boolean",
}


@attrs.frozen
class ColumnDiff:
    """How a table's columns differ from the expected ones."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]
    mistyped: tuple[tuple[str, str, str], ...]  # (name, expected, found)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.mistyped)


@attrs.frozen
class Schema:
    """Expected columns: ordered `(name, type or None)` pairs."""

    columns: tuple[tuple[str, str | None], ...]

    def diff(self, found: Iterable[tuple[str, str]], strict: bool = False) -> ColumnDiff:
        """Compare with found `(name, type)` pairs; `strict` also reports unexpected columns."""
        actual = {name.lower(): (name, normalise_type(typ)) for name, typ in found}
        missing, mistyped = [], []
        for name, typ in self.columns:
            hit = actual.get(name.lower())
            if hit is None:
                missing.append(name)
            elif typ is not None and not _compatible(normalise_type(typ), hit[1]):
                mistyped.append((name, normalise_type(typ), hit[1]))
        expected = {name.lower() for name, _ in self.columns}
        extra = [orig for key, (orig, _) in actual.items() if key not in expected] if strict else []
        return ColumnDiff(tuple(missing), tuple(extra), tuple(mistyped))


def _compatible(expected: str, found: str) -> bool:
    """Same type, or an `int` column where `bigint` is expected (it widens losslessly; dtflw 0.6.x)."""
    return expected == found or (expected == "bigint" and found == "int")


def normalise_type(type_name: str) -> str:
    """Lower-case, drop spaces, map DDL aliases (`INTEGER` -> `int`)."""
    t = re.sub(r"\s+", "", type_name.lower())
    return _DDL_ALIASES.get(t, t)


def to_schema(cols: Any) -> Schema | None:
    """Turn any accepted `cols` form into a Schema (None stays None).

    Type names are checked against Spark's (`int`, `decimal(10,2)`, `array<string>`...) and
    column names must be unique (ignoring case, as Spark does), so a typo fails at declaration
    instead of after the notebook ran."""
    if cols is None:
        return None
    if isinstance(cols, Schema):
        return cols
    columns: tuple[tuple[str, str | None], ...]
    if isinstance(cols, str):
        columns = tuple(parse_ddl(cols))
    elif hasattr(cols, "fields") and hasattr(cols, "simpleString"):  # pyspark StructType
        return Schema(tuple((f.name, f.dataType.simpleString()) for f in cols.fields))
    elif isinstance(cols, (list, tuple)):
        columns = tuple(_column(item) for item in cols)
    else:
        raise InvalidArgumentError(
            f"cols must be a list of (name, type) pairs, a DDL string or a StructType, got {type(cols).__name__}."
        )
    seen: set[str] = set()
    for name, typ in columns:
        if name.lower() in seen:
            raise InvalidArgumentError(f"Column {name!r} is declared twice.")
        seen.add(name.lower())
        if typ is not None and not _is_type(normalise_type(typ)):
            raise InvalidArgumentError(
                f"Column {name!r}: {typ!r} is not a Spark type (e.g. int, bigint, string, double, boolean, "
                "date, timestamp, decimal(10,2), array<string>, map<string,int>, struct<a:int>)."
            )
    return Schema(columns)


_PRIMITIVE = re.compile(
    r"^(?:string|int|bigint|smallint|tinyint|double|float|boolean|date|timestamp|timestamp_ntz|timestamp_ltz"
    r"|binary|void|variant|null|decimal(?:\(\d+(?:,\d+)?\))?|(?:var)?char\(\d+\)|interval[a-z_]*)$"
)


def _is_type(t: str) -> bool:
    """True for a normalised Spark type name (`normalise_type`), nested types included."""
    if _PRIMITIVE.match(t):
        return True
    for head in ("array<", "map<", "struct<"):
        if t.startswith(head) and t.endswith(">") and _balanced(t):
            inner = t[len(head) : -1]
            if head == "struct<":
                return True  # field names and types: DDL spacing was squeezed out, checked by Spark
            parts = _split_top_level(inner)
            want = 1 if head == "array<" else 2
            return len(parts) == want and all(_is_type(_DDL_ALIASES.get(p, p)) for p in parts)
    return False


def _balanced(t: str) -> bool:
    depth = 0
    for ch in t:
        depth += ch in "(<"
        depth -= ch in ")>"
        if depth < 0:
            return False
    return depth == 0


def _column(item: Any) -> tuple[str, str | None]:
    if isinstance(item, str):
        return _checked_name(item), None
    if isinstance(item, (list, tuple)) and len(item) == 2:
        name, typ = item
        if typ is not None and not isinstance(typ, str):
            raise InvalidArgumentError(f"Column {name!r}: type must be a string or None, got {typ!r}.")
        return _checked_name(name), typ
    raise InvalidArgumentError(f"Column spec {item!r} is invalid: expected (name, type) or a name.")


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"Column name must be a non-empty string, got {name!r}.")
    return name


def parse_ddl(ddl: str) -> list[tuple[str, str]]:
    """`"id INT, price DECIMAL(10,2), tags ARRAY<STRING>"` -> [(name, type)], nesting-aware."""
    fields = [f.strip() for f in _split_top_level(ddl) if f.strip()]
    if not fields:
        raise InvalidArgumentError(f"DDL schema {ddl!r} declares no columns.")
    out = []
    for field in fields:
        m = re.match(r"^`?([^`\s]+)`?\s*:?\s+(.+)$", field)
        if not m:
            raise InvalidArgumentError(f"DDL column {field!r} is invalid: expected '<name> <type>'.")
        out.append((m.group(1), m.group(2).strip()))
    return out


def _split_top_level(text: str) -> Sequence[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
