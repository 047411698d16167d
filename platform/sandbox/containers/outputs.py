"""The size-capped /output folder of one run.

Preferred: a tmpfs mounted on the host with `size=` and `nr_inodes=` and bind-mounted into the
container. The kernel enforces the cap (a writer gets ENOSPC; there is no race to lose), and
tmpfs pages are charged to the writing container's memory cgroup, so the cap cannot exhaust
the worker either. It needs the worker to be allowed to mount (root, as the Docker worker
host is). Where mounting is refused, the fallback is a plain folder polled by the runner,
which kills the container once it is over the cap (`hard_cap` is False then: a fast writer
can overshoot by what it writes between two polls).

Results are copied out as regular top-level files only (no symlinks are followed: a link to
/etc/shadow written by the model must not be read by the worker).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

#: Considered "full" when less than this is left: the model hit the cap.
FULL_MARGIN_BYTES = 64 * 1024
MOUNT_PREFIX = "fetalbench-output-"
#: Where runs keep their output mounts and image copies; the reaper looks here.
DEFAULT_SCRATCH = Path(tempfile.gettempdir()) / "fetalbench-sandbox"


def _mount_tmpfs(path: Path, options: str) -> bool:
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "fetalbench-output", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no mount binary
        return False
    return result.returncode == 0


class OutputArea:
    """Create with `OutputArea(parent, run_id, max_bytes, max_files, uid, gid)`; then
    `mount_dir` is bound as /output; `collect(dest)` copies results; `close()` unmounts."""

    def __init__(
        self,
        parent: Path,
        run_id: str,
        max_bytes: int,
        max_files: int,
        uid: int,
        gid: int,
        use_tmpfs: bool = True,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.mount_dir = Path(parent) / f"{MOUNT_PREFIX}{run_id}"
        self.mount_dir.mkdir(parents=True)
        options = (
            f"size={max_bytes},nr_inodes={max_files + 16},uid={uid},gid={gid},mode=0700,"
            "nosuid,nodev,noexec"
        )
        self.hard_cap = use_tmpfs and _mount_tmpfs(self.mount_dir, options)
        if not self.hard_cap:
            # Fallback: a plain folder the container's uid may write; the runner polls it.
            self.mount_dir.chmod(0o777)

    def usage_bytes(self) -> int:
        """Bytes the model has written (allocated blocks, so sparse tricks still count)."""
        if self.hard_cap:
            st = os.statvfs(self.mount_dir)
            return (st.f_blocks - st.f_bfree) * st.f_frsize
        total = 0
        for root, _dirs, files in os.walk(self.mount_dir):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512
        return total

    def is_full(self) -> bool:
        """True when the model used up the space or the file-count cap."""
        if self.hard_cap:
            st = os.statvfs(self.mount_dir)
            return st.f_bavail * st.f_frsize < FULL_MARGIN_BYTES or st.f_favail < 2
        return self.usage_bytes() > self.max_bytes

    def collect(self, dest: Path) -> list[str]:
        """Copy the top-level regular files to `dest`; returns what was skipped and why."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        skipped: list[str] = []
        for entry in sorted(os.scandir(self.mount_dir), key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                kind = "link" if stat.S_ISLNK(info.st_mode) else "folder or special file"
                skipped.append(f"{entry.name} ({kind}; only files directly in /output count)")
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as src, (dest / entry.name).open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return skipped

    def close(self) -> None:
        """Unmount (tmpfs) and remove the folder; safe to call twice."""
        if self.hard_cap:
            subprocess.run(["umount", "-l", str(self.mount_dir)], capture_output=True, check=False)
            self.hard_cap = False
        shutil.rmtree(self.mount_dir, ignore_errors=True)

    def __enter__(self) -> OutputArea:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unmount_stale(parent: Path, live_run_ids: set[str], max_age_seconds: float) -> list[Path]:
    """Unmount and remove output folders under `parent` that a crashed worker left: not
    belonging to a live run and older than `max_age_seconds` (a run mounts before it creates
    its container, so a young folder may belong to a run that is just starting)."""
    removed: list[Path] = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    now = time.time()
    for path in parent.iterdir():
        if not path.name.startswith(MOUNT_PREFIX):
            continue
        if path.name[len(MOUNT_PREFIX) :] in live_run_ids:
            continue
        try:
            age = now - path.lstat().st_mtime
        except OSError:
            continue
        if age >= max_age_seconds:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
