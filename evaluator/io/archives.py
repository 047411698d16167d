"""Safe unpacking of submitted archives (.zip, .tar, .tar.gz/.tgz).

Submissions are untrusted uploads. Python's own `extractall` follows member names and links
where they point, trusts declared sizes and happily inflates a zip bomb, so this module
extracts member by member: it refuses unsafe names and link/device members before writing
anything, checks declared sizes and compression ratios up front, and counts the bytes it
actually writes (declared sizes can lie). Every refusal is an `ArchiveError` with a message a
participant can act on.

Where to unpack: creating a file on a journalled disk costs ~0.4 ms here, more than decoding a
small mask, so a submission's contents go to a memory-backed folder (`scratch.MEMORY_ROOT`, a tmpfs)
when they fit in `ArchiveLimits.memory_bytes` and half of its free space; larger ones (or a
machine without one) use the ordinary temporary folder. Both are removed afterwards; folders
left behind by a killed process are removed by a later unpack (`evaluator.io.scratch`).
"""

from __future__ import annotations

import bz2
import collections
import contextlib
import errno
import gzip
import io
import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from evaluator.io import scratch
from evaluator.io.names import printable, quoted, shortened

#: Byte units, here for the whole project (the sandbox's limits count in them too).
GiB = 1024**3
MiB = 1024**2
_CHUNK = 1 * MiB
_TAR_BLOCK = 512
#: Decompressed bytes a tar stream keeps at hand (two read-ahead buffers).
_KEEP_BYTES = 2 * _CHUNK

#: Longest member name accepted, in characters: far above any real submission's paths, and
#: with the unpack folder's own path well inside Linux's PATH_MAX (4096 bytes).
MAX_NAME_CHARS = 1024
#: Longest single folder or file name, in bytes: the file-system limit (NAME_MAX) on Linux.
MAX_PART_BYTES = 255


@dataclass(frozen=True)
class ArchiveLimits:
    """Upper bounds for one archive; defaults suit thousands of 2-D masks with ample room.

    `max_ratio` (uncompressed / compressed) only applies above `ratio_min_bytes`: small, very
    regular files (an all-background NIfTI mask) legitimately compress 500:1, whereas a bomb
    needs both a huge ratio and a huge output.
    """

    max_members: int = 100_000
    max_total_bytes: int = 8 * GiB
    max_member_bytes: int = 1 * GiB
    max_ratio: float = 200
    ratio_min_bytes: int = 16 * MiB
    #: Contents up to this size are unpacked into `scratch.MEMORY_ROOT` (0: always on disk).
    memory_bytes: int = 256 * MiB


class ArchiveError(ValueError):
    """The archive is unsafe, corrupt or of an unknown format; the message is for humans.

    Messages quote member names, which may hold bytes that are not UTF-8 or NUL: they are
    made printable (`evaluator.io.names.printable`) so that they can always be shown and
    stored.
    """

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


class _Progress:
    """The last member reached, so that a failure can say where the archive broke."""

    def __init__(self) -> None:
        self.last: str | None = None
        self.files = 0

    def after(self) -> str:
        return f" after member {quoted(shortened(self.last))}" if self.last else ""


class _OutOfRoom(Exception):
    """The contents outgrow the memory-backed folder: unpack again on disk."""


