"""Empty parquet files with a schema, and reading a parquet footer's columns, without pyarrow or Spark.

``write_empty_parquet(file, cols)`` writes a valid parquet file with no rows whose schema has the
given columns, typed as Spark would read them back (``DataFrame.dtypes``)::

    write_empty_parquet("T/part-00000.parquet", [("id", "bigint"), ("name", "string")])
    write_empty_parquet(file, "id INT, amount DECIMAL(10,2), day DATE")   # a DDL string works too

``parquet_columns(file)`` reads a parquet file's footer and returns ``[(name, spark type)]``, the
same pairs ``spark.read.parquet(...).dtypes`` gives for primitive columns, structs, arrays and maps.

``SchemaOnlySpark()`` is a SparkSession stand-in whose ``read.parquet(path).dtypes`` reads the footer:
enough for dtflw's ``cols=`` output checks in tests without pyspark.

Standard library only (the footer is Thrift compact protocol). Supported column types: boolean,
tinyint, smallint, int, bigint, float, double, decimal(p,s), string, binary, date, timestamp.
A column given without a type is a string.
"""

from __future__ import annotations

import io
import os
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dtflw.errors import InvalidArgumentError, RuntimeNotAvailableError
from dtflw.model.schema import normalise_type, to_schema

MAGIC = b"PAR1"

# parquet.thrift enums
_BOOLEAN, _INT32, _INT64, _INT96, _FLOAT, _DOUBLE, _BYTE_ARRAY, _FIXED = range(8)
_OPTIONAL = 1
_UTF8, _MAP, _MAP_KEY_VALUE, _LIST, _ENUM, _DECIMAL, _DATE = range(7)
_TIMESTAMP_MILLIS, _TIMESTAMP_MICROS = 9, 10
_INT_8, _INT_16, _INT_32, _INT_64, _JSON = 15, 16, 17, 18, 19

# Spark type -> (physical type, converted type or None)
_PRIMITIVES: dict[str, tuple[int, int | None]] = {
    "boolean": (_BOOLEAN, None),
    "tinyint": (_INT32, _INT_8),
    "smallint": (_INT32, _INT_16),
    "int": (_INT32, None),
    "bigint": (_INT64, None),
    "float": (_FLOAT, None),
    "double": (_DOUBLE, None),
    "string": (_BYTE_ARRAY, _UTF8),
    "binary": (_BYTE_ARRAY, None),
    "date": (_INT32, _DATE),
    "timestamp": (_INT64, _TIMESTAMP_MICROS),
}
_DECIMAL_TYPE = re.compile(r"decimal\((\d+),(\d+)\)")

# Thrift compact protocol type ids
_CT_TRUE, _CT_FALSE, _CT_BYTE, _CT_I16, _CT_I32, _CT_I64, _CT_DOUBLE, _CT_BINARY = 1, 2, 3, 4, 5, 6, 7, 8
_CT_LIST, _CT_SET, _CT_MAP, _CT_STRUCT = 9, 10, 11, 12


# ---- writing ---------------------------------------------------------------------------------
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


