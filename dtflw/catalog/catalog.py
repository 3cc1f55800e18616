"""The pipeline catalogue: notebooks, tables and runs of one storage's run history, as data.

`Catalog(storage)` loads every run record once (see :mod:`dtflw.catalog.load`) and answers:
objects for a few rows (`table`, `notebook`, `run`), frames for many (`tables`, `notebooks`,
`runs`, `edges`: pandas when installed, else Spark when a session runs, else lists of dicts),
and the questions people ask (`who_writes`, `who_reads`, `impact`, `diff`, `slowest`,
`failing`, `unread_tables`). Across flows and drivers: tables are matched by absolute path.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from dtflw.catalog.frames import as_frame
from dtflw.catalog.load import Record, build_index, load_records
from dtflw.errors import HistoryError, InvalidArgumentError
from dtflw.model.status import RunStatus
from dtflw.storage.base import Storage

_SUCCEEDED, _FAILED = RunStatus.SUCCEEDED.value, RunStatus.FAILED.value


@attrs.frozen
class TableInfo:
    """A table: its path and names, who writes and reads it, its latest version and write."""

    path: str
    names: tuple[str, ...]
    producers: tuple[str, ...]  # notebook paths
    consumers: tuple[str, ...]
    flows: tuple[str, ...]
    latest_version: str | None
    last_write: float | None  # epoch seconds of the last successful write
    schema: str | None = None  # not recorded by dtflw yet


@attrs.frozen
class NotebookInfo:
    """A notebook: its tables and its run statistics over the loaded history."""

    path: str
    flows: tuple[str, ...]
    inputs: tuple[str, ...]  # table paths
    outputs: tuple[str, ...]
    runs: int
    succeeded: int
    failed: int
    success_rate: float | None
    median_seconds: float | None
    last_status: str | None


@attrs.frozen
class RunInfo:
    """One flow run: its records, statuses and time span."""

    run_id: str
    flows: tuple[str, ...]
    started: float | None
    ended: float | None
    counts: Mapping[str, int]
    records: tuple[Mapping[str, Any], ...] = attrs.field(repr=False)

    @property
    def seconds(self) -> float | None:
        return None if self.started is None or self.ended is None else self.ended - self.started


@attrs.frozen
class Change:
    """What differs for one notebook between two runs."""

    notebook: str
    what: str  # "args", "source", "input <name>", "status", "only in <run id>"
    before: str | None
    after: str | None


class Catalog:
    """Notebooks, tables and runs of `storage`'s run history (loaded when made; `reload()` again)."""

    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, Storage):
            raise InvalidArgumentError(f"Catalog needs a dtflw Storage, got {type(storage).__name__}.")
        self.storage = storage
        self.reload()

    def reload(self) -> None:
        """Read the history again (indexed runs from their index)."""
        self._records = sorted(load_records(self.storage), key=lambda r: r.get("started") or r.get("ended") or 0)
        self._build()

    def index(self, min_age_seconds: float = 3600.0) -> int:
        """Index finished runs for faster loading (see `dtflw.catalog.load.build_index`)."""
        return build_index(self.storage, min_age_seconds)

    def _build(self) -> None:
        writers: dict[str, list[Record]] = {}
        readers: dict[str, list[Record]] = {}
        names: dict[str, set[str]] = {}
        by_run: dict[str, list[Record]] = {}
        by_notebook: dict[str, list[Record]] = {}
        for r in self._records:
            by_run.setdefault(r.get("run_id") or "", []).append(r)
            by_notebook.setdefault(r.get("notebook") or "", []).append(r)
            for t in r.get("outputs") or ():
                path = t["path"]
                writers.setdefault(path, []).append(r)
                names.setdefault(path, set()).add(t["name"])
            for t in r.get("inputs") or ():
                path = t.get("path")
                if path:
                    readers.setdefault(path, []).append(r)
                    names.setdefault(path, set()).add(t["name"])
        self._writers, self._readers, self._names = writers, readers, names
        self._by_run, self._by_notebook = by_run, by_notebook
        # Runs by start (run ids of one second sort by their random part, not by time).
        self._run_order = sorted(
            self._by_run,
            key=lambda rid: (min((r.get("started") or r.get("ended") or 0) for r in self._by_run[rid]), rid),
        )

    # ---- objects ---------------------------------------------------------------------------
    def table(self, name_or_path: str) -> TableInfo:
        """The table with this absolute path, or the one table published under this name."""
        return self._table_info(self._resolve(name_or_path))

    def notebook(self, path: str) -> NotebookInfo:
        """A notebook by workspace path (or a unique suffix of one, e.g. "silver/merge_orders")."""
        matches = [p for p in self._by_notebook if p == path or p.endswith("/" + path.lstrip("/"))]
        if len(matches) != 1:
            raise InvalidArgumentError(_not_unique("notebook", path, matches, list(self._by_notebook)))
        return self._notebook_info(matches[0])

    def run(self, run_id: str) -> RunInfo:
        if run_id not in self._by_run:
            raise HistoryError(f"No run {run_id!r} in the history of {self.storage.base_path!r}.")
        return _run_info(run_id, self._by_run[run_id])

    # ---- frames ----------------------------------------------------------------------------
    def tables(self, kind: str = "auto") -> Any:
        return as_frame([attrs.asdict(self._table_info(p)) for p in sorted(self._names)], kind)

    def notebooks(self, kind: str = "auto") -> Any:
        return as_frame([attrs.asdict(self._notebook_info(p)) for p in sorted(self._by_notebook)], kind)

    def runs(self, kind: str = "auto") -> Any:
        rows = []
        for run_id in self._run_order:
            info = _run_info(run_id, self._by_run[run_id])
            rows.append({**attrs.asdict(info, filter=lambda a, _: a.name != "records"), "seconds": info.seconds})
        return as_frame(rows, kind)

    def records(self, kind: str = "auto") -> Any:
        """Every run record (one row per notebook attempt)."""
        return as_frame([_flat(r) for r in self._records], kind)

    def edges(self, kind: str = "auto") -> Any:
        """Lineage across flows: (source, target, kind) rows, table -> notebook reads and
        notebook -> table writes."""
        rows = {(p, str(r["notebook"]), "reads") for p, rs in self._readers.items() for r in rs}
        rows |= {(str(r["notebook"]), p, "writes") for p, rs in self._writers.items() for r in rs}
        return as_frame([{"source": s, "target": t, "kind": k} for s, t, k in sorted(rows)], kind)

    # ---- questions -------------------------------------------------------------------------
    def who_writes(self, table: str) -> list[str]:
        return sorted({str(r["notebook"]) for r in self._writers.get(self._resolve(table), ())})

    def who_reads(self, table: str) -> list[str]:
        return sorted({str(r["notebook"]) for r in self._readers.get(self._resolve(table), ())})

    def impact(self, table: str) -> dict[str, list[str]]:
        """Everything downstream of a table, across flows: the notebooks reading it, the tables
        they write, their readers, and so on."""
        start = self._resolve(table)
        notebooks: set[str] = set()
        tables: set[str] = set()
        todo = [start]
        while todo:
            path = todo.pop()
            for r in self._readers.get(path, ()):
                nb = str(r["notebook"])
                if nb in notebooks:
                    continue
                notebooks.add(nb)
                for out in {t["path"] for rec in self._by_notebook.get(nb, ()) for t in rec.get("outputs") or ()}:
                    if out not in tables and out != start:
                        tables.add(out)
                        todo.append(out)
        return {"notebooks": sorted(notebooks), "tables": sorted(tables)}

    def diff(self, run_a: str, run_b: str) -> list[Change]:
        """What changed between two runs, per notebook: arguments, source, input versions, status."""
        a, b = _final(self.run(run_a).records), _final(self.run(run_b).records)
        out: list[Change] = []
        for key in sorted(a.keys() | b.keys()):
            ra, rb = a.get(key), b.get(key)
            name = str((rb or ra or {}).get("notebook", key))
            if ra is None or rb is None:
                out.append(Change(name, f"only in {run_b if ra is None else run_a}", None, None))
                continue
            if dict(ra.get("args") or {}) != dict(rb.get("args") or {}):
                out.append(Change(name, "args", _text(ra.get("args")), _text(rb.get("args"))))
            if ra.get("source_hash") != rb.get("source_hash"):
                out.append(Change(name, "source", ra.get("source_hash"), rb.get("source_hash")))
            va, vb = _versions(ra.get("inputs")), _versions(rb.get("inputs"))
            for inp in sorted(va.keys() | vb.keys()):
                if va.get(inp) != vb.get(inp):
                    out.append(Change(name, f"input {inp}", va.get(inp), vb.get(inp)))
            if ra.get("status") != rb.get("status"):
                out.append(Change(name, "status", ra.get("status"), rb.get("status")))
        return out

    def slowest(self, n: int = 10, last_runs: int | None = None) -> list[tuple[str, float]]:
        """Notebooks by median duration of their successful runs (within the last N runs)."""
        medians = []
        for nb, records in self._recent(last_runs).items():
            times = [s for r in records if r.get("status") == _SUCCEEDED and (s := _seconds(r))]
            if times:
                medians.append((nb, statistics.median(times)))
        return sorted(medians, key=lambda x: -x[1])[: _count(n)]

    def failing(self, n: int = 10, last_runs: int | None = None) -> list[tuple[str, float, int]]:
        """Notebooks by failure rate (failed / runs that ran) within the last N runs: (path, rate, failures)."""
        out = []
        for nb, records in self._recent(last_runs).items():
            ran = [r for r in records if r.get("status") in (_SUCCEEDED, _FAILED)]
            failed = sum(r.get("status") == _FAILED for r in ran)
            if failed:
                out.append((nb, failed / len(ran), failed))
        return sorted(out, key=lambda x: (-x[1], -x[2]))[: _count(n)]

    def unread_tables(self) -> list[str]:
        """Tables some notebook writes and none reads."""
        return sorted(p for p in self._writers if p not in self._readers)

    # ---- helpers ---------------------------------------------------------------------------
    def _resolve(self, name_or_path: str) -> str:
        if not isinstance(name_or_path, str) or not name_or_path:
            raise InvalidArgumentError(f"A table is a name or an absolute path, got {name_or_path!r}.")
        if name_or_path in self._names:
            return name_or_path
        matches = sorted(p for p, names in self._names.items() if name_or_path in names)
        if len(matches) != 1:
            raise InvalidArgumentError(_not_unique("table", name_or_path, matches, sorted(self._names)))
        return matches[0]

    def _table_info(self, path: str) -> TableInfo:
        writes = [r for r in self._writers.get(path, ()) if r.get("status") == _SUCCEEDED]
        last = max(writes, key=lambda r: r.get("ended") or 0, default=None)
        version = None
        if last is not None:
            version = next((t.get("version") for t in last.get("outputs") or () if t["path"] == path), None)
        both = [*self._writers.get(path, ()), *self._readers.get(path, ())]
        return TableInfo(
            path=path,
            names=tuple(sorted(self._names.get(path, ()))),
            producers=tuple(self.who_writes(path)),
            consumers=tuple(self.who_reads(path)),
            flows=tuple(sorted({str(r.get("flow")) for r in both})),
            latest_version=version,
            last_write=None if last is None else last.get("ended"),
        )

    def _notebook_info(self, path: str) -> NotebookInfo:
        records = self._by_notebook[path]
        ok = [r for r in records if r.get("status") == _SUCCEEDED]
        failed = sum(r.get("status") == _FAILED for r in records)
        times = [s for r in ok if (s := _seconds(r))]
        return NotebookInfo(
            path=path,
            flows=tuple(sorted({str(r.get("flow")) for r in records})),
            inputs=tuple(sorted({t["path"] for r in records for t in r.get("inputs") or () if t.get("path")})),
            outputs=tuple(sorted({t["path"] for r in records for t in r.get("outputs") or ()})),
            runs=len(records),
            succeeded=len(ok),
            failed=failed,
            success_rate=len(ok) / (len(ok) + failed) if ok or failed else None,
            median_seconds=statistics.median(times) if times else None,
            last_status=records[-1].get("status") if records else None,
        )

    def _recent(self, last_runs: int | None) -> dict[str, list[Record]]:
        runs = self._run_order
        if last_runs is not None:
            runs = runs[-_count(last_runs) :]
        out: dict[str, list[Record]] = {}
        for run_id in runs:
            for r in self._by_run[run_id]:
                out.setdefault(str(r.get("notebook")), []).append(r)
        return out


