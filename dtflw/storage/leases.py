"""Holding outputs while a notebook writes them: mark, renew the leases, clear or abandon.

`held()` is what running a notebook uses (see `dtflw.storage.markers` for markers and leases).
One daemon thread per process renews every held output's lease when it falls due; at
interpreter exit the leases still held are ended (their writers die with the process).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

from dtflw.errors import HoldLostError
from dtflw.storage.marker_entries import EntryVanishedError, PendingWriter
from dtflw.storage.markers import PendingMarkers, check_lease, check_owner

_log = logging.getLogger(__name__)


class _Hold:
    def __init__(
        self, storage: PendingMarkers, path: str, owner: str, interval: float, notebook: str, run_id: str | None
    ) -> None:
        self.storage, self.path, self.owner, self.interval = storage, path, owner, interval
        self.notebook, self.run_id = notebook, run_id
        self.due = time.monotonic() + interval
        self.lock = threading.Lock()
        self.active = True
        self.renewed_at = time.time()  # wall clock, as other writers judge the lease
        self.lost = False  # another writer took the output over (its entry vanished, or a later one is there)

    def renew(self) -> None:
        """Renew the lease; a lease that lapsed meanwhile (the process was paused) is renewed and
        then checked: if another writer came in while it had lapsed, the hold is lost, and the
        output is marked pending again at once (the body may still be writing it)."""
        lapsed = time.time() - self.renewed_at >= self.interval * 3
        renewing = time.time()
        try:
            self.storage.renew_pending(self.path, self.owner)
        except EntryVanishedError:  # taken over and cleared: never recreate it
            self._lose()
            return
        if lapsed and _later_writer(self.storage, self.path, self.owner) is not False:
            self._lose()  # renewed, then checked: a writer coming in after this renewal sees it live
            return
        self.renewed_at = renewing

    def _lose(self) -> None:
        self.lost, self.active = True, False
        try:
            self.storage.taint_pending(self.path, self.owner, self.notebook, self.run_id)
        except Exception as error:  # `held` tries again when the body ends
            _log.warning("dtflw: marking %r pending again failed: %s", self.path, error)


class _Renewer:
    """One daemon thread per process renewing the leases of every held output when they fall due."""

    def __init__(self) -> None:
        self._exit_hook = False
        self._wake = threading.Condition()
        self._holds: dict[int, _Hold] = {}
        self._thread: threading.Thread | None = None
        self._wakes_at = float("inf")  # when the thread wakes next (monotonic)

    def hold(
        self,
        storage: PendingMarkers,
        path: str,
        owner: str,
        lease: float,
        notebook: str = "",
        run_id: str | None = None,
    ) -> _Hold:
        h = _Hold(storage, path, owner, lease / 3, notebook, run_id)
        with self._wake:
            self._holds[id(h)] = h
            if not self._exit_hook:
                atexit.register(self.abandon_all)
                self._exit_hook = True
            if self._thread is None or not self._thread.is_alive():  # first use, or after a fork
                self._thread = threading.Thread(target=self._loop, name="dtflw-lease-renewer", daemon=True)
                self._thread.start()
            if h.due < self._wakes_at:  # else the thread wakes in time anyway: no wake-up per notebook
                self._wake.notify()
        return h

    def release(self, h: _Hold) -> None:
        """Stop renewing `h`; returns once a renewal under way has finished (so a clear comes after it)."""
        with self._wake:
            self._holds.pop(id(h), None)
        with h.lock:
            h.active = False

    def abandon_all(self) -> None:
        """At interpreter exit: end the leases of outputs still held (their writers die with this
        process, e.g. after a second Ctrl-C), so the next run need not wait for them to run out.
        The outputs stay pending."""
        with self._wake:
            holds = list(self._holds.values())
            self._holds.clear()
        for h in holds:
            try:
                h.storage.abandon_pending(h.path, h.owner)
            except Exception as error:
                _log.warning("dtflw: ending the lease on %r at exit failed: %s", h.path, error)

    def _loop(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = [h for h in self._holds.values() if h.due <= now]
                if not due:
                    self._wakes_at = min((h.due for h in self._holds.values()), default=float("inf"))
                    self._wake.wait(None if not self._holds else max(self._wakes_at - now, 0.001))
                    self._wakes_at = float("-inf")  # awake: a new hold need not notify
                    continue
                for h in due:
                    h.due = now + h.interval
            for h in due:
                with h.lock:
                    if not h.active:
                        continue
                    try:
                        h.renew()
                    except Exception as error:  # keep renewing the others; this one retries next time
                        _log.warning("dtflw: renewing the lease on %r failed: %s", h.path, error)


_RENEWER = _Renewer()


@contextmanager
def held(
    storage: PendingMarkers,
    paths: Sequence[str],
    notebook: str,
    owner: str | None = None,
    lease_seconds: float | None = None,
    run_id: str | None = None,
    inside: str | None = None,
) -> Iterator[dict[str, str]]:
    """Hold `paths` pending while the body writes them; yields {path: owner}.

    Marks every path (ConcurrentWriteError, with nothing left behind, when another live writer
    holds one; `inside`: see `mark_pending`), renews the leases every third of `lease_seconds`
    while the body runs, and clears the marks when the body returns. An exception in the body,
    an interrupt (KeyboardInterrupt, SystemExit) included, leaves them pending but ends their
    leases (`abandon_pending`), so the next writer may proceed and its success clears them. A
    body that is still running elsewhere (a second Ctrl-C stops the flow waiting for it) keeps
    its leases until the process exits, when they are ended too.
    """
    lease = check_lease(lease_seconds)
    owner = check_owner(owner)  # one owner for all of this notebook's outputs
    owners: dict[str, str] = {}
    try:
        for path in dict.fromkeys(paths):
            owners[path] = storage.mark_pending(
                path, notebook, owner, lease_seconds=lease, run_id=run_id, inside=inside
            )
    except BaseException:
        for path, who in owners.items():  # nothing written yet: withdraw, clearing nobody else
            storage.withdraw_pending(path, who)
        raise
    holds = [_RENEWER.hold(storage, path, who, lease, notebook, run_id) for path, who in owners.items()]
    try:
        yield owners
    except BaseException:  # also Ctrl-C in the notebook's own thread: its writing stopped with it
        _release(holds)
        for path, who in owners.items():  # the writer is done: pending, but no longer live
            try:
                storage.abandon_pending(path, who)
            except Exception as error:  # the lease then simply runs out
                _log.warning("dtflw: ending the lease on %r failed: %s", path, error)
        raise
    finally:
        _release(holds)  # (again after an exception: harmless)
    lost = _lost_holds(storage, holds, lease)
    if lost:
        paused = max((time.time() - h.renewed_at for h in holds), default=0.0)
        _give_up(storage, owners, lost, notebook, run_id, paused)
    for path, who in owners.items():
        storage.clear_pending(path, who)


def _lost_holds(storage: PendingMarkers, holds: Sequence[_Hold], lease: float) -> dict[str, PendingWriter | None]:
    """The outputs another writer took over while the body ran: {path: that writer (None when
    unknown)}. Checked only for holds whose lease went unrenewed for half of it or more (the
    process was paused or starved) or whose entry vanished; the others were held throughout."""
    lost: dict[str, PendingWriter | None] = {}
    now = time.time()
    for h in holds:
        if not h.lost and now - h.renewed_at < lease / 2:
            continue
        later = _later_writer(storage, h.path, h.owner)
        if h.lost or later is not False:
            lost[h.path] = later or None
    return lost


def _later_writer(storage: PendingMarkers, path: str, owner: str) -> PendingWriter | None | Literal[False]:
    """False while `owner` holds `path` alone since its start; else the writer that came in after
    it (None when `owner`'s own entry is gone and nobody later is there)."""
    writers = storage.pending_writers(path)
    own = [w for w in writers if w.owner == owner]
    start = min((w.stamp for w in own), default=0)
    later = [w for w in writers if w.owner != owner and w.stamp > start]
    if later:
        return later[0]
    return None if not own else False


def _give_up(
    storage: PendingMarkers,
    owners: dict[str, str],
    lost: dict[str, PendingWriter | None],
    notebook: str,
    run_id: str | None,
    paused: float,
) -> None:
    """Leave every output pending (the lost ones with an entry stamped now, which the writer that
    took over keeps when it clears) and raise HoldLostError for the first lost one."""
    for path, who in owners.items():
        try:
            if path in lost:
                storage.taint_pending(path, who, notebook, run_id)
            else:
                storage.abandon_pending(path, who)
        except Exception as error:  # best effort: the lease runs out anyway
            _log.warning("dtflw: leaving %r pending failed: %s", path, error)
    path, rival = next(iter(lost.items()))
    marker = storage.pending_marker(path)
    if rival is None:
        raise HoldLostError(path, "", "", 0.0, marker, None, paused)
    try:
        rival = storage.describe_writer(path, rival)
    except Exception:  # the error is what matters; its details are a courtesy
        pass
    raise HoldLostError(path, rival.owner, rival.notebook, rival.stamp / 1e9, marker, rival.run_id, paused)


def _release(holds: Iterable[_Hold]) -> None:
    for h in holds:
        _RENEWER.release(h)
