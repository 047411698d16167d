"""Safe unpacking of real zip/tar archives built in tmp_path, hostile ones included."""

from __future__ import annotations

import io
import os
import struct
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from evaluator.io import scratch
from evaluator.io.archives import ArchiveError, ArchiveLimits, unpacked

MiB = 1024 * 1024


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the unpacker's temporary folders (on disk and memory-backed) into tmp_path, so
    escapes can be seen."""
    root = tmp_path / "temp_root"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setattr(scratch, "MEMORY_ROOT", root)
    return root


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


MEMBERS = {
    "submission/a/001_HC.png": b"one",
    "submission/b/c/002_HC.nii.gz": b"two",
    "__MACOSX/submission/._001_HC.png": b"junk",
    "submission/.DS_Store": b"junk",
}


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tgz", "tar"])
def test_nested_folders_unpack_and_temp_dir_is_removed(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / f"sub.{kind}"
    if kind == "zip":
        _zip(archive, MEMBERS)
    else:
        _tar(archive, MEMBERS, "w" if kind == "tar" else "w:gz")
    with unpacked(archive) as folder:
        assert _files_under(folder) == sorted(MEMBERS)
        assert (folder / "submission/b/c/002_HC.nii.gz").read_bytes() == b"two"
        workdir = folder.parent
    assert not workdir.exists()


def test_folder_is_yielded_as_is(tmp_path: Path) -> None:
    with unpacked(tmp_path) as folder:
        assert folder == tmp_path
    assert tmp_path.exists()


def test_temp_dir_is_removed_when_the_caller_fails(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"x.png": b"x"})
    with pytest.raises(RuntimeError), unpacked(archive) as folder:
        workdir = folder.parent
        raise RuntimeError("boom")
    assert not workdir.exists()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../evil.png", "points outside the archive"),
        ("a/../../evil.png", "points outside the archive"),
        ("..\\evil.png", "points outside the archive"),
        ("/tmp/fetalbench-evil.png", "absolute path"),
        ("C:/evil.png", "absolute path"),
    ],
)
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_path_traversal_is_refused(
    tmp_path: Path, temp_root: Path, name: str, words: str, kind: str
) -> None:
    members = {"ok.png": b"fine", name: b"evil"}
    archive = tmp_path / f"s.{kind}"
    _zip(archive, members) if kind == "zip" else _tar(archive, members)
    with pytest.raises(ArchiveError, match=words), unpacked(archive):
        pass
    # Nothing written anywhere: the temporary folder is gone and no file escaped it.
    assert list(temp_root.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name, "temp_root"]
    assert not Path("/tmp/fetalbench-evil.png").exists()


def test_zip_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("001_HC.png")
        info.create_system = 3  # Unix, so external_attr carries the file mode
        info.external_attr = (0o120777 << 16) | 0
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"), unpacked(archive):
        pass


@pytest.mark.parametrize("link", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_link_members_are_refused(tmp_path: Path, link: bytes) -> None:
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("001_HC.png")
        info.type = link
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(ArchiveError, match="link; not allowed"), unpacked(archive):
        pass


def test_tar_device_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "dev.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("null")
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tf.addfile(info)
    with pytest.raises(ArchiveError, match="device, pipe or other special file"), unpacked(archive):
        pass


def _zip_bomb(path: Path, size: int) -> Path:
    """A zip with one member of `size` zero bytes, streamed so it never sits in memory."""
    chunk = bytes(MiB)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.nii", "w", force_zip64=True) as out,
    ):
        for _ in range(size // MiB):
            out.write(chunk)
    return path


def test_zip_bomb_is_refused_from_declared_sizes(tmp_path: Path, temp_root: Path) -> None:
    archive = _zip_bomb(tmp_path / "bomb.zip", 200 * MiB)
    assert archive.stat().st_size < 1 * MiB
    with pytest.raises(ArchiveError, match="zip bomb"), unpacked(archive):
        pass
    assert list(temp_root.iterdir()) == []


def test_member_and_total_size_limits(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"a.png": bytes(3000), "b.png": bytes(3000)})
    with (
        pytest.raises(ArchiveError, match="per file"),
        unpacked(archive, ArchiveLimits(max_member_bytes=2000)),
    ):
        pass
    with (
        pytest.raises(ArchiveError, match="would exceed"),
        unpacked(archive, ArchiveLimits(max_total_bytes=5000)),
    ):
        pass
    with (
        pytest.raises(ArchiveError, match="members"),
        unpacked(archive, ArchiveLimits(max_members=1)),
    ):
        pass


def test_tar_gz_bomb_is_refused_while_inflating(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=9) as tf:
        info = tarfile.TarInfo("zeros.nii")
        info.size = 64 * MiB
        tf.addfile(info, _Zeros(info.size))
    limits = ArchiveLimits(ratio_min_bytes=4 * MiB)
    with pytest.raises(ArchiveError, match="compression bomb"), unpacked(archive, limits):
        pass


class _Zeros(io.RawIOBase):
    """A readable stream of n zero bytes, so test archives never hold them in memory."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _patch_zip_sizes(path: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local and central headers (a lying archive)."""
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_lying_declared_size_is_caught_while_extracting(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "liar.zip", {"001_HC.png": bytes(5 * MiB)})
    _patch_zip_sizes(archive, 100)
    with pytest.raises(ArchiveError) as info, unpacked(archive):
        pass
    message = str(info.value)
    assert "corrupt" in message or "more data than its declared" in message


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_truncated_archive_is_refused(tmp_path: Path, kind: str) -> None:
    members = {f"{i:03d}_HC.png": os.urandom(20_000) for i in range(5)}
    archive = tmp_path / f"s.{kind}"
    _zip(archive, members) if kind == "zip" else _tar(archive, members)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="corrupt or truncated"), unpacked(archive):
        pass