@contextlib.contextmanager
def unpacked(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> Iterator[Path]:  # noqa: B008
    """Yield a folder with the archive's contents; a folder is yielded as-is, and a bare
    `.csv` (an HC18 ellipse CSV, one file for every case) in a folder of its own.

    Archives are extracted into a fresh temporary folder (memory-backed when the contents
    fit, see the module docstring) that is removed afterwards, even when the caller raises.
    """
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise ArchiveError(f"{path.name}: no such file or folder")
    if is_bare_csv(path):
        yield from _single_file_folder(path)
        return
    kind = detect_format(path)
    workdir: Path | None = None
    scratch.sweep_stale_now_and_then()
    try:
        room = _memory_room(limits)
        if room is not None:
            workdir = _workdir(scratch.MEMORY_ROOT)
            try:
                dest = _extract(path, kind, limits, workdir, room)
            except _OutOfRoom:
                shutil.rmtree(workdir, ignore_errors=True)
                workdir = None
        if workdir is None:
            workdir = _workdir(None)
            dest = _extract(path, kind, limits, workdir, None)
        yield dest
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


#: Single files a submission may be on their own (not inside an archive): the HC18 ellipse
#: CSV, which is one file for every case (docs/formats.md).
BARE_FILE_SUFFIXES = (".csv",)


def is_bare_csv(path: Path) -> bool:
    """A file named *.csv whose bytes are not an archive: an ellipse CSV uploaded as it is."""
    return path.name.lower().endswith(BARE_FILE_SUFFIXES) and sniff_format(path) is None


def _single_file_folder(path: Path) -> Iterator[Path]:
    """A fresh folder holding a copy of `path` under its own name, removed afterwards, so a
    lone file is discovered and validated exactly as it would be inside a zip."""
    workdir = _workdir(None)
    try:
        dest = workdir / "contents"
        dest.mkdir()
        shutil.copyfile(path, dest / path.name)
        yield dest
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _memory_room(limits: ArchiveLimits) -> int | None:
    """Bytes the contents may take in `scratch.MEMORY_ROOT`: the limit or half its free space."""
    if limits.memory_bytes <= 0:
        return None
    root = scratch.MEMORY_ROOT
    try:
        if not (root.is_dir() and os.access(root, os.W_OK | os.X_OK)):
            return None
        fs = os.statvfs(root)
    except OSError:
        return None
    room = min(limits.memory_bytes, fs.f_bavail * fs.f_frsize // 2)
    return room if room > 0 else None


def _workdir(root: Path | None) -> Path:
    """A fresh private folder (mode 0700) under `root` or the temp folder, named after this
    process so that one left behind by a killed process can be swept (`evaluator.io.scratch`)."""
    return scratch.new_workdir(root)


def _extract(path: Path, kind: str, limits: ArchiveLimits, workdir: Path, room: int | None) -> Path:
    """Unpack into `workdir`/contents; `room` caps the bytes (memory-backed scratch only)."""
    dest = workdir / "contents"
    dest.mkdir()
    progress = _Progress()
    try:
        if kind == "zip":
            _extract_zip(path, dest, limits, room, progress)
        else:
            _extract_tar(path, dest, limits, kind, room, progress)
    except (ArchiveError, _OutOfRoom):
        raise
    except OSError as exc:
        if room is not None and exc.errno == errno.ENOSPC:
            raise _OutOfRoom from None  # another job filled the tmpfs meanwhile
        if exc.errno == errno.ENAMETOOLONG:  # pragma: no cover - names are checked first
            raise ArchiveError(
                f"{path.name}: a member's name is too long{progress.after()}"
            ) from None
        raise _corrupt(path, exc, progress) from None
    except UnicodeDecodeError as exc:
        if kind != "zip":
            raise _corrupt(path, exc, progress) from None
        # zipfile decodes names flagged UTF-8 strictly (others as cp437, never failing).
        raise ArchiveError(
            f"{path.name}: a member name is marked as UTF-8 but is not (byte "
            f"0x{exc.object[exc.start]:02x}); re-create the archive with a current zip tool"
        ) from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        gzip.BadGzipFile,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        raise _corrupt(path, exc, progress) from None
    if progress.files == 0:
        what = "only empty folders" if progress.last else "no files"
        raise ArchiveError(f"{path.name}: the archive is empty ({what})")
    return dest


def _corrupt(path: Path, exc: BaseException, progress: _Progress) -> ArchiveError:
    return ArchiveError(
        f"{path.name}: the archive is corrupt or truncated{progress.after()} ({_reason(exc)})"
    )


def detect_format(path: Path) -> str:
    """'zip', 'gz', 'bz2', 'xz' or 'tar' from the file's magic bytes, not its name.

    Names lie (a .zip renamed .tgz); the content decides, and anything else is refused.
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if not head:
        raise ArchiveError(f"{path.name}: the file is empty")
    if len(head) == _TAR_BLOCK and head.count(0) == _TAR_BLOCK:
        # An empty tar is only its end-of-archive marker: zero blocks.
        raise ArchiveError(f"{path.name}: the archive is empty (no files)")
    raise ArchiveError(
        f"{path.name}: not a supported archive; upload a .zip, .tar, .tar.gz or .tgz file "
        "(or a folder)"
    )


def sniff_format(path: Path) -> str | None:
    """The archive format of a file by its magic bytes ('zip', 'gz', 'bz2', 'xz', 'tar',
    '7z', 'rar'), or None; never raises. Used to recognise an archive inside a submission."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_TAR_BLOCK)
    except OSError:
        return None
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    if head[:4] == b"Rar!":
        return "rar"
    try:
        return detect_format(path)
    except (ArchiveError, OSError):
        return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


# --------------------------------------------------------------------------- names


def safe_member_path(name: str) -> PurePosixPath:
    """Validated relative path for a member name; raises ArchiveError on traversal.

    Backslashes count as separators (archives made on Windows), and absolute paths, drive
    letters and `..` components are refused outright rather than silently rewritten, so a
    malicious upload is reported as such.
    """
    if len(name) > MAX_NAME_CHARS:
        raise ArchiveError(
            f"member name longer than {MAX_NAME_CHARS} characters ({len(name)}): "
            f"{quoted(shortened(name))}"
        )
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        raise ArchiveError(f"member {quoted(name)} has an absolute path; archives must be relative")
    parts = [p for p in normalised.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"member {quoted(name)} points outside the archive ('..' in its path)")
    if any("\x00" in p for p in parts):
        raise ArchiveError(f"member {quoted(name)} has a NUL byte in its name")
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES:
            raise ArchiveError(
                f"member {quoted(shortened(name))}: a folder or file name in it is longer than "
                f"{MAX_PART_BYTES} bytes (the file-system limit); shorten it"
            )
    return PurePosixPath(*parts)


def _target(dest: Path, rel: PurePosixPath) -> str:
    """Where member `rel` (from `safe_member_path`) is written under `dest`, as a string.

    Checked on the pure path, with no filesystem call per member: `rel` is relative with no
    `..`, and `dest` is a fresh private folder (already resolved) in which this module
    creates only plain folders and files (link members are refused), so nothing under it can
    redirect a write. The check is defence in depth; the name checks make it impossible.
    Strings, not Path objects: this runs once per member of archives of thousands of files.
    """
    target = os.path.join(dest, *rel.parts)
    if os.path.normpath(target) != target or not target.startswith(f"{dest}{os.sep}"):
        raise ArchiveError(f"member {quoted(str(rel))} points outside the archive")
    return target


class _Folders:
    """Creates each member's folder once, not once per member."""

    def __init__(self, dest: Path) -> None:
        self._made = {str(dest)}

    def ensure(self, folder: str) -> None:
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)

    def ensure_parent(self, target: str) -> None:
        self.ensure(os.path.dirname(target))


class _Budget:
    """Counts members and bytes across the whole archive against the limits."""

    def __init__(self, archive: str, limits: ArchiveLimits, room: int | None = None) -> None:
        self.archive = archive
        self.limits = limits
        self.room = room  # bytes the memory-backed scratch may take; None on disk
        self.members = 0
        self.total = 0
        self.seen: set[str] = set()

    def add_member(self, rel: PurePosixPath, is_dir: bool) -> bool:
        """Count a member; False for the archive's own root entry ("./"), which is skipped."""
        if not rel.parts:
            if is_dir:
                return False
            raise ArchiveError(f"{self.archive}: a member has an empty name")
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveError(
                f"{self.archive}: more than {self.limits.max_members} members in the archive"
            )
        key = str(rel)
        if key in self.seen and not is_dir:
            raise ArchiveError(f"{self.archive}: member {quoted(key)} appears twice in the archive")
        self.seen.add(key)
        return True

    def check_declared(self, name: str, size: int, compressed: int | None) -> None:
        lim = self.limits
        if size > lim.max_member_bytes:
            raise ArchiveError(
                f"member {quoted(name)} is {_human(size)} uncompressed; the limit is "
                f"{_human(lim.max_member_bytes)} per file"
            )
        if compressed is not None:
            self._check_ratio(name, size, compressed)

    def _check_ratio(self, name: str, size: int, compressed: int) -> None:
        lim = self.limits
        if size > lim.ratio_min_bytes and size > lim.max_ratio * max(compressed, 1):
            raise ArchiveError(
                f"member {quoted(name)} expands from {_human(compressed)} to {_human(size)} "
                f"(more than {lim.max_ratio:g}:1): refusing a likely zip bomb"
            )

    def copy(self, name: str, src: BinaryIO, target: str, declared: int, compressed: int | None):
        """Copy one member, counting real bytes: declared sizes in headers can lie.

        Written with plain `os` calls (no buffered file object): a submission is hundreds of
        small files, and the per-file overhead is most of their cost.
        """
        lim = self.limits
        written = 0
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                self.total += len(chunk)
                if written > declared:
                    raise ArchiveError(
                        f"member {quoted(name)} holds more data than its declared "
                        f"{_human(declared)}: the archive is corrupt or malicious"
                    )
                if written > lim.max_member_bytes:
                    raise ArchiveError(
                        f"member {quoted(name)} is larger than {_human(lim.max_member_bytes)}"
                    )
                if self.total > lim.max_total_bytes:
                    raise ArchiveError(
                        f"{self.archive}: the contents exceed {_human(lim.max_total_bytes)} "
                        "in total"
                    )
                if self.room is not None and self.total > self.room:
                    raise _OutOfRoom
                if compressed is not None:
                    self._check_ratio(name, written, compressed)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
        finally:
            os.close(out)
        if written != declared:
            raise ArchiveError(
                f"member {quoted(name)} is truncated ({_human(written)} of {_human(declared)})"
            )


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


# --------------------------------------------------------------------------- zip


def _extract_zip(
    path: Path, dest: Path, limits: ArchiveLimits, room: int | None, progress: _Progress
) -> None:
    budget = _Budget(path.name, limits, room)
    folders = _Folders(dest)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(
                f"{path.name}: {len(infos)} members; the limit is {limits.max_members}"
            )
        declared_total = 0
        plan = []
        for info in infos:  # check everything before writing anything
            # zipfile cuts a name at its first NUL ("a.png\0evil" reads "a.png"); the raw
            # name is in orig_filename. An empty name has no file to write (and no is_dir()).
            if "\x00" in info.orig_filename:
                raise ArchiveError(f"member {quoted(info.orig_filename)} has a NUL byte in its name")
            if not info.filename:
                raise ArchiveError(f"{path.name}: a member has an empty name")
            rel = safe_member_path(info.filename)
            file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zipper set none
            if file_type == stat.S_IFLNK:
                raise ArchiveError(
                    f"member {quoted(info.filename)} is a symbolic link; not allowed"
                )
            if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(f"member {quoted(info.filename)} is not a regular file")
            if info.flag_bits & 0x1:
                raise ArchiveError(
                    f"member {quoted(info.filename)} is encrypted; upload an archive without a password"
                )
            if not budget.add_member(rel, info.is_dir()):
                continue
            if info.is_dir():
                plan.append((info, rel, True))
                continue
            budget.check_declared(info.filename, info.file_size, info.compress_size)
            declared_total += info.file_size
            if declared_total > limits.max_total_bytes:
                raise ArchiveError(
                    f"{path.name}: the contents would exceed {_human(limits.max_total_bytes)}"
                )
            plan.append((info, rel, False))
        if room is not None and declared_total > room:
            raise _OutOfRoom  # known before writing anything: go straight to disk
        for info, rel, is_dir in plan:
            target = _target(dest, rel)
            if is_dir:
                folders.ensure(target)
                progress.last = info.filename
                continue
            folders.ensure_parent(target)
            with zf.open(info) as src:
                budget.copy(info.filename, src, target, info.file_size, info.compress_size)
            progress.last = info.filename
            progress.files += 1


# --------------------------------------------------------------------------- tar


class _GuardedStream(io.RawIOBase):
    """Decompressed tar stream that refuses to inflate beyond the limits.

    A .tar.gz has no per-member compressed sizes, so the ratio is measured per member as the
    compressed bytes consumed from the file while that member's bytes were produced (`mark`
    starts a member). Measuring the whole stream instead would refuse legitimate archives of
    many small, very regular masks.
    """

    def __init__(self, raw: BinaryIO, kind: str, name: str, limits: ArchiveLimits) -> None:
        self._counted = CountingReader(raw)
        self._inner: BinaryIO
        if kind == "gz":
            self._inner = gzip.GzipFile(fileobj=self._counted, mode="rb")  # type: ignore[arg-type]
        elif kind == "bz2":
            self._inner = bz2.BZ2File(self._counted)  # type: ignore[arg-type]  # noqa: SIM115
        elif kind == "xz":
            self._inner = lzma.LZMAFile(self._counted)  # type: ignore[arg-type]  # noqa: SIM115
        else:
            self._inner = self._counted  # type: ignore[assignment]
        self._name = name
        self._limits = limits
        self._produced = 0
        self._member = ""
        self._mark = (0, 0)
        # The latest pieces produced, (offset, bytes), at least _KEEP_BYTES of them: enough
        # to look again at the block where tarfile stopped reading headers, which it read
        # moments ago through buffers smaller than that (see `bytes_at`). References only.
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque()
        self._held = 0

    def mark(self, member: str) -> None:
        """Start measuring the compression ratio of `member`."""
        self._member = member
        self._mark = (self._produced, self._counted.count)

    def readable(self) -> bool:
        return True

    def bytes_at(self, offset: int, size: int) -> bytes | None:
        """Up to `size` bytes of the decompressed stream from `offset`, if still held (None
        when they are gone); fewer when the stream ended there."""
        pieces = [(start, data) for start, data in self._recent if start + len(data) > offset]
        if not pieces or pieces[0][0] > offset:
            return None if offset < self._produced else b""
        joined = b"".join(data for _, data in pieces)
        skip = offset - pieces[0][0]
        return joined[skip : skip + size]

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self._recent.append((self._produced, data))
            self._held += n
            while self._held - len(self._recent[0][1]) >= _KEEP_BYTES:
                self._held -= len(self._recent.popleft()[1])
        self._produced += n
        lim = self._limits
        # tar adds headers and padding; allow them on top of the content limit.
        if self._produced > lim.max_total_bytes + 512 * (lim.max_members * 3 + 20):
            raise ArchiveError(f"{self._name}: the contents exceed {_human(lim.max_total_bytes)}")
        produced = self._produced - self._mark[0]
        consumed = max(self._counted.count - self._mark[1], 1)
        if produced > lim.ratio_min_bytes and produced > lim.max_ratio * consumed:
            what = f"member {quoted(self._member)}" if self._member else self._name
            raise ArchiveError(
                f"{what}: {_human(consumed)} expand to more than {_human(produced)} "
                f"(more than {lim.max_ratio:g}:1): refusing a likely compression bomb"
            )
        return n


class ReadLimitExceeded(Exception):
    """A `CountingReader` went past its limit. Neither an OSError nor a ValueError, so the
    readers in between (tarfile, gzip) let it through to whoever set the limit."""


class CountingReader(io.RawIOBase):
    """Reads through `raw`, counting the bytes (`count`) and feeding them to `hasher` when one
    is given; raises `ReadLimitExceeded` once more than `limit` bytes went by.

    Here it measures what a decompressor consumed (the compression ratio of a tar member);
    `sandbox.containers.images` caps and hashes a container image archive with it as it
    streams.
    """

    def __init__(self, raw: BinaryIO, limit: int | None = None, hasher: Any = None) -> None:
        self._raw = raw
        self.limit = limit
        self.hasher = hasher
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._seen(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._seen(data)
        return len(data)

    def _seen(self, data: bytes) -> None:
        self.count += len(data)
        if self.hasher is not None:
            self.hasher.update(data)
        if self.limit is not None and self.count > self.limit:
            raise ReadLimitExceeded()


def _extract_tar(
    path: Path,
    dest: Path,
    limits: ArchiveLimits,
    kind: str,
    room: int | None,
    progress: _Progress,
) -> None:
    budget = _Budget(path.name, limits, room)
    folders = _Folders(dest)
    with (
        open(path, "rb") as raw,
        _GuardedStream(raw, kind, path.name, limits) as guard,
        io.BufferedReader(guard, _CHUNK) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tf,
    ):
        for member in tf:  # stream mode: check each header before writing its data
            rel = safe_member_path(member.name)
            if member.issym() or member.islnk():
                raise ArchiveError(
                    f"member {quoted(member.name)} is a {'symbolic' if member.issym() else 'hard'} "
                    "link; not allowed"
                )
            if not (member.isfile() or member.isdir()):
                raise ArchiveError(
                    f"member {quoted(member.name)} is a device, pipe or other special file; not allowed"
                )
            if not budget.add_member(rel, member.isdir()):
                continue
            target = _target(dest, rel)
            if member.isdir():
                folders.ensure(target)
                progress.last = member.name
                continue
            budget.check_declared(member.name, member.size, None)
            guard.mark(member.name)
            folders.ensure_parent(target)
            src = tf.extractfile(member)
            if src is None:  # pragma: no cover - regular files always have data
                raise ArchiveError(f"member {quoted(member.name)} has no data")
            budget.copy(member.name, src, target, member.size, None)
            progress.last = member.name
            progress.files += 1
        _check_tar_end(path.name, tf.offset, guard, progress)


def _check_tar_end(name: str, offset: int, guard: _GuardedStream, progress: _Progress) -> None:
    """Refuse a tar whose member list ends without tar's end-of-archive marker.

    Python's tarfile stops listing members, without an error, at a header it cannot read
    after the first one: a header cut short, a missing end marker, or garbage. A truncated
    upload then looked complete and its lost cases were merely "missing". A proper tar ends
    with zero blocks (POSIX.1-2001 ustar: "two consecutive blocks of zero bytes"; tarfile,
    GNU tar and bsdtar write them), so the block where listing stopped must be one.
    """
    block = guard.bytes_at(offset, _TAR_BLOCK)
    if block is None or (len(block) == _TAR_BLOCK and block.count(0) == _TAR_BLOCK):
        return  # the end marker (or bytes no longer held: nothing more to say)
    if len(block) == 0:
        detail = "it ends without tar's end-of-archive marker"
    elif len(block) < _TAR_BLOCK:
        detail = f"it ends {len(block)} bytes into the next member's header"
    else:
        raise ArchiveError(
            f"{name}: the tar archive is corrupt{progress.after()} (the next header is invalid)"
        )
    raise ArchiveError(
        f"{name}: the tar archive is truncated{progress.after()} ({detail}); upload it again"
    )
