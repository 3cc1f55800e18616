"""Pending markers on a local disk: one file per table, changed only under an exclusive lock.

The generic protocol (`dtflw.storage.markers`) keeps one entry per writer in a marker *folder*
because object stores and `dbutils.fs` have no lock. A local disk has one (`flock`), so here the
marker `<table>._dtflw_pending` is a single file holding the same entries as JSON, and every
change is a read-modify-write under the file's lock. Same rules, same leases, same errors; but a
mark and a clear touch one file instead of creating, listing and removing a folder: measured on
the 2-core machine, a mark and a clear take 220 µs against 530 µs on its disk, 150 µs against
210 µs in memory (first writes of fresh tables).

- The file exists exactly while the table is pending; the last writer to clear removes it while
  holding the lock. A waiter that then gets the lock of the removed file notices (the path no
  longer names the file it opened) and opens again.
- A crash mid-update leaves a file that does not parse: still pending (never mistaken for
  complete), with no live writer, so the next writer proceeds and its success clears it.
- Plain text (a single-file marker of an earlier release) is a dead writer the same way.
- A marker *folder* at that path (the generic protocol's) is handled by the generic protocol.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
import stat
import time
from json.encoder import encode_basestring as _quote
from typing import Any

import attrs

from dtflw.errors import StorageError
from dtflw.storage.marker_entries import (
    EntryVanishedError,
    PendingWriter,
    check_owner,
    ended_entry_name,
    ended_entry_now,
    entry_name,
    lease_ms,
    live_rivals,
    notebook_tag,
    parse_entry,
)
from dtflw.storage.markers import PendingMarkers, _Mark
from dtflw.storage.processes import this_process

_FORMAT = "dtflw-pending/1"
_FIELDS = frozenset({"entry", "owner", "stamp", "lease_ms", "tag", "notebook", "run_id", "renewed_ms"})


class LockedFileMarkers(PendingMarkers):
    """`PendingMarkers` for a local file system: a single marker file updated under `flock`.

    Each public method is one read-modify-write of the file under its lock. A marker that is a
    folder (the generic protocol's) is handed to `PendingMarkers`.
    """

    def _mark_once(
        self, path: str, notebook: str, owner: str, lease: float, run_id: str | None, inside: str | None
    ) -> str:
        marker = self.pending_marker(path)
        try:
            fd = _open_locked(marker, create=True)
        except IsADirectoryError:
            return super()._mark_once(path, notebook, owner, lease, run_id, inside)
        try:
            writers = _read(fd)
            live = live_rivals(writers, owner, inside) if writers else []
            if live:
                raise self._rival_error(path, marker, live[0])
            stamp = time.time_ns()
            name = entry_name(stamp, owner, lease, notebook)
            tag = notebook_tag(notebook) if notebook else None
            writers.append(
                PendingWriter(name, owner, stamp, notebook, run_id, lease, stamp // 1_000_000, tag, this_process())
            )
            text = _write(fd, writers)
        finally:
            os.close(fd)  # releases the lock
        self._marks()[(marker, owner)] = _Mark(name, text, is_dir=False, alone=len(writers) == 1)
        return owner

    def renew_pending(self, path: str, owner: str) -> None:
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        known = self._marks().get((marker, owner))
        try:
            fd = _open_locked(marker, create=False)  # a vanished marker is never recreated
        except IsADirectoryError:
            super().renew_pending(path, owner)
            return
        except FileNotFoundError:
            if known is not None:
                raise EntryVanishedError(f"Writer {owner!r} no longer holds {path!r}: its marker is gone.") from None
            raise StorageError(f"Cannot renew the lease of writer {owner!r} on {path!r}: it holds no entry.") from None
        try:
            writers = _read(fd)
            if not any(w.owner == owner for w in writers):
                if known is None:
                    raise StorageError(f"Cannot renew the lease of writer {owner!r} on {path!r}: it holds no entry.")
                raise EntryVanishedError(f"Writer {owner!r} no longer holds {path!r}: its marker entry is gone.")
            now_ms = int(time.time() * 1000)
            _write(fd, [attrs.evolve(w, renewed_ms=now_ms) if w.owner == owner else w for w in writers])
        finally:
            os.close(fd)

    def abandon_pending(self, path: str, owner: str) -> None:
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        known = self._marks().pop((marker, owner), None)
        if known is None:
            return
        try:
            fd = _open_locked(marker, create=True)  # the table stays pending whatever happened meanwhile
        except IsADirectoryError:  # marked through the generic protocol: abandon there
            self._marks()[(marker, owner)] = known
            super().abandon_pending(path, owner)
            return
        try:
            writers = _read(fd)
            if not any(w.owner == owner for w in writers):  # its entry vanished: taken over, written all the same
                writers.append(_fresh_ended(known.name))
            _write(fd, [_ended(w) if w.owner == owner else w for w in writers])
        finally:
            os.close(fd)

    def taint_pending(self, path: str, owner: str, notebook: str = "", run_id: str | None = None) -> None:
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        self._marks().pop((marker, owner), None)
        try:
            fd = _open_locked(marker, create=True)
        except IsADirectoryError:
            super().taint_pending(path, owner, notebook, run_id)
            return
        try:
            writers = [w for w in _read(fd) if w.owner != owner]
            mine = _fresh_ended(entry_name(0, owner, 1.0, notebook))
            writers.append(attrs.evolve(mine, notebook=notebook, run_id=run_id))
            _write(fd, writers)
        finally:
            os.close(fd)

    def clear_pending(self, path: str, owner: str | None = None) -> None:
        if owner is None:
            super().clear_pending(path)
            return
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        known = self._marks().pop((marker, owner), None)
        try:
            fd = _open_locked(marker, create=False)
        except IsADirectoryError:
            super().clear_pending(path, owner)
            return
        except FileNotFoundError:
            return
        try:
            if known is not None and known.alone and _read_raw(fd) == known.text.encode("utf-8"):
                _write_or_remove(fd, marker, [])  # unchanged since this writer marked it alone
                return
            writers = _read(fd)
            own = [w for w in writers if w.owner == owner]
            if not own:
                return  # an unknown owner clears nobody
            start = min(w.stamp for w in own)
            now = time.time()
            kept = [w for w in writers if w.owner != owner and (w.stamp >= start or w.is_live(now))]
            _write_or_remove(fd, marker, kept)
        finally:
            os.close(fd)

    def withdraw_pending(self, path: str, owner: str) -> None:
        marker = self.pending_marker(path)
        known = self._marks().pop((marker, owner), None)
        if known is None:
            return
        try:
            fd = _open_locked(marker, create=False)
        except IsADirectoryError:  # marked through the generic protocol: withdraw there
            self._withdraw(marker, known.name)
            return
        except FileNotFoundError:
            return
        try:
            _write_or_remove(fd, marker, [w for w in _read(fd) if w.owner != owner])
        finally:
            os.close(fd)

    def pending_owners(self, path: str) -> builtins.list[str]:
        return [w.owner for w in self.pending_writers(path)]

    def pending_writers(self, path: str) -> builtins.list[PendingWriter]:
        marker = self.pending_marker(path)
        try:
            fd = _open_locked(marker, create=False, shared=True)
        except IsADirectoryError:
            return super().pending_writers(path)
        except FileNotFoundError:
            return []
        try:
            writers = _read(fd)
        finally:
            os.close(fd)
        return sorted((w for w in writers if w.owner), key=lambda w: (w.stamp, w.owner))


# ---- the marker file ---------------------------------------------------------------------------
def _open_locked(path: str, create: bool, shared: bool = False) -> int:
    """A descriptor of marker file `path`, locked (exclusive, or `shared` for reading); the caller
    closes it, which releases the lock.

    Raises FileNotFoundError when it is missing (and not `create`), IsADirectoryError for a folder.
    """
    flags = (os.O_RDONLY if shared else os.O_RDWR) | (os.O_CREAT if create else 0)
    for _ in range(1000):
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            except OSError as error:
                raise StorageError(
                    f"Creating the folder of marker {path!r} failed: {error.strerror or error}."
                ) from error
            continue
        except IsADirectoryError:
            raise
        except OSError as error:
            raise StorageError(f"Opening marker {path!r} failed: {error.strerror or error}.") from error
        try:
            opened = os.fstat(fd)
            if stat.S_ISDIR(opened.st_mode):
                raise IsADirectoryError(path)
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
        except BaseException:
            os.close(fd)
            raise
        if now is not None and now.st_ino == opened.st_ino and now.st_dev == opened.st_dev:
            return fd
        os.close(fd)  # removed (or replaced) before the lock was ours: open the path again
        if now is None and not create:
            raise FileNotFoundError(path)
    raise StorageError(f"Locking marker {path!r} failed: it kept being replaced.")  # pragma: no cover


def _read_raw(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""


def _read(fd: int) -> builtins.list[PendingWriter]:
    """The writers a locked marker file records ([] when empty; one dead writer when unreadable)."""
    raw = _read_raw(fd)
    if not raw:
        return []
    try:
        docs = json.loads(raw)["writers"]
        if isinstance(docs, list) and all(isinstance(d, dict) and d.keys() >= _FIELDS for d in docs):
            writers = [_from_json(d) for d in docs]
            if all(0 <= w.stamp < 2**63 and 0 <= w.renewed_ms < 2**53 and w.lease_seconds >= 0 for w in writers):
                return writers
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        pass
    text = raw.decode("utf-8", "replace")  # cut short by a crash, or an earlier release's plain text
    notebook = text.split("written by notebook", 1)[1].strip() if "written by notebook" in text else ""
    return [PendingWriter("", "", 0, notebook, None, 0.0)]  # unknown and dead: pending until superseded


def _write(fd: int, writers: builtins.list[PendingWriter]) -> str:
    """Replace the file's writers; returns the text written."""
    text = f'{{"format": "{_FORMAT}", "writers": [{", ".join(_encode(w) for w in writers)}]}}'
    data = text.encode("utf-8")
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    except OSError as error:
        raise StorageError(f"Updating a pending marker failed: {error.strerror or error}.") from error
    return text


def _write_or_remove(fd: int, marker: str, writers: builtins.list[PendingWriter]) -> None:
    if writers:
        _write(fd, writers)
        return
    try:
        os.unlink(marker)  # under the lock: a waiter sees the path no longer names its file
    except FileNotFoundError:
        pass
    except OSError as error:
        raise StorageError(f"Removing marker {marker!r} failed: {error.strerror or error}.") from error


def _encode(w: PendingWriter) -> str:
    """One writer as JSON (by hand: this runs for every notebook, `json.dumps` is 3x slower)."""
    run_id = "null" if w.run_id is None else _quote(w.run_id)
    process = "" if w.process is None else f', "process": {_quote(w.process)}'
    return (
        f'{{"entry": {_quote(w.entry)}, "owner": {_quote(w.owner)}, "stamp": {int(w.stamp)}, '
        f'"lease_ms": {lease_ms(w.lease_seconds)}, "tag": {_quote(w.notebook_tag or "")}, '
        f'"notebook": {_quote(w.notebook)}, "run_id": {run_id}, "renewed_ms": {int(w.renewed_ms)}{process}}}'
    )


def _from_json(d: dict[str, Any]) -> PendingWriter:
    return PendingWriter(
        str(d["entry"]), str(d["owner"]), int(d["stamp"]), str(d["notebook"] or ""),
        str(d["run_id"]) if d["run_id"] else None, int(d["lease_ms"]) / 1000, int(d["renewed_ms"]),
        str(d["tag"]) or None, str(d["process"]) if d.get("process") else None,
    )  # fmt: skip


def _parse(name: str, renewed_ms: int | None = None) -> PendingWriter:
    """The writer entry `name` describes, renewed at `renewed_ms` (default: now)."""
    when = int(time.time() * 1000) if renewed_ms is None else renewed_ms
    return parse_entry(name, when) or PendingWriter(name, "", 0, "", None, 0.0, when)


def _fresh_ended(name: str) -> PendingWriter:
    """An ended entry for the writer `name` describes, stamped now: a writer that started before
    now keeps it when it clears (this writer wrote after that one started)."""
    stamp = time.time_ns()
    return attrs.evolve(_parse(name), entry=ended_entry_now(name, stamp), stamp=stamp, lease_seconds=0.0, process=None)


def _ended(w: PendingWriter) -> PendingWriter:
    """`w` with its lease ended now: dead from now on, still pending."""
    return attrs.evolve(w, entry=ended_entry_name(w.entry), lease_seconds=0.0)
