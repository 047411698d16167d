"""Scratch folders for unpacked submissions that clean up after a killed process.

`evaluator.io.archives.unpacked` removes its folder when it finishes, but a scoring process
that is killed (OOM killer, a worker's hard time limit, SIGKILL on shutdown) leaves it behind,
and in a tmpfs (`/dev/shm`) that is memory nobody gets back until a reboot. So each folder's
name says who made it: ``fetalbench-unpack-<host>-<pid>-<start>-<random>``, where ``start``
is the process's start time (clock ticks since boot, from ``/proc``) and tells a reused pid
from the original. `sweep_stale` removes folders whose creator is gone, and
`sweep_stale_now_and_then` runs it at most every `SWEEP_INTERVAL_S` per process, from the
start of unpacking, so no separate reaper is needed and the offline CLI cleans up too.

What it never removes: folders of another host name (a container sharing the folder sees
other pid numbers), folders younger than `MIN_AGE_S` (a guard against a clock or pid mix-up
removing a folder that is being filled), folders whose creator still runs, and anything not
named in this format (older random names, other programs' files).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

PREFIX = "fetalbench-unpack-"
#: A tmpfs for small submissions' contents (`evaluator.io.archives` unpacks there first);
#: skipped if absent.
MEMORY_ROOT = Path("/dev/shm")
#: A stale folder must be at least this old (by modification time) to be removed.
MIN_AGE_S = 10 * 60
#: `sweep_stale_now_and_then` sweeps at most this often per process.
SWEEP_INTERVAL_S = 10 * 60

_NAME = re.compile(re.escape(PREFIX) + r"(?P<host>[A-Za-z0-9.]+)-(?P<pid>\d+)-(?P<start>\d+)-")
_last_sweep: dict[int, float] = {}  # pid -> monotonic time of its last sweep (fork-safe)


def _host() -> str:
    """This machine's (or container's) name, reduced to the characters the name format uses."""
    return re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:64] or "host"


def process_start(pid: int) -> int | None:
    """Start time of process `pid` in clock ticks since boot; None if it does not exist.

    Field 22 of ``/proc/<pid>/stat``, read after the command name (which may hold spaces and
    parentheses). Without ``/proc`` (not Linux) the start is 0 for a running process, so only
    the pid is compared.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None  # /proc works and the process is gone
    except (OSError, IndexError, ValueError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # exists, owned by someone else
    return 0


@functools.cache
def _identity(pid: int) -> str:
    """``<host>-<pid>-<start>`` of this process (cached per pid, so a fork gets its own)."""
    return f"{_host()}-{pid}-{process_start(pid) or 0}"


def new_workdir(root: Path | str | None) -> Path:
    """A fresh private folder (mode 0700) under `root` or the temp folder, named after this
    process so that `sweep_stale` can tell when it has been left behind."""
    name = tempfile.mkdtemp(prefix=f"{PREFIX}{_identity(os.getpid())}-", dir=root)
    return Path(name).resolve()


def is_stale(name: str, host: str | None = None) -> bool:
    """Whether a folder called `name` was made on this host by a process that has ended.

    A pid that runs again with another start time is a reused pid: the creator has ended.
    """
    match = _NAME.match(name)
    if match is None or match["host"] != (host or _host()):
        return False
    start = process_start(int(match["pid"]))
    if start is None:
        return True
    recorded = int(match["start"])
    return start != 0 and recorded != 0 and start != recorded


def sweep_stale(roots: list[Path | str] | None = None, min_age_s: float = MIN_AGE_S) -> list[Path]:
    """Remove left-behind unpack folders under `roots` (default: the tmpfs and the temp
    folder); returns what was removed. Never raises: a folder that cannot be listed or removed
    (another user's, a race with another sweep) is left for later."""
    if roots is None:
        roots = [MEMORY_ROOT, tempfile.gettempdir()]
    removed: list[Path] = []
    host, now = _host(), time.time()
    for root in dict.fromkeys(str(r) for r in roots):
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(PREFIX) or not is_stale(entry.name, host):
                continue
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                if now - entry.stat(follow_symlinks=False).st_mtime < min_age_s:
                    continue
                shutil.rmtree(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def sweep_stale_now_and_then() -> None:
    """`sweep_stale` on the default roots, at most every `SWEEP_INTERVAL_S` in this process
    (the first unpack of a process sweeps): leftovers come only from killed processes, so
    sweeping before every submission would add cost for nothing."""
    pid, now = os.getpid(), time.monotonic()
    last = _last_sweep.get(pid)
    if last is not None and now - last < SWEEP_INTERVAL_S:
        return
    _last_sweep[pid] = now
    sweep_stale()