class _Struct:
    """A Thrift compact struct written field by field, in increasing field id order."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.last = 0

    def _header(self, field_id: int, ctype: int) -> None:
        delta = field_id - self.last
        if 0 < delta <= 15:
            self.out.append((delta << 4) | ctype)
        else:
            self.out.append(ctype)
            self.out += _zigzag(field_id)
        self.last = field_id

    def i32(self, field_id: int, value: int) -> _Struct:
        self._header(field_id, _CT_I32)
        self.out += _zigzag(value)
        return self

    def i64(self, field_id: int, value: int) -> _Struct:
        self._header(field_id, _CT_I64)
        self.out += _zigzag(value)
        return self

    def string(self, field_id: int, value: str) -> _Struct:
        data = value.encode("utf-8")
        self._header(field_id, _CT_BINARY)
        self.out += _varint(len(data)) + data
        return self

    def structs(self, field_id: int, items: Sequence[_Struct]) -> _Struct:
        self._header(field_id, _CT_LIST)
        size = len(items)
        self.out += bytes([(size << 4) | _CT_STRUCT]) if size < 15 else bytes([0xF0 | _CT_STRUCT]) + _varint(size)
        for item in items:
            self.out += item.bytes()
        return self

    def bytes(self) -> bytes:
        return bytes(self.out) + b"\x00"


def _column_element(name: str, spark_type: str | None) -> _Struct:
    typ = "string" if spark_type is None else normalise_type(spark_type)
    element = _Struct()
    decimal = _DECIMAL_TYPE.fullmatch(typ)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        if not 0 < precision <= 38 or scale > precision:
            raise InvalidArgumentError(f"Column {name!r}: bad decimal type {spark_type!r}.")
        if precision <= 9:
            element.i32(1, _INT32)
        elif precision <= 18:
            element.i32(1, _INT64)
        else:  # the fewest bytes that hold 10**precision - 1 as a signed number
            element.i32(1, _FIXED).i32(2, ((10**precision - 1).bit_length() + 8) // 8)
        return element.i32(3, _OPTIONAL).string(4, name).i32(6, _DECIMAL).i32(7, scale).i32(8, precision)
    if typ not in _PRIMITIVES:
        raise InvalidArgumentError(
            f"Column {name!r}: type {spark_type!r} cannot be stubbed without Spark; supported: "
            f"{', '.join(_PRIMITIVES)}, decimal(p,s). Write that table with Spark instead."
        )
    physical, converted = _PRIMITIVES[typ]
    element.i32(1, physical).i32(3, _OPTIONAL).string(4, name)
    if converted is not None:
        element.i32(6, converted)
    return element


def parquet_bytes(cols: Any) -> bytes:
    """The bytes of an empty parquet file with columns `cols` (as `.output(cols=...)` takes them)."""
    schema = to_schema(cols)
    columns = schema.columns if schema is not None else ()
    root = _Struct().string(4, "spark_schema").i32(5, len(columns))
    elements = [root, *(_column_element(name, typ) for name, typ in columns)]
    meta = _Struct().i32(1, 1).structs(2, elements).i64(3, 0).structs(4, []).string(6, "dtflw test stub")
    footer = meta.bytes()
    return MAGIC + footer + struct.pack("<i", len(footer)) + MAGIC


def write_empty_parquet(file: str | os.PathLike[str], cols: Any) -> None:
    """Write an empty (no rows) parquet file at `file` whose schema has the columns `cols`."""
    Path(file).write_bytes(parquet_bytes(cols))


# ---- reading ---------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.buf = io.BytesIO(data)

    def byte(self) -> int:
        b = self.buf.read(1)
        if not b:
            raise InvalidArgumentError("Truncated parquet footer.")
        return b[0]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, ctype: int) -> Any:
        if ctype in (_CT_TRUE, _CT_FALSE):
            return ctype == _CT_TRUE
        if ctype == _CT_BYTE:
            return self.byte()
        if ctype in (_CT_I16, _CT_I32, _CT_I64):
            return self.zigzag()
        if ctype == _CT_DOUBLE:
            return struct.unpack("<d", self.buf.read(8))[0]
        if ctype == _CT_BINARY:
            return self.buf.read(self.varint())
        if ctype in (_CT_LIST, _CT_SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return [self.value(etype) if etype not in (_CT_TRUE, _CT_FALSE) else self.byte() == 1 for _ in range(size)]
        if ctype == _CT_MAP:
            size = self.varint()
            if size == 0:
                return {}
            kinds = self.byte()
            return {self.value(kinds >> 4): self.value(kinds & 0x0F) for _ in range(size)}
        if ctype == _CT_STRUCT:
            return self.struct()
        raise InvalidArgumentError(f"Unknown Thrift compact type {ctype} in a parquet footer.")

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            delta, ctype = head >> 4, head & 0x0F
            field_id = last + delta if delta else self.zigzag()
            fields[field_id] = self.value(ctype)
            last = field_id


def _spark_type(element: dict[int, Any], children: list[tuple[str, str]]) -> str:
    converted: Any = element.get(6)
    if children or 5 in element:  # a group
        if converted == _LIST and len(children) == 1:
            return f"array<{_unwrap(children[0][1])}>"
        if converted in (_MAP, _MAP_KEY_VALUE) and len(children) == 1:
            kv = _split_struct(children[0][1])
            return f"map<{kv[0][1]},{kv[1][1]}>" if len(kv) == 2 else "map<string,string>"
        return "struct<" + ",".join(f"{n}:{t}" for n, t in children) + ">"
    physical = element.get(1)
    logical = element.get(10) or {}
    if converted == _DECIMAL or 5 in logical:
        return f"decimal({element.get(8, 0)},{element.get(7, 0)})"
    if physical == _BOOLEAN:
        return "boolean"
    if physical == _INT32:
        return {_INT_8: "tinyint", _INT_16: "smallint", _DATE: "date"}.get(converted, "int")
    if physical == _INT64:
        if converted in (_TIMESTAMP_MICROS, _TIMESTAMP_MILLIS) or 8 in logical:
            utc = logical.get(8, {}).get(1, True) if 8 in logical else True
            return "timestamp" if utc else "timestamp_ntz"
        return "bigint"
    if physical == _INT96:
        return "timestamp"
    if physical == _FLOAT:
        return "float"
    if physical == _DOUBLE:
        return "double"
    if physical in (_BYTE_ARRAY, _FIXED):
        is_text = converted in (_UTF8, _ENUM, _JSON) or any(k in logical for k in (1, 4, 12))
        return "string" if is_text else "binary"
    return "binary"


def _unwrap(group_type: str) -> str:
    """The element type of a parquet LIST's repeated group (`struct<element:int>` -> `int`)."""
    fields = _split_struct(group_type)
    return fields[0][1] if len(fields) == 1 else group_type


