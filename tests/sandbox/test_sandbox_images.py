"""Validation of `docker save` archives: everything that must be refused before any run."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sandbox.containers.images import ImageRejected, load_image, remove_image, validate_archive
from sandbox.limits import ArchiveLimits

from evaluator.io.archives import MiB


def test_valid_archive_is_accepted_and_digest_recorded(image_archive, tmp_path: Path) -> None:
    image = validate_archive(image_archive(), tmp_path / "work")
    assert image.config_digest.startswith("sha256:") and len(image.config_digest) == 71
    assert len(image.archive_sha256) == 64
    assert (image.architecture, image.os, image.run_as) == ("amd64", "linux", "1000:1000")
    assert image.sanitized_path.is_file()
    with tarfile.open(image.sanitized_path) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "repositories" not in names
    assert manifest[0]["RepoTags"] is None


def test_gzipped_archive_is_accepted_with_same_digest(image_archive, tmp_path: Path) -> None:
    plain = validate_archive(image_archive(), tmp_path / "a")
    zipped = validate_archive(image_archive(gzipped=True), tmp_path / "b")
    assert zipped.config_digest == plain.config_digest
    assert zipped.compressed_bytes < zipped.uncompressed_bytes


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"user": ""}, "runs as root (no USER set)"),
        ({"user": "0"}, "runs as root"),
        ({"user": "root"}, "runs as root"),
        ({"user": "0:1000"}, "runs as root"),
        ({"user": "model", "passwd": "model:x:0:0::/:/bin/sh\n"}, "has uid 0"),
        ({"user": "ghost"}, "not listed in the image's /etc/passwd"),
        ({"architecture": "arm64"}, "linux/arm64; only linux/amd64"),
        ({"images": 2}, "exactly one image"),
        ({"entrypoint": []}, "neither ENTRYPOINT nor CMD"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(
    image_archive, tmp_path: Path, kwargs: dict, expected: str
) -> None:
    with pytest.raises(ImageRejected, match=expected.replace("(", r"\(").replace(")", r"\)")):
        validate_archive(image_archive(**kwargs), tmp_path / "work")
    assert not (tmp_path / "work" / "image.tar").exists()


def test_named_user_resolves_to_numeric_uid(image_archive, tmp_path: Path) -> None:
    image = validate_archive(image_archive(user="model"), tmp_path / "w")
    assert image.run_as == "1000:1000"


def test_size_limits(image_archive, tmp_path: Path) -> None:
    archive = image_archive(gzipped=True)
    with pytest.raises(ImageRejected, match="MB; the limit is"):
        validate_archive(archive, tmp_path / "a", ArchiveLimits(max_compressed_bytes=1000))
    # A gzip that inflates past the uncompressed limit is stopped while streaming.
    with pytest.raises(ImageRejected, match="uncompressed"):
        validate_archive(archive, tmp_path / "b", ArchiveLimits(max_uncompressed_bytes=1 * MiB))


def _tar_with(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info in members:
            data = b"x" * info.size if info.isreg() else None
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def test_unsafe_member_names_are_rejected(tmp_path: Path) -> None:
    escape = tarfile.TarInfo("../evil")
    absolute = tarfile.TarInfo("/etc/evil")
    link = tarfile.TarInfo("link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE
    hard = tarfile.TarInfo("hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "manifest.json"
    for i, (member, words) in enumerate(
        [
            (escape, "outside the archive"),
            (absolute, "unsafe name"),
            (link, "links outside"),
            (device, "device"),
            (hard, "hard link"),
        ]
    ):
        archive = _tar_with(tmp_path / f"bad{i}.tar", [member])
        with pytest.raises(ImageRejected, match=words):
            validate_archive(archive, tmp_path / f"w{i}")
    assert not Path("/etc/evil").exists()


def test_not_an_archive_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "model.tar"
    junk.write_bytes(b"this is not a tar file at all" * 100)
    with pytest.raises(ImageRejected, match="not a readable `docker save` archive"):
        validate_archive(junk, tmp_path / "w")
    empty = _tar_with(tmp_path / "empty.tar", [])
    with pytest.raises(ImageRejected, match="no manifest.json"):
        validate_archive(empty, tmp_path / "w2")
    with pytest.raises(ImageRejected, match="not found"):
        validate_archive(tmp_path / "missing.tar", tmp_path / "w3")


def test_same_image_loads_once_and_never_gets_participant_tag(
    docker_client, image_archive, tmp_path: Path
) -> None:
    archive = image_archive("echo same\n")
    first = validate_archive(archive, tmp_path / "a")
    reference = load_image(docker_client, first)
    try:
        loaded = docker_client.images.get(first.config_digest)
        assert reference in loaded.tags
        assert not any(tag.startswith("participant/") for tag in loaded.tags)
        second = validate_archive(archive, tmp_path / "b")
        assert load_image(docker_client, second) == reference
        assert docker_client.images.get(first.config_digest).id == loaded.id
        assert not first.sanitized_path.exists() and not second.sanitized_path.exists()
    finally:
        assert remove_image(docker_client, reference)


def test_oci_layout_archive_from_newer_docker_loads_and_runs(
    docker_client, image_archive, tmp_path: Path
) -> None:
    image = validate_archive(image_archive("echo oci\n", oci_layout=True), tmp_path / "a")
    with tarfile.open(image.sanitized_path) as tar:
        assert "index.json" not in tar.getnames() and "oci-layout" not in tar.getnames()
    reference = load_image(docker_client, image)
    try:
        logs = docker_client.containers.run(reference, user=image.run_as, remove=True)
        assert logs == b"oci\n"
    finally:
        remove_image(docker_client, reference)


def test_corrupt_gzip_is_rejected(image_archive, tmp_path: Path) -> None:
    archive = image_archive(gzipped=True)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    archive.write_bytes(bytes(data))
    with pytest.raises(ImageRejected, match="not a readable"):
        validate_archive(archive, tmp_path / "w")
