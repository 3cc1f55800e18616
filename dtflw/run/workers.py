"""Worker threads over a DAG: each worker takes the earliest ready node, runs it, and releases its
children itself, so a finished notebook never waits for a coordinating thread to start the next.

Scheduling is linear in nodes + edges: every node counts the upstream nodes it still waits for,
and a finished node decrements its children. The calling thread only waits; a Ctrl-C there
(KeyboardInterrupt) stops workers from taking new nodes, and a second one stops the waiting.
Workers are daemon threads, so a notebook abandoned after the second Ctrl-C never keeps the
process alive.
"""

from __future__ import annotations

import contextvars
import heapq
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Generic, TypeVar

R = TypeVar("R")


class DagWorkers(Generic[R]):
    """Runs `nodes` (given in execution order) respecting `upstream`, `max_workers` at a time.

    `run(node)` does the work in a worker (it must not raise; a BaseException it lets out is
    handed to `crashed(node, error)` for a result). `settle(node)` is asked, when a node becomes
    ready, for a result that makes running it unnecessary (an upstream failure), else None.
    `finish(node, result)` hears every outcome, one at a time (under the scheduler's lock).
    """

    def __init__(
        self,
        nodes: Sequence[int],
        upstream: Mapping[int, Set[int]],
        downstream: Mapping[int, Iterable[int]],
        max_workers: int,
        run: Callable[[int], R],
        settle: Callable[[int], R | None],
        finish: Callable[[int, R], None],
        crashed: Callable[[int, BaseException], R],
        limits: Mapping[int, tuple[int, int]] | None = None,
    ) -> None:
        self._position = {node: n for n, node in enumerate(nodes)}
        self._waits = {node: len(upstream[node] & self._position.keys()) for node in nodes}
        self._downstream = downstream
        self._max_workers = max(1, min(max_workers, len(nodes)))
        self._run, self._settle, self._finish, self._crashed = run, settle, finish, crashed
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for ready nodes
        self._idle = threading.Condition(self._lock)  # the caller waits here for the end
        self._ready: list[tuple[int, int]] = []
        self._active: set[int] = set()
        self._stopping = False
        self._closed = False
        self._failure: BaseException | None = None
        self._context = contextvars.copy_context()
        self._limits = dict(limits or {})  # node -> (group, at most this many of the group at once)
        self._in_group: dict[int, int] = {}
        with self._lock:
            self._make_ready(node for node, count in self._waits.items() if count == 0)

    def run_all(self, on_interrupt: Callable[[list[int]], None]) -> bool:
        """Run everything; True when all nodes finished, False after a Ctrl-C.

        After the first Ctrl-C no node starts; `on_interrupt(running nodes)` is called and the
        running ones are waited for, until they end or a second Ctrl-C arrives.
        """
        for number in range(self._max_workers):
            threading.Thread(target=self._work_loop, name=f"dtflw-{number}", daemon=True).start()
        try:
            with self._lock:
                while (self._ready or self._active) and self._failure is None:
                    self._idle.wait()
                self._closed = True
            if self._failure is not None:  # a bug in scheduling itself: say so rather than hang
                raise RuntimeError("dtflw's scheduler failed; the run is incomplete") from self._failure
            return True
        except KeyboardInterrupt:
            with self._lock:
                self._stopping = True
                self._work.notify_all()
                running = sorted(self._active, key=self._position.__getitem__)
            on_interrupt(running)
            try:
                with self._lock:
                    while self._active and self._failure is None:
                        self._idle.wait()
            except KeyboardInterrupt:
                pass
            with self._lock:
                self._closed = True
            return False

    def _work_loop(self) -> None:
        try:
            self._work_until_done()
        except BaseException as error:  # never leave the caller waiting for a worker that died
            with self._lock:
                self._failure = self._failure or error
                self._stopping = True
                self._work.notify_all()
                self._idle.notify_all()

    def _work_until_done(self) -> None:
        while True:
            with self._lock:
                node = self._take()
                while node is None and self._active and not self._stopping:
                    self._work.wait()
                    node = self._take()
                if self._stopping or node is None:
                    if node is not None:
                        self._put_back(node)
                    self._work.notify_all()
                    self._idle.notify_all()
                    return
                self._active.add(node)
            try:
                result = self._context.copy().run(self._run, node)
            except BaseException as error:  # the node's result says so; the worker goes on
                result = self._crashed(node, error)
            with self._lock:
                self._active.discard(node)
                if node in self._limits:  # a slot of its group is free again
                    self._in_group[self._limits[node][0]] -= 1
                    self._work.notify()
                if not self._closed:  # after a second Ctrl-C the run is concluded without it
                    self._finish(node, result)
                released = self._release(node)
                self._work.notify(max(0, released - 1))  # this worker takes one itself
                if not self._active and (self._stopping or not self._ready):
                    self._idle.notify_all()

    def _take(self) -> int | None:
        """The earliest ready node whose for-each group has a free slot (under the lock), or None."""
        blocked = []
        found = None
        while self._ready:
            item = heapq.heappop(self._ready)
            limit = self._limits.get(item[1])
            if limit is None or self._in_group.get(limit[0], 0) < limit[1]:
                found = item[1]
                if limit is not None:
                    self._in_group[limit[0]] = self._in_group.get(limit[0], 0) + 1
                break
            blocked.append(item)
        for item in blocked:
            heapq.heappush(self._ready, item)
        return found

    def _put_back(self, node: int) -> None:
        limit = self._limits.get(node)
        if limit is not None:
            self._in_group[limit[0]] -= 1
        heapq.heappush(self._ready, (self._position[node], node))

    def _release(self, node: int) -> int:
        """Children of a finished node that became ready: queued, or settled at once (and their
        own children released in turn). Returns how many were queued."""
        before = len(self._ready)
        self._make_ready(self._children_ready(node))
        return len(self._ready) - before

    def _children_ready(self, node: int) -> list[int]:
        out = []
        for child in self._downstream.get(node, ()):
            if child in self._waits:
                self._waits[child] -= 1
                if self._waits[child] == 0:
                    out.append(child)
        return out

    def _make_ready(self, nodes: Iterable[int]) -> None:
        stack = list(nodes)
        while stack:
            node = stack.pop()
            settled = self._settle(node)
            if settled is None:
                heapq.heappush(self._ready, (self._position[node], node))
                continue
            self._finish(node, settled)
            stack.extend(self._children_ready(node))