def _run_info(run_id: str, records: Sequence[Record]) -> RunInfo:
    counts: dict[str, int] = {}
    for r in _final(records).values():
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    starts = [r["started"] for r in records if r.get("started")]
    ends = [r["ended"] for r in records if r.get("ended")]
    return RunInfo(
        run_id=run_id,
        flows=tuple(sorted({str(r.get("flow")) for r in records})),
        started=min(starts) if starts else None,
        ended=max(ends) if ends else None,
        counts=counts,
        records=tuple(records),
    )


def _final(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each notebook's last record in a run (its final attempt), by flow and key."""
    return {f"{r.get('flow')}:{r.get('key')}": r for r in records}


def _versions(tables: Any) -> dict[str, str | None]:
    return {str(t.get("name")): t.get("version") for t in tables or () if isinstance(t, dict)}


def _seconds(record: Record) -> float | None:
    started, ended = record.get("started"), record.get("ended")
    return ended - started if isinstance(started, (int, float)) and isinstance(ended, (int, float)) else None


def _text(value: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dict(value or {}).items()))


def _flat(record: Record) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if k not in ("inputs", "outputs", "args")}
    row["args"] = _text(record.get("args"))
    row["inputs"] = ", ".join(t["path"] for t in record.get("inputs") or () if t.get("path"))
    row["outputs"] = ", ".join(t["path"] for t in record.get("outputs") or ())
    row["seconds"] = _seconds(record)
    return row


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidArgumentError(f"Expected a whole number >= 1, got {n!r}.")
    return n


def _not_unique(kind: str, wanted: str, matches: Sequence[str], known: Sequence[str]) -> str:
    if matches:
        return f"{kind.capitalize()} {wanted!r} is ambiguous: {', '.join(matches[:10])}; give the full path."
    shown = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
    return f"No {kind} {wanted!r} in the run history (known: {shown or 'none'})."
