"""Is a writer's process still running? Answered only where the answer is certain.

A pending marker's lease bounds how long a writer that died outright (kill -9, out of memory)
blocks its outputs. On a local disk the writer is usually a process on this very machine, so its
entry can also record which process it is, and a reader on the same machine can tell at once
that the process is gone.

A process is named `<boot id>:<pid namespace>:<pid>:<start time>` (Linux `/proc`): the boot id
and PID namespace make the PID mean the same process to the reader as to the writer (a
container with its own PID namespace differs), and the start time (clock ticks after boot) tells
a reused PID from the original. Anything else (another machine, another namespace, no `/proc`,
an unreadable value) answers "unknown", and the lease alone decides.
"""

from __future__ import annotations

import functools
import os


def this_process() -> str | None:
    """This process's name, or None where processes cannot be named (not Linux)."""
    return _named(os.getpid())  # keyed by pid: a forked child names itself afresh


def is_gone(process: str | None) -> bool:
    """True only when `process` certainly no longer runs (same machine, boot and PID namespace;
    its PID is free or belongs to a process started at another time)."""
    if not process:
        return False
    host = _host()
    if host is None:
        return False
    boot, namespace, pid, start = _split(process)
    if pid is None or (boot, namespace) != host:
        return False
    return _start_time(pid) != start


@functools.lru_cache(maxsize=8)
def _named(pid: int) -> str | None:
    host = _host()
    start = _start_time(pid)
    if host is None or start is None:
        return None
    return f"{host[0]}:{host[1]}:{pid}:{start}"


@functools.lru_cache(maxsize=1)
def _host() -> tuple[str, str] | None:
    """(boot id, PID namespace) of this machine and process, or None when unknown."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except (OSError, ValueError):
        return None
    if not boot or ":" in boot:
        return None
    return boot, namespace


def _start_time(pid: int) -> str | None:
    """When process `pid` started (clock ticks after boot), None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # after "pid (command) ": state is field 3
    if len(fields) < 20 or fields[0] == b"Z":  # a zombie has ended: only its exit status remains
        return None
    return fields[19].decode("ascii", "replace")  # field 22: starttime


def _split(process: str) -> tuple[str, str, int | None, str]:
    parts = process.split(":")
    if len(parts) != 4 or not parts[2].isdigit():
        return "", "", None, ""
    return parts[0], parts[1], int(parts[2]), parts[3]
