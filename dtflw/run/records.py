"""A run record: one attempt of one notebook in one flow run, and its JSON form.

`RunRecord.to_json` writes what `json.dumps(record.to_dict())` would, directly (it runs once per
notebook of every run, so it is written out by hand; a test holds it to `json.dumps`).
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii as _quote_ascii
from typing import Any

import attrs

from dtflw.model.status import RunStatus, as_status


def _iso(ts: float | None) -> str | None:
    if ts is None or not math.isfinite(ts):
        return None
    return _iso_seconds(int(ts // 1)) + f".{int(ts % 1 * 1000):03d}Z"


@functools.lru_cache(maxsize=64)
def _iso_seconds(seconds: int) -> str:
    """`YYYY-mm-ddTHH:MM:SS` (UTC) of a whole second: records of one second share it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def _text(value: str | None) -> str:
    return "null" if value is None else _quote_ascii(value) if value.__class__ is str else json.dumps(value)


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    if value.__class__ is int:
        return int.__repr__(value)
    if value.__class__ is float and math.isfinite(value):
        return float.__repr__(value)
    return json.dumps(value)


def _time_json(ts: float | None) -> tuple[str, str]:
    """A time as JSON: the number, and `_iso` of it."""
    if ts is None:
        return "null", "null"
    if ts.__class__ is float and 0 <= ts < 1e11:  # a time of this era (else the general route)
        seconds = int(ts)
        return float.__repr__(ts), f'"{_iso_seconds(seconds)}.{int((ts - seconds) * 1000):03d}Z"'
    return _number(ts), _text(_iso(ts))


def _tables_json(tables: Sequence[TableVersion]) -> str:
    q = _quote_ascii
    parts = []
    for t in tables:
        name, path, version = t.name, t.path, t.version
        if name.__class__ is str and path.__class__ is str and (version is None or version.__class__ is str):
            parts.append(
                f'{{"name": {q(name)}, "path": {q(path)}, "version": {"null" if version is None else q(version)}}}'
            )
        else:
            parts.append(json.dumps({"name": name, "path": path, "version": version}))
    return ", ".join(parts)


@attrs.frozen
class TableVersion:
    """An input or output of a run: its name, path and version (None when absent)."""

    name: str
    path: str
    version: str | None


@attrs.frozen
class RunRecord:
    """One attempt of one notebook in one flow run (arguments and errors already redacted)."""

    run_id: str
    flow: str
    key: str
    notebook: str
    attempt: int
    status: RunStatus = attrs.field(converter=as_status)
    args: Mapping[str, str] = attrs.field(factory=dict)
    inputs: tuple[TableVersion, ...] = ()
    outputs: tuple[TableVersion, ...] = ()
    started: float | None = None
    ended: float | None = None
    exit_value: str | None = None
    error: str | None = None
    reason: str = ""
    fingerprint: str | None = None
    source_hash: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of this record (field by field: this runs once per notebook)."""
        return {
            "run_id": self.run_id,
            "flow": self.flow,
            "key": self.key,
            "notebook": self.notebook,
            "attempt": self.attempt,
            "status": self.status.value,
            "args": dict(self.args),
            "inputs": [{"name": t.name, "path": t.path, "version": t.version} for t in self.inputs],
            "outputs": [{"name": t.name, "path": t.path, "version": t.version} for t in self.outputs],
            "started": self.started,
            "ended": self.ended,
            "exit_value": self.exit_value,
            "error": self.error,
            "reason": self.reason,
            "fingerprint": self.fingerprint,
            "source_hash": self.source_hash,
            "started_at": _iso(self.started),
            "ended_at": _iso(self.ended),
        }

    def to_json(self) -> str:
        """`json.dumps(self.to_dict())`, written out directly (faster: once per notebook)."""
        args = self.args
        if args and any(k.__class__ is not str or v.__class__ is not str for k, v in args.items()):
            return json.dumps(self.to_dict())  # unusual values: let json decide how they look
        q = _quote_ascii
        tables = _tables_json
        started, started_at = _time_json(self.started)
        ended, ended_at = _time_json(self.ended)
        return (
            f'{{"run_id": {q(self.run_id)}, "flow": {q(self.flow)}, "key": {q(self.key)}, '
            f'"notebook": {q(self.notebook)}, "attempt": {_number(self.attempt)}, '
            f'"status": {q(self.status.value)}, "args": {{{", ".join(f"{q(k)}: {q(v)}" for k, v in args.items())}}}, '
            f'"inputs": [{tables(self.inputs)}], "outputs": [{tables(self.outputs)}], '
            f'"started": {started}, "ended": {ended}, '
            f'"exit_value": {_text(self.exit_value)}, "error": {_text(self.error)}, "reason": {_text(self.reason)}, '
            f'"fingerprint": {_text(self.fingerprint)}, "source_hash": {_text(self.source_hash)}, '
            f'"started_at": {started_at}, "ended_at": {ended_at}}}'
        )

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> RunRecord:
        """The record a JSON document describes; ValueError when a field has the wrong shape
        (files on storage can be edited or damaged by anyone)."""
        fields = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in doc.items() if k in fields}
        check_shape(values, complete=True)
        values["inputs"] = _versions(doc.get("inputs", ()), "inputs")
        values["outputs"] = _versions(doc.get("outputs", ()), "outputs")
        return cls(**values)


_SCALAR = (str, int, float, bool, type(None))


def check_shape(doc: Mapping[str, Any], complete: bool = False) -> None:
    """ValueError unless every record field `doc` holds has its type (`complete`: and the
    identifying fields are there). A last-success entry of an earlier release may hold only some."""
    for name in ("run_id", "flow", "key", "notebook"):
        _expect(doc, name, str, required=complete)
    _expect(doc, "attempt", int, required=complete)
    for name in ("exit_value", "error", "fingerprint", "source_hash"):
        _expect(doc, name, (str, type(None)), required=False)
    _expect(doc, "reason", str, required=False)
    for name in ("started", "ended"):
        _expect(doc, name, (int, float, type(None)), required=False)
    args = doc.get("args", {})
    if not isinstance(args, Mapping) or not all(isinstance(k, str) and isinstance(v, _SCALAR) for k, v in args.items()):
        raise ValueError("args: expected an object of plain values")
    _versions(doc.get("inputs", ()), "inputs")
    _versions(doc.get("outputs", ()), "outputs")


def _expect(values: Mapping[str, Any], name: str, kind: type | tuple[type, ...], required: bool = True) -> None:
    if name not in values:
        if required:
            raise ValueError(f"{name}: missing")
        return
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name}: unexpected {type(value).__name__}")


def _versions(items: Any, what: str) -> tuple[TableVersion, ...]:
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"{what}: expected a list")
    out = []
    for item in items:
        if not (isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("path"), str)):
            raise ValueError(f"{what}: expected objects with a name and a path")
        version = item.get("version")
        if version is not None and not isinstance(version, str):
            raise ValueError(f"{what}: a version must be a string or null")
        out.append(TableVersion(item["name"], item["path"], version))
    return tuple(out)


def is_record_doc(doc: Any) -> bool:
    """True when `doc` is a JSON object whose record fields have their types (`check_shape`)."""
    if not isinstance(doc, Mapping):
        return False
    try:
        check_shape(doc)
    except (ValueError, TypeError, KeyError):
        return False
    return True
