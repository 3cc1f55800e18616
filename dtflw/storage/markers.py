"""Pending markers with leases: a table counts as complete only when no writer holds it.

Before a notebook writes an output it marks it pending; only a successful write clears the mark,
so a failed or killed writer's half output is never mistaken for complete. A marker is a folder
`<table>._dtflw_pending/` with one entry per writer, named
`<start ns, 20 digits>-<owner>~<lease ms>~<notebook tag>` (earlier releases: `<start>-<owner>`,
with the default lease) and holding a little JSON (notebook, owner, run id) for error messages.
A writer is live while its entry's modification time (or its start, whichever is later) plus its
lease lies in the future, so liveness needs only the listing; `held()` renews the leases of a
running notebook's outputs from one shared thread. Backends whose entries are folders
(dbutils.fs) renew a `lease` file inside the folder instead. On a local disk the same entries
live in one file changed under a lock (`dtflw.storage.file_markers`).

- `mark_pending` creates the entry, then lists the marker once: when another writer is live
  there, this one withdraws its entry and raises `ConcurrentWriteError` naming that writer.
  Listing after creating makes this safe: of two racing writers at least one sees the other (if
  both do, both fail: never two writers at once). The one exception is a writer marked for the
  notebook a nested flow runs in (`inside`): that caller delegates its write, it is no rival.
- `clear_pending(path, owner)` removes the owner's entry and the entries of earlier writers whose
  lease expired (dead writers, whose half output this write replaced); never a live writer's.
- An expired entry still keeps its table pending until a later write succeeds.
- A legacy marker (a plain file, or an empty folder, as earlier releases left) counts as pending.

`<table>._dtflw_pending` sorts right before `<table>/...`, so Azure's one-listing `exists()` sees it.
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from dtflw.errors import ConcurrentWriteError, StorageError
from dtflw.storage.marker_entries import (  # the names stay importable from here too
    DEFAULT_LEASE_SECONDS,
    PENDING_SUFFIX,
    EntryVanishedError,
    PendingWriter,
    check_lease,
    check_owner,
    ended_entry_name,
    ended_entry_now,
    entry_name,
    is_marker_name,
    join_path,
    lease_ms,
    live_rivals,
    notebook_tag,
    owner_of,
    parse_entry,
    same_path,
)

__all__ = [
    "DEFAULT_LEASE_SECONDS", "LEASE_FILE", "MARK_ATTEMPTS", "PENDING_SUFFIX", "PendingMarkers", "PendingWriter",
    "check_lease", "check_owner", "ended_entry_name", "entry_name", "is_marker_name", "join_path", "lease_ms",
    "live_rivals", "notebook_tag", "owner_of", "parse_entry", "same_path",
]  # fmt: skip


class EntryInfo(Protocol):
    """What markers need of a listing entry (`dtflw.storage.base.PathInfo` has it)."""

    @property
    def path(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def is_dir(self) -> bool: ...
    @property
    def modification_time(self) -> int: ...


MARK_ATTEMPTS = 4  # tries of mark_pending when racing writers back off from each other
LEASE_FILE = "lease"  # inside a folder entry (backends whose markers are folders), renewed there
_LEGACY_TEXT = re.compile(r"written by notebook (.*)")
_log = logging.getLogger("dtflw")


@attrs.define
class _Mark:
    """What `mark_pending` learnt, so clear and renew need no listing in the common case."""

    name: str
    text: str
    is_dir: bool
    alone: bool  # the listing after creating showed no other entry


class PendingMarkers:
    """Pending-marker methods of `Storage` (a mixin over its primitives; see the module doc)."""

    #: Probe for a legacy single-file marker before creating an entry (one extra request). Backends
    #: whose entry creation fails under a file (local disk, dbutils.fs) may set this False: the
    #: failure is then what triggers the legacy clean-up.
    probe_legacy_marker: ClassVar[bool] = True

    if TYPE_CHECKING:

        def _checked_abs(self, path: str, name: str = "path") -> str: ...
        def _list_dir(self, path: str) -> Sequence[EntryInfo] | None: ...
        def _stat(self, path: str) -> EntryInfo | None: ...
        def _path_exists(self, path: str) -> bool: ...
        def _write_text(self, path: str, text: str) -> None: ...
        def _read_text(self, path: str) -> str | None: ...
        def _delete(self, path: str, recurse: bool = False) -> None: ...

    def pending_marker(self, path: str) -> str:
        """Path of the marker that says "`path` is being written by a notebook that has not finished"."""
        return self._checked_abs(path).rstrip("/") + PENDING_SUFFIX

    def mark_pending(
        self,
        path: str,
        notebook: str,
        owner: str | None = None,
        lease_seconds: float | None = None,
        run_id: str | None = None,
        inside: str | None = None,
    ) -> str:
        """Record that `notebook` is about to (re)write `path` as writer `owner`; returns the owner.

        `owner` (letters, digits, `.`, `_`, `-`; a fresh uuid when None) identifies this write; it
        counts as live for `lease_seconds` (default `DEFAULT_LEASE_SECONDS`) after its start or last `renew_pending`.
        Raises ConcurrentWriteError, leaving nothing behind, when another live writer holds `path`
        — except a writer that marked it for notebook `inside`, the notebook this call runs in
        (a nested driver whose caller declared the same output and delegates its write here).

        Two writers racing for a free output may both see each other and both back off; each
        then tries again after a short random pause (up to `MARK_ATTEMPTS` times), so one of them
        gets it. A writer that holds the output for real is still there on the last try.
        """
        owner = check_owner(owner)
        lease = check_lease(lease_seconds)
        for attempt in range(1, MARK_ATTEMPTS + 1):
            try:
                return self._mark_once(path, notebook, owner, lease, run_id, inside)
            except ConcurrentWriteError:
                if attempt == MARK_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _mark_once(
        self, path: str, notebook: str, owner: str, lease: float, run_id: str | None, inside: str | None
    ) -> str:
        """One attempt of `mark_pending`: create the entry, list once, withdraw and raise on a rival."""
        marker = self.pending_marker(path)
        if self.probe_legacy_marker:
            self._drop_legacy_marker(marker)
        stamp = time.time_ns()
        name = entry_name(stamp, owner, lease, notebook)
        entry = join_path(marker, name)
        text = json.dumps({"notebook": notebook, "owner": owner, "run_id": run_id})
        try:
            self._create_marker(entry, text)
        except StorageError:
            if not self._drop_legacy_marker(marker):  # a single-file marker of an earlier release
                raise
            self._create_marker(entry, text)
        listed = [e for e in self._list_dir(marker) or [] if not same_path(e.path, marker)]
        mine = [e for e in listed if e.name.rstrip("/") == name]
        others = [e for e in listed if e.name.rstrip("/") != name]
        live = live_rivals(self._writers(marker, others), owner, inside)
        if live:
            self._withdraw(marker, name)
            raise self._rival_error(path, marker, self._described(marker, live[0]))
        is_dir = bool(mine) and mine[0].is_dir
        self._marks()[(marker, owner)] = _Mark(name, text, is_dir, alone=not others)
        return owner

    def renew_pending(self, path: str, owner: str) -> None:
        """Extend writer `owner`'s lease on `path` (from now). EntryVanishedError when the entry
        this process marked is gone (another writer took over): it is not recreated."""
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        known = self._marks().get((marker, owner))
        if known is not None and self._stat(join_path(marker, known.name)) is None:
            raise EntryVanishedError(f"Writer {owner!r} no longer holds {path!r}: its marker entry is gone.")
        if known is None:
            entries = [e for e in self._list_dir(marker) or [] if owner_of(e.name.rstrip("/")) == owner]
            if not entries:
                raise StorageError(f"Cannot renew the lease of writer {owner!r} on {path!r}: it holds no entry.")
            latest = max(entries, key=lambda e: e.name)
            name = latest.name.rstrip("/")
            text = self._entry_text(join_path(marker, name), latest.is_dir) or json.dumps({"owner": owner})
            known = _Mark(name, text, latest.is_dir, alone=False)
        self._renew_marker(join_path(marker, known.name), known.text, known.is_dir)

    def abandon_pending(self, path: str, owner: str) -> None:
        """Writer `owner` stopped without finishing: `path` stays pending, but its lease ends now,
        so the next writer need not wait for it (and clears it once that write succeeds)."""
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        known = self._marks().pop((marker, owner), None)
        if known is None:
            return
        ended = ended_entry_name(known.name)  # same start, lease 0: dead from now on
        self._create_marker(join_path(marker, ended), known.text)
        self._delete(join_path(marker, known.name), recurse=True)

    def taint_pending(self, path: str, owner: str, notebook: str = "", run_id: str | None = None) -> None:
        """Writer `owner` wrote `path` while another writer held it (its hold was lost): leave an
        ended entry stamped now, which a writer that started earlier keeps when it clears, so
        `path` stays pending until a later write succeeds."""
        owner = check_owner(owner)
        marker = self.pending_marker(path)
        self._marks().pop((marker, owner), None)
        own = [e.name.rstrip("/") for e in self._list_dir(marker) or [] if owner_of(e.name.rstrip("/")) == owner]
        name = ended_entry_now(entry_name(0, owner, 1.0, notebook), time.time_ns())
        text = json.dumps({"notebook": notebook, "owner": owner, "run_id": run_id})
        self._create_marker(join_path(marker, name), text)
        for old in own:
            self._delete(join_path(marker, old), recurse=True)

    def _create_marker(self, path: str, text: str) -> None:
        """Create a marker entry at `path`; backends may override to do it more quietly or cheaply."""
        self._write_text(path, text)

    def _renew_marker(self, path: str, text: str, is_dir: bool) -> None:
        """Touch entry `path` so its modification time is now (a folder entry: its lease file)."""
        if is_dir:
            self._write_text(join_path(path, LEASE_FILE), text)
        else:
            self._create_marker(path, text)

    def clear_pending(self, path: str, owner: str | None = None) -> None:
        """Remove writer `owner`'s pending entry after its write succeeded (idempotent).

        Entries of earlier writers whose lease expired go too: they are dead, and this complete
        write replaced what they wrote. A live writer's entry always stays. Without `owner` the
        whole marker goes (the 0.6.x call). A missing marker or entry is not an error; concurrent
        clears are fine.
        """
        marker = self.pending_marker(path)
        if owner is None:
            self._delete(marker, recurse=True)
            return
        owner = check_owner(owner)
        known = self._marks().pop((marker, owner), None)
        if known is not None and known.alone:  # nobody else was there when this write started
            self._withdraw(marker, known.name)
            return
        entries = self._list_dir(marker)
        if entries is None:
            return
        listed = [e for e in entries if not same_path(e.path, marker)]
        writers = self._writers(marker, [e for e in listed if owner_of(e.name.rstrip("/")) != owner])
        own = [e.name.rstrip("/") for e in listed if owner_of(e.name.rstrip("/")) == owner]
        if not own:
            return  # an unknown owner clears nobody
        start = min(int(n[:20]) for n in own)  # this writer's start
        now = time.time()
        doomed = own + [w.entry for w in writers if w.stamp < start and not w.is_live(now)]
        for name in doomed:
            self._delete(join_path(marker, name), recurse=True)
        if len(doomed) == len(listed):
            self._remove_empty_dir(marker)

    def withdraw_pending(self, path: str, owner: str) -> None:
        """Take back writer `owner`'s mark before it wrote anything (a conflict on another output)."""
        marker = self.pending_marker(path)
        mark = self._marks().pop((marker, owner), None)
        if mark is not None:
            self._withdraw(marker, mark.name)

    def _withdraw(self, marker: str, name: str) -> None:
        """Remove one entry, and the marker folder if that left it empty."""
        self._delete(join_path(marker, name), recurse=True)
        self._remove_empty_dir(marker)

    def pending_owners(self, path: str) -> builtins.list[str]:
        """Owners of the pending entries of `path`, oldest writer first ([] when not pending)."""
        marker = self.pending_marker(path)
        entries = self._list_dir(marker) or []
        names = sorted(e.name.rstrip("/") for e in entries if not same_path(e.path, marker))
        return [owner_of(n) or n for n in names]

    def pending_writers(self, path: str) -> builtins.list[PendingWriter]:
        """The writers holding `path`, oldest first, with their notebooks and leases."""
        marker = self.pending_marker(path)
        entries = [e for e in self._list_dir(marker) or [] if not same_path(e.path, marker)]
        return sorted(self._writers(marker, entries), key=lambda w: (w.stamp, w.owner))

    def _remove_empty_dir(self, path: str) -> None:
        """Remove folder `path` only if it is empty; missing or non-empty (a race) is not an error."""
        entries = self._list_dir(path)
        if entries is not None and not entries:
            try:
                self._delete(path)
            except (StorageError, OSError):
                pass  # another writer added an entry meanwhile: the marker must stay

    def is_pending(self, path: str) -> bool:
        """True when a notebook started writing `path` and never finished successfully."""
        return self._path_exists(self.pending_marker(path))

    def delete(self, path: str) -> None:
        """Delete a table (or file) and its pending marker."""
        abs_path = self._checked_abs(path)
        self._delete(abs_path, recurse=True)
        self._delete(self.pending_marker(abs_path), recurse=True)

    # ---- internals ------------------------------------------------------------------------
    def _marks(self) -> dict[tuple[str, str], _Mark]:
        marks: dict[tuple[str, str], _Mark] | None = self.__dict__.get("_dtflw_marks")
        if marks is None:
            marks = self.__dict__.setdefault("_dtflw_marks", {})
        return marks

    def _drop_legacy_marker(self, marker: str) -> bool:
        """Delete a single-file marker (superseded by this write); True when there was one."""
        legacy = self._stat(marker)
        if legacy is None or legacy.is_dir:
            return False
        try:
            self._delete(marker)
        except StorageError:
            again = self._stat(marker)
            if again is not None and not again.is_dir:
                raise  # else another writer turned it into a marker folder meanwhile
        return True

    def _writers(self, marker: str, entries: Iterable[EntryInfo]) -> builtins.list[PendingWriter]:
        """The writers behind marker entries (their leases read; an entry gone meanwhile is left out)."""
        found = []
        for e in entries:
            name = e.name.rstrip("/")
            writer = parse_entry(name, e.modification_time)
            if writer is None:
                continue  # not an entry (a stray temporary file)
            if e.is_dir:
                lease_file = self._stat(join_path(join_path(marker, name), LEASE_FILE))
                if lease_file is not None and lease_file.modification_time > writer.renewed_ms:
                    writer = attrs.evolve(writer, renewed_ms=lease_file.modification_time)
            found.append(writer)
        return found

    def _rival_error(self, path: str, marker: str, rival: PendingWriter) -> ConcurrentWriteError:
        """The error for a writer that found `rival` holding `path`."""
        return ConcurrentWriteError(
            self._checked_abs(path), rival.owner, rival.notebook, rival.stamp / 1e9, marker, rival.run_id
        )

    def describe_writer(self, path: str, writer: PendingWriter) -> PendingWriter:
        """`writer` (one of `pending_writers(path)`) with the notebook and run id it recorded."""
        if writer.notebook or writer.run_id:
            return writer
        return self._described(self.pending_marker(path), writer)

    def _described(self, marker: str, writer: PendingWriter) -> PendingWriter:
        """`writer` with the notebook and run id its entry recorded (when it can be read)."""
        entry = join_path(marker, writer.entry)
        text = self._entry_text(entry, False)
        if text is None:  # a folder entry (dbutils.fs): its lease file, once renewed
            text = self._entry_text(entry, True)
        data: dict[str, Any] = {}
        if text:
            try:
                loaded = json.loads(text)
                data = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                legacy = _LEGACY_TEXT.search(text)
                data = {"notebook": legacy.group(1).strip()} if legacy else {}
        run_id = data.get("run_id")
        return attrs.evolve(writer, notebook=str(data.get("notebook") or ""), run_id=str(run_id) if run_id else None)

    def _entry_text(self, entry: str, is_dir: bool) -> str | None:
        try:
            return self._read_text(join_path(entry, LEASE_FILE) if is_dir else entry)
        except (NotImplementedError, StorageError, OSError):
            return None