def test_corrupt_member_data_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "s.zip", {"001_HC.png": os.urandom(50_000)})
    data = bytearray(archive.read_bytes())
    data[200:260] = bytes(60)  # inside the member's data: CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupt"), unpacked(archive):
        pass


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty"),
        (b"just some text, not an archive", "not a supported archive"),
        (b"Rar!\x1a\x07\x00" + bytes(600), "not a supported archive"),
    ],
)
def test_unknown_formats_are_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "sub.zip"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=words), unpacked(path):
        pass


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no such file"), unpacked(tmp_path / "nope.zip"):
        pass


def test_format_is_detected_from_content_not_name(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "really-a-zip.tgz", {"x.png": b"x"})
    with unpacked(archive) as folder:
        assert _files_under(folder) == ["x.png"]


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "dup.tar"
    _tar(archive, {"x.png": b"1"}, "w")
    with tarfile.open(archive, "a") as tf:
        info = tarfile.TarInfo("x.png")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"2"))
    with pytest.raises(ArchiveError, match="appears twice"), unpacked(archive):
        pass


def test_tar_of_dot_with_root_entry_unpacks(tmp_path: Path) -> None:
    """`tar czf sub.tgz -C folder .` stores a './' entry and './x' names: perfectly fine."""
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "001_HC.png").write_bytes(b"x")
    archive = tmp_path / "sub.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname=".")
    with unpacked(archive) as folder:
        assert _files_under(folder) == ["inner/001_HC.png"]


def test_many_highly_compressible_masks_are_not_a_bomb(tmp_path: Path) -> None:
    """Uncompressed all-background NIfTI masks compress ~1000:1 yet are legitimate."""
    members = {f"{i:03d}_HC.nii": bytes(800 * 540) for i in range(40)}
    archive = _zip(tmp_path / "sub.zip", members)
    assert archive.stat().st_size * 200 < sum(map(len, members.values()))
    with unpacked(archive) as folder:
        assert len(_files_under(folder)) == 40
    tgz = _tar(tmp_path / "sub.tgz", members)
    with unpacked(tgz) as folder:
        assert len(_files_under(folder)) == 40


