"""Unpack folders left behind by a killed process are swept; live and foreign ones stay.

Real processes, real folders (the tmpfs and tmp_path), real SIGKILL: no mocks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evaluator.io import archives, scratch

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = 3600.0  # seconds: older than scratch.MIN_AGE_S


def _age(folder: Path, seconds: float = LONG_AGO) -> Path:
    """Set the folder's modification time `seconds` into the past."""
    past = os.stat(folder).st_mtime - seconds
    os.utime(folder, (past, past))
    return folder


def _ended_pid() -> int:
    """The pid of a process that has run and ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _folder(root: Path, identity: str, suffix: str = "abc123") -> Path:
    folder = root / f"{scratch.PREFIX}{identity}-{suffix}"
    (folder / "contents").mkdir(parents=True)
    (folder / "contents" / "001_HC.png").write_bytes(b"x" * 100)
    return folder


def test_folder_of_an_ended_process_is_swept_and_a_live_ones_stays(tmp_path: Path) -> None:
    host = scratch._host()
    mine = _age(scratch.new_workdir(tmp_path))  # this process: alive
    assert mine.name.startswith(f"{scratch.PREFIX}{host}-{os.getpid()}-")
    dead = _age(_folder(tmp_path, f"{host}-{_ended_pid()}-12345"))
    start = scratch.process_start(os.getpid())
    assert start  # Linux: /proc gives a start time
    reused = _age(_folder(tmp_path, f"{host}-{os.getpid()}-{start + 1}"))  # pid reused since
    young = _folder(tmp_path, f"{host}-{_ended_pid()}-12345")  # dead, but just made
    foreign = _age(_folder(tmp_path, f"other.host-{_ended_pid()}-12345"))  # another container
    legacy = _age(_folder(tmp_path, "", "1s5hjyff").rename(tmp_path / "fetalbench-unpack-k2j"))

    removed = scratch.sweep_stale([tmp_path])

    assert sorted(removed) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    assert mine.is_dir() and young.is_dir() and foreign.is_dir() and legacy.is_dir()
    assert scratch.sweep_stale([tmp_path]) == []  # nothing more to do
    assert scratch.sweep_stale([tmp_path / "missing"]) == []  # an absent root is no error


_UNPACK_AND_HANG = """
import sys, time
sys.path.insert(0, sys.argv[1])
from evaluator.io.archives import unpacked
with unpacked(sys.argv[2]) as folder:
    print(folder, flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not scratch.MEMORY_ROOT.is_dir(), reason="no /dev/shm on this machine")
def test_unpack_folder_of_a_killed_scoring_process_is_removed_by_a_later_unpack(
    tmp_path: Path,
) -> None:
    """A process killed while it holds a submission unpacked in the tmpfs leaves the folder;
    the next process's first unpack removes it once it is old enough, and not before."""
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("001_HC.png", b"\x89PNG" + bytes(64))
    child = subprocess.Popen(
        [sys.executable, "-c", _UNPACK_AND_HANG, str(ROOT), str(archive)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        contents = Path(child.stdout.readline().strip())
        workdir = contents.parent
        assert workdir.parent == scratch.MEMORY_ROOT.resolve()
        assert (contents / "001_HC.png").is_file()
        assert workdir not in scratch.sweep_stale([scratch.MEMORY_ROOT], min_age_s=0)
        assert workdir.is_dir()  # its creator runs: kept, whatever its age
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert workdir.is_dir()  # killed: nothing cleaned up

    scratch._last_sweep.clear()  # as in a freshly started process
    with archives.unpacked(archive):
        pass
    assert workdir.is_dir()  # younger than MIN_AGE_S: left for now

    _age(workdir)
    scratch._last_sweep.clear()
    with archives.unpacked(archive) as folder:
        assert (folder / "001_HC.png").is_file()
    assert not workdir.exists()
