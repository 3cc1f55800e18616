"""Pending-marker entries: names, owners, leases and the writers they describe.

An entry is named `<start ns, 20 digits>-<owner>~<lease ms>~<notebook tag>`; `PendingWriter` is
what such an entry says (plus the notebook and run id its content records). Shared by the
generic protocol (`dtflw.storage.markers`) and the local locked file (`file_markers`).
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import re
import time
import uuid
from collections.abc import Iterable

import attrs

from dtflw.errors import InvalidArgumentError, StorageError
from dtflw.storage.processes import is_gone

PENDING_SUFFIX = "._dtflw_pending"  # `<table>._dtflw_pending` sorts right before `<table>/...`
#: How long a writer counts as live without renewing its lease (`held` renews every third of it).
DEFAULT_LEASE_SECONDS = 120.0  # renewed every 40 s while held; how long a dead writer blocks others

_OWNER = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_ENTRY = re.compile(r"^(\d{20})-(.+?)(?:~(\d{1,15}))?(?:~([0-9a-f]{10}))?$")


class EntryVanishedError(StorageError):
    """A writer's own marker entry is gone: another writer took the output over (it judged this
    one dead) or someone removed the marker. Renewing it would hide that, so it is not renewed."""


def is_marker_name(name: str) -> bool:
    """True for a pending marker's file or folder name."""
    return name.rstrip("/").endswith(PENDING_SUFFIX)


def join_path(base: str, rel: str) -> str:
    """Join two path pieces with exactly one slash between them."""
    if not base:
        return rel
    if not rel:
        return base
    return base.rstrip("/") + "/" + rel.lstrip("/")


def same_path(a: str, b: str) -> bool:
    """True when two paths name the same place (scheme and slashes aside)."""
    return a.rstrip("/").split(":", 1)[-1].lstrip("/") == b.rstrip("/").split(":", 1)[-1].lstrip("/")


def check_owner(owner: str | None) -> str:
    """`owner` checked (letters, digits, `.`, `_`, `-`), or a fresh uuid when None."""
    if owner is None:
        return uuid.uuid4().hex
    if not isinstance(owner, str) or not _OWNER.match(owner) or owner in (".", ".."):
        raise InvalidArgumentError(f"owner must be 1-100 letters, digits, '.', '_' or '-', got {owner!r}.")
    return owner


def owner_of(entry_name: str) -> str | None:
    m = _ENTRY.match(entry_name.rstrip("/"))
    return m.group(2) if m else None


def entry_name(stamp: int, owner: str, lease_seconds: float, notebook: str | None = None) -> str:
    """A marker entry's name: start (ns), owner, lease (ms) and a tag of the writing notebook (so
    a nested flow inside that notebook knows it is no rival)."""
    return f"{stamp:020d}-{owner}~{lease_ms(lease_seconds)}" + (f"~{notebook_tag(notebook)}" if notebook else "")


def lease_ms(lease_seconds: float) -> int:
    """A lease in whole milliseconds: at least 1, unless 0 ("ended")."""
    return 0 if lease_seconds == 0 else max(1, round(lease_seconds * 1000))


def ended_entry_name(name: str) -> str:
    """Entry `name` with its lease ended (same start, owner and notebook tag; lease 0)."""
    m = _ENTRY.match(name)
    if m is None:
        return name
    return f"{m.group(1)}-{m.group(2)}~0" + (f"~{m.group(4)}" if m.group(4) else "")


def ended_entry_now(name: str, stamp: int) -> str:
    """Entry `name` ended (lease 0) and restamped `stamp`: a writer that started before `stamp`
    keeps it when it clears (the writer `name` describes wrote after that one started)."""
    m = _ENTRY.match(name)
    if m is None:
        return f"{stamp:020d}-unknown~0"
    return f"{stamp:020d}-{m.group(2)}~0" + (f"~{m.group(4)}" if m.group(4) else "")


def parse_entry(name: str, renewed_ms: int = 0) -> PendingWriter | None:
    """The writer an entry name describes (None for a name that is not an entry)."""
    m = _ENTRY.match(name)
    if m is None:
        return None
    lease = DEFAULT_LEASE_SECONDS if m.group(3) is None else int(m.group(3)) / 1000
    return PendingWriter(name, m.group(2), int(m.group(1)), "", None, lease, renewed_ms, m.group(4))


def live_rivals(writers: Iterable[PendingWriter], owner: str, inside: str | None) -> builtins.list[PendingWriter]:
    """The live writers other than `owner` and other than one marked for notebook `inside` (the
    notebook a nested flow runs in, which delegates its write: no rival), oldest first."""
    parent = notebook_tag(inside) if inside else None
    now = time.time()
    live = [w for w in writers if w.owner != owner and w.is_live(now) and (parent is None or w.notebook_tag != parent)]
    return sorted(live, key=lambda w: (w.stamp, w.owner))


@functools.lru_cache(maxsize=4096)
def notebook_tag(notebook: str) -> str:
    """A short, name-safe tag of a notebook path."""
    return hashlib.sha1(notebook.encode("utf-8")).hexdigest()[:10]


def check_lease(lease_seconds: float | None) -> float:
    if lease_seconds is None:
        return DEFAULT_LEASE_SECONDS
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)) or not lease_seconds > 0:
        raise InvalidArgumentError(f"lease_seconds must be a positive number, got {lease_seconds!r}.")
    return float(lease_seconds)


@attrs.frozen
class PendingWriter:
    """One writer's entry in a marker: who, which notebook, since when, and until when it is live."""

    entry: str  # the entry's name in the marker folder
    owner: str
    stamp: int  # start time, ns since the epoch
    notebook: str = ""
    run_id: str | None = None
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    renewed_ms: int = 0  # last renewal (the entry's modification time), ms since the epoch
    notebook_tag: str | None = None  # `notebook_tag()` of the writing notebook, when recorded
    process: str | None = None  # the writing process (`dtflw.storage.processes`), when recorded

    @property
    def expires(self) -> float:
        """Epoch seconds after which this writer counts as dead unless it renews."""
        return max(self.renewed_ms / 1000, self.stamp / 1e9) + self.lease_seconds

    def is_live(self, now: float | None = None) -> bool:
        """Within its lease, and its process (when recorded) not certainly gone. An ended lease
        (0) is dead whatever its time stamps say (another machine's clock may run ahead)."""
        if self.lease_seconds <= 0:
            return False
        return self.expires > (time.time() if now is None else now) and not is_gone(self.process)