def _split_struct(text: str) -> list[tuple[str, str]]:
    if not text.startswith("struct<"):
        return [("", text)]
    body, parts, depth, start = text[7:-1], [], 0, 0
    for i, ch in enumerate(body):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [(p.split(":", 1)[0], p.split(":", 1)[1]) for p in parts if ":" in p]


def parquet_columns(file: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """`[(column, spark type)]` from the footer of the parquet file `file` (what `.dtypes` gives)."""
    data = Path(file).read_bytes()
    if len(data) < 12 or data[:4] != MAGIC or data[-4:] != MAGIC:
        raise InvalidArgumentError(f"{os.fspath(file)!r} is not a parquet file.")
    (size,) = struct.unpack("<i", data[-8:-4])
    meta = _Reader(data[-8 - size : -8]).struct()
    elements: list[dict[int, Any]] = meta.get(2, [])
    position = 1

    def read_children(count: int) -> list[tuple[str, str]]:
        nonlocal position
        out = []
        for _ in range(count):
            element = elements[position]
            position += 1
            children = read_children(element.get(5, 0)) if 5 in element else []
            out.append((element[4].decode("utf-8"), _spark_type(element, children)))
        return out

    return read_children(elements[0].get(5, 0) if elements else 0)


# ---- a SparkSession stand-in that only reads parquet schemas -----------------------------------
class SchemaOnlyFrame:
    """What `SchemaOnlySpark().read.parquet(path)` returns: the table's `dtypes` and `columns`."""

    def __init__(self, path: str, dtypes: list[tuple[str, str]]) -> None:
        self.path = path
        self.dtypes = dtypes

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.dtypes]

    def __getattr__(self, name: str) -> Any:
        raise RuntimeNotAvailableError(
            f"SchemaOnlySpark reads schemas only: DataFrame.{name} needs a real SparkSession "
            "(use the `dtflw_spark` fixture of the dtflw pytest plugin)."
        )


class _SchemaOnlyReader:
    def parquet(self, *paths: str) -> SchemaOnlyFrame:
        if len(paths) != 1:
            raise RuntimeNotAvailableError("SchemaOnlySpark reads one parquet table at a time.")
        return SchemaOnlyFrame(paths[0], table_columns(paths[0]))

    def format(self, source: str) -> Any:
        raise RuntimeNotAvailableError(
            f"SchemaOnlySpark reads parquet folders only, not {source!r}: use a real SparkSession."
        )


class SchemaOnlySpark:
    """A SparkSession stand-in for unit tests without pyspark: `read.parquet(path).dtypes` only.

    Enough for dtflw's `cols=` output checks on local parquet tables (e.g. written by
    `writes_outputs(cols=...)`): ``LocalStorage(root, spark=SchemaOnlySpark())``. Anything else
    raises `RuntimeNotAvailableError`.
    """

    @property
    def read(self) -> _SchemaOnlyReader:
        return _SchemaOnlyReader()

    def __getattr__(self, name: str) -> Any:
        raise RuntimeNotAvailableError(f"SchemaOnlySpark reads schemas only: spark.{name} needs a real SparkSession.")


def table_columns(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """`[(column, spark type)]` of a parquet table: a file, or a folder of `part-*.parquet` files (the first)."""
    text = os.fspath(path)
    local = Path(text[len("file:") :] if text.startswith("file:") else text)
    if local.is_file():
        return parquet_columns(local)
    parts = sorted(p for p in local.rglob("*.parquet") if not p.name.startswith(("_", ".")))
    if not parts:
        raise InvalidArgumentError(f"No parquet file in {text!r}.")
    return parquet_columns(parts[0])


__all__ = ["SchemaOnlySpark", "parquet_bytes", "parquet_columns", "table_columns", "write_empty_parquet"]