@pytest.mark.skipif(not scratch.MEMORY_ROOT.is_dir(), reason="no /dev/shm on this machine")
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_small_contents_unpack_into_memory_backed_folder(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / f"sub.{kind}"
    _zip(archive, MEMBERS) if kind == "zip" else _tar(archive, MEMBERS)
    with unpacked(archive) as folder:
        assert folder.is_relative_to(scratch.MEMORY_ROOT.resolve())
        assert _files_under(folder) == sorted(MEMBERS)
        workdir = folder.parent
    assert not workdir.exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_contents_larger_than_the_memory_room_unpack_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Over `memory_bytes` the unpacker falls back to the temporary folder on disk: for a zip
    from the declared sizes, for a tar part-way through the stream (it starts again)."""
    memory, disk = tmp_path / "memory", tmp_path / "disk"
    memory.mkdir()
    disk.mkdir()
    monkeypatch.setattr(scratch, "MEMORY_ROOT", memory)
    monkeypatch.setattr(tempfile, "tempdir", str(disk))
    members = {f"{i:03d}_HC.png": os.urandom(3000) for i in range(4)}
    archive = tmp_path / f"sub.{kind}"
    _zip(archive, members) if kind == "zip" else _tar(archive, members, "w:" + kind[4:])
    for limit, root in ((12_000, memory), (7_000, disk), (0, disk)):
        with unpacked(archive, ArchiveLimits(memory_bytes=limit)) as folder:
            assert folder.is_relative_to(root.resolve())
            assert {p: (folder / p).read_bytes() for p in _files_under(folder)} == members
        assert list(memory.iterdir()) == [] and list(disk.iterdir()) == []


def test_refusals_are_the_same_in_memory_and_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile tar met after the memory room ran out is still refused, from disk."""
    monkeypatch.setattr(scratch, "MEMORY_ROOT", tmp_path)
    archive = _tar(tmp_path / "s.tar.gz", {"a.png": os.urandom(5000), "../evil.png": b"x"})
    for limit in (1_000, 1_000_000):
        with (
            pytest.raises(ArchiveError, match="points outside"),
            unpacked(archive, ArchiveLimits(memory_bytes=limit)),
        ):
            pass


# --------------------------------------------------------------------------- clear refusals


def _plain_tar(members: dict[str, bytes]) -> tuple[bytes, list[int]]:
    """An uncompressed tar and the offset of each member's header."""
    buffer = io.BytesIO()
    offsets = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members.items():
            offsets.append(buffer.tell())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        offsets.append(buffer.tell())  # where the end-of-archive marker starts
    return buffer.getvalue(), offsets


TAR_MEMBERS = {f"preds/{i:03d}_HC.png": os.urandom(1000 + i) for i in range(3)}


@pytest.mark.parametrize(
    ("cut", "words"),
    [
        (100, "truncated after member 'preds/001_HC.png' (it ends 100 bytes into the next"),
        (0, "truncated after member 'preds/001_HC.png' (it ends without tar's end-of-archive"),
    ],
)
@pytest.mark.parametrize("compress", ["", "gz"])
def test_tar_truncated_at_a_header_names_the_last_member(
    tmp_path: Path, cut: int, words: str, compress: str
) -> None:
    """tarfile stops listing, silently, at a header cut short: the lost cases used to be
    merely 'missing'."""
    data, offsets = _plain_tar(TAR_MEMBERS)
    data = data[: offsets[2] + cut]  # inside (or right before) the third member's header
    if compress:
        import gzip

        data = gzip.compress(data)
    archive = tmp_path / "preds.tar"
    archive.write_bytes(data)
    with pytest.raises(ArchiveError) as info, unpacked(archive):
        pass
    assert str(info.value).startswith(f"preds.tar: the tar archive is {words}")
    assert "upload it again" in str(info.value)


def test_tar_with_an_invalid_header_after_a_member_is_corrupt(tmp_path: Path) -> None:
    data, offsets = _plain_tar(TAR_MEMBERS)
    broken = bytearray(data)
    broken[offsets[1] : offsets[1] + 512] = b"garbage!" * 64
    archive = tmp_path / "preds.tar"
    archive.write_bytes(bytes(broken))
    with (
        pytest.raises(ArchiveError, match="corrupt after member 'preds/000_HC.png'"),
        unpacked(archive),
    ):
        pass


def test_complete_tars_still_unpack(tmp_path: Path) -> None:
    data, offsets = _plain_tar(TAR_MEMBERS)
    for archive_bytes in (data, data[: offsets[-1] + 512]):  # one zero block is enough
        archive = tmp_path / "ok.tar"
        archive.write_bytes(archive_bytes)
        with unpacked(archive) as folder:
            assert _files_under(folder) == sorted(TAR_MEMBERS)


def test_corruption_inside_a_member_names_the_member_before(tmp_path: Path) -> None:
    data, offsets = _plain_tar(TAR_MEMBERS)
    archive = tmp_path / "preds.tar"
    archive.write_bytes(data[: offsets[1] + 700])  # inside the second member's data
    with pytest.raises(ArchiveError, match="after member 'preds/000_HC.png'"), unpacked(archive):
        pass


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_empty_archive_says_so(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / f"empty.{kind}"
    if kind == "zip":
        _zip(archive, {})
    else:
        _tar(archive, {}, "w" if kind == "tar" else "w:gz")
    no_files = r"^empty\..*: the archive is empty \(no files\)$"
    with pytest.raises(ArchiveError, match=no_files), unpacked(archive):
        pass
    folders_only = tmp_path / f"folders.{kind}"
    if kind == "zip":
        _zip(folders_only, {"preds/": b""})
    else:
        with tarfile.open(folders_only, "w" if kind == "tar" else "w:gz") as tf:
            info = tarfile.TarInfo("preds")
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
    only_folders = r"the archive is empty \(only empty folders\)"
    with pytest.raises(ArchiveError, match=only_folders), unpacked(folders_only):
        pass


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_over_long_member_names_are_named_as_such(tmp_path: Path, kind: str) -> None:
    """Not 'corrupt': the file system refused the name (ENAMETOOLONG)."""
    part = "x" * 300 + ".png"
    deep = "/".join(["d" * 200] * 6) + "/001_HC.png"
    for name, words in ((part, "longer than 255 bytes"), (deep, "longer than 1024 characters")):
        archive = tmp_path / f"long.{kind}"
        if kind == "zip":
            _zip(archive, {name: b"x"})
        else:
            _tar(archive, {name: b"x"}, "w")
        with pytest.raises(ArchiveError) as info, unpacked(archive):
            pass
        message = str(info.value)
        assert words in message and "corrupt" not in message
        assert len(message) < 300  # the name is shortened, not printed whole


def test_non_utf8_and_nul_member_names_are_printable(tmp_path: Path) -> None:
    """A tar name that is not UTF-8 arrives as lone surrogates (surrogateescape); messages
    show it escaped so that they can be printed and stored (PostgreSQL refuses NUL and
    surrogates)."""
    bad = b"preds/\xff\xfe/../x.png".decode("utf-8", "surrogateescape")
    archive = tmp_path / "bad.tar"
    _tar(archive, {bad: b"x"}, "w")
    with pytest.raises(ArchiveError) as info, unpacked(archive):
        pass
    message = str(info.value)
    assert "\\xff\\xfe" in message
    message.encode("utf-8")  # no UnicodeEncodeError
    nul = tmp_path / "nul.tar"
    with tarfile.open(nul, "w", format=tarfile.PAX_FORMAT) as tf:
        info_ = tarfile.TarInfo("x.png")
        info_.pax_headers = {"path": "preds/a\x00b.png"}
        info_.size = 1
        tf.addfile(info_, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError) as info, unpacked(nul):
        pass
    assert "\x00" not in str(info.value) and "\\x00" in str(info.value)
