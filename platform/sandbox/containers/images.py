"""Validate a participant's `docker save` archive and load it into the daemon.

The archive is untrusted, so it is read as a stream, never extracted: every member name is
checked, only small JSON members are read into memory, and the sizes are counted as the bytes
go by (a gzip bomb stops at the uncompressed limit). While reading, a *sanitised* copy is
written (tags, `repositories`, `index.json` and foreign-layer sources removed) so that loading
an image can never re-tag one of the worker's own images. The image is keyed by its config
digest, which is Docker's image id: the same image submitted twice is loaded once.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evaluator.io.archives import CountingReader, ReadLimitExceeded
from sandbox.limits import IMAGE_REPOSITORY, ArchiveLimits

_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Members that name or tag images; dropped so a load never tags anything.
_DROPPED_MEMBERS = {"repositories", "index.json", "oci-layout"}


class ImageRejected(ValueError):
    """The archive cannot be run; the message tells the participant why."""


@dataclass(frozen=True)
class ValidatedImage:
    """An archive that passed validation, plus what the runner needs to know about it."""

    archive_sha256: str
    #: "sha256:<hex>" of the image config = Docker's image id; the dedup key.
    config_digest: str
    compressed_bytes: int
    uncompressed_bytes: int
    architecture: str
    os: str
    #: USER as written in the image, and the numeric "uid:gid" it is run as.
    user: str
    run_as: str
    entrypoint: list[str] | None
    cmd: list[str] | None
    #: Uncompressed archive without tags, ready for `docker load`; removed after loading.
    sanitized_path: Path

    @property
    def tag(self) -> str:
        """The reference the sandbox loads the image under (its only tag)."""
        return f"{IMAGE_REPOSITORY}:{self.config_digest.removeprefix('sha256:')}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "archive_sha256": self.archive_sha256,
            "config_digest": self.config_digest,
            "compressed_bytes": self.compressed_bytes,
            "uncompressed_bytes": self.uncompressed_bytes,
            "architecture": self.architecture,
            "os": self.os,
            "user": self.user,
            "run_as": self.run_as,
        }


def _check_member_name(member: tarfile.TarInfo) -> str:
    """The member's normalised name; rejects paths that could escape or confuse a reader."""
    name = member.name
    if "\x00" in name or name.startswith("/") or "\\" in name:
        raise ImageRejected(f"archive member {name!r} has an unsafe name")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
        raise ImageRejected(f"archive member {name!r} points outside the archive")
    if member.isreg() or member.isdir():
        return norm
    if member.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(norm), member.linkname))
        if member.linkname.startswith("/") or target.startswith("../") or target == "..":
            raise ImageRejected(f"archive member {name!r} links outside the archive")
        return norm
    raise ImageRejected(
        f"archive member {name!r} is a {_kind(member)}; a `docker save` archive has only "
        "files, folders and relative links"
    )


def _kind(member: tarfile.TarInfo) -> str:
    if member.islnk():
        return "hard link"
    if member.isdev():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "special file"


def _open_stream(raw: IO[bytes], limits: ArchiveLimits) -> tuple[CountingReader, Any]:
    """Reader over the uncompressed tar bytes, counting them against the limit."""
    hasher = hashlib.sha256()
    compressed = CountingReader(raw, None, hasher)
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    inner: IO[bytes] = compressed  # type: ignore[assignment]
    if head == b"\x1f\x8b":
        inner = gzip.GzipFile(fileobj=compressed, mode="rb")  # type: ignore[assignment]
    return CountingReader(inner, limits.max_uncompressed_bytes), (compressed, hasher)


def validate_archive(
    archive: Path, workdir: Path, limits: ArchiveLimits | None = None
) -> ValidatedImage:
    """Check a `.tar`/`.tar.gz` from `docker save` and write its sanitised copy to `workdir`.

    Raises `ImageRejected` with a participant-facing message for anything unusable: too
    large, not a tar, not exactly one image, not linux/amd64, running as root, no command.
    """
    limits = limits or ArchiveLimits()
    archive = Path(archive)
    if not archive.is_file():
        raise ImageRejected(f"image archive {archive.name!r} not found")
    size = archive.stat().st_size
    if size > limits.max_compressed_bytes:
        raise ImageRejected(
            f"image archive is {size / 1e6:.1f} MB; the limit is "
            f"{limits.max_compressed_bytes / 1e6:.0f} MB"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    sanitized = workdir / "image.tar"
    try:
        return _validate(archive, sanitized, size, limits)
    except BaseException:
        sanitized.unlink(missing_ok=True)
        raise


def _validate(archive: Path, sanitized: Path, size: int, limits: ArchiveLimits) -> ValidatedImage:
    small: dict[str, bytes] = {}
    small_budget = 16 * limits.max_metadata_bytes
    links: dict[str, str] = {}
    present: set[str] = set()
    with (
        archive.open("rb") as raw,
        tarfile.open(sanitized, "w", format=tarfile.PAX_FORMAT) as out,
    ):
        reader, (compressed, hasher) = _open_stream(raw, limits)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                count = 0
                for member in tar:
                    count += 1
                    if count > limits.max_members:
                        raise ImageRejected("image archive has too many members")
                    name = _check_member_name(member)
                    if name in _DROPPED_MEMBERS:
                        continue
                    if member.issym():
                        links[name] = posixpath.normpath(
                            posixpath.join(posixpath.dirname(name), member.linkname)
                        )
                        out.addfile(_clean_info(member, name))
                        continue
                    if member.isdir():
                        out.addfile(_clean_info(member, name))
                        continue
                    present.add(name)
                    if name == "manifest.json" and member.size > limits.max_metadata_bytes:
                        raise ImageRejected("manifest.json in the image archive is too large")
                    source = tar.extractfile(member)
                    assert source is not None
                    if name == "manifest.json" or (
                        member.size <= limits.max_metadata_bytes
                        and member.size <= small_budget
                        and (name.endswith(".json") or name.startswith("blobs/"))
                    ):
                        data = source.read()
                        small[name] = data
                        small_budget -= len(data)
                        if name != "manifest.json":
                            out.addfile(_clean_info(member, name), io.BytesIO(data))
                    else:
                        out.addfile(_clean_info(member, name), source)
            # Read to the very end: checks the gzip CRC and counts anything after the tar.
            while reader.read(1 << 20):
                pass
        except ReadLimitExceeded:
            raise ImageRejected(
                "image archive is larger than "
                f"{limits.max_uncompressed_bytes / 1e6:.0f} MB uncompressed"
            ) from None
        except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as exc:
            if isinstance(exc, ImageRejected):
                raise
            raise ImageRejected(
                f"not a readable `docker save` archive (.tar or .tar.gz): {exc}"
            ) from None
        while compressed.read(1 << 20):  # hash the tail the tar reader did not need
            pass
        manifest_entry = _single_manifest(small)
        config_name, config = _config(manifest_entry, small, links)
        layers = _layers(manifest_entry, present, links)
        out.addfile(*_json_member("manifest.json", [_clean_manifest(config_name, layers)]))
        uncompressed = reader.count

    config_digest = "sha256:" + hashlib.sha256(small[config_name]).hexdigest()
    expected = _HEX64.search(config_name)
    if expected and f"sha256:{expected.group(0)}" != config_digest:
        raise ImageRejected("image config does not match its digest: the archive is corrupt")
    architecture = str(config.get("architecture", ""))
    os_name = str(config.get("os", ""))
    if os_name != "linux" or architecture != "amd64":
        raise ImageRejected(
            f"image is for {os_name or '?'}/{architecture or '?'}; only linux/amd64 can run "
            "here (build with `docker build --platform linux/amd64`)"
        )
    run_config = config.get("config") or {}
    entrypoint = run_config.get("Entrypoint") or None
    cmd = run_config.get("Cmd") or None
    if not entrypoint and not cmd:
        raise ImageRejected("image has neither ENTRYPOINT nor CMD: nothing to run")
    if run_config.get("Volumes"):
        raise ImageRejected(
            f"image declares VOLUME {sorted(run_config['Volumes'])}: volumes would be writable "
            "outside the size-capped /output; remove the VOLUME lines"
        )
    user = str(run_config.get("User") or "")
    run_as = _resolve_user(user, sanitized, layers, links)
    return ValidatedImage(
        archive_sha256=hasher.hexdigest(),
        config_digest=config_digest,
        compressed_bytes=size,
        uncompressed_bytes=uncompressed,
        architecture=architecture,
        os=os_name,
        user=user,
        run_as=run_as,
        entrypoint=list(entrypoint) if entrypoint else None,
        cmd=list(cmd) if cmd else None,
        sanitized_path=sanitized,
    )


def _clean_info(member: tarfile.TarInfo, name: str) -> tarfile.TarInfo:
    """A copy of `member` with only what `docker load` needs (no owners, no odd modes)."""
    info = tarfile.TarInfo(name)
    info.type = member.type
    info.size = member.size if member.isreg() else 0
    info.linkname = member.linkname if member.issym() else ""
    info.mode = 0o755 if member.isdir() else 0o644
    info.mtime = member.mtime
    return info


def _json_member(name: str, value: Any) -> tuple[tarfile.TarInfo, IO[bytes]]:
    data = json.dumps(value).encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, io.BytesIO(data)


def _parse_json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ImageRejected(f"{name} in the image archive is not valid JSON") from None


def _single_manifest(small: dict[str, bytes]) -> dict[str, Any]:
    if "manifest.json" not in small:
        raise ImageRejected(
            "archive has no manifest.json: save the image with `docker save IMAGE -o image.tar`"
        )
    manifest = _parse_json("manifest.json", small["manifest.json"])
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        n = len(manifest) if isinstance(manifest, list) else "?"
        raise ImageRejected(f"archive must hold exactly one image; its manifest lists {n}")
    return manifest[0]


def _resolve(name: str, links: dict[str, str]) -> str:
    seen = 0
    name = posixpath.normpath(name)
    while name in links and seen < 8:
        name, seen = links[name], seen + 1
    return name


def _config(
    entry: dict[str, Any], small: dict[str, bytes], links: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    config_name = entry.get("Config")
    if not isinstance(config_name, str):
        raise ImageRejected("manifest.json names no image config")
    resolved = _resolve(config_name, links)
    if resolved not in small:
        raise ImageRejected(f"image config {config_name!r} is missing or too large")
    config = _parse_json(config_name, small[resolved])
    if not isinstance(config, dict):
        raise ImageRejected("image config is not a JSON object")
    return resolved, config


def _layers(entry: dict[str, Any], present: set[str], links: dict[str, str]) -> list[str]:
    layers = entry.get("Layers")
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise ImageRejected("manifest.json has no list of layers")
    resolved = [_resolve(layer, links) for layer in layers]
    missing = [orig for orig, res in zip(layers, resolved, strict=True) if res not in present]
    if missing:
        raise ImageRejected(f"image layer {missing[0]!r} is missing from the archive")
    return resolved


def _clean_manifest(config_name: str, layers: list[str]) -> dict[str, Any]:
    return {"Config": config_name, "RepoTags": None, "Layers": layers}


def _resolve_user(user: str, sanitized: Path, layers: list[str], links: dict[str, str]) -> str:
    """Numeric "uid:gid" to run as; rejects root in every spelling (also a name whose
    /etc/passwd entry has uid 0, which Docker would otherwise happily resolve)."""
    hint = "add a non-root user, e.g. `RUN adduser -D -u 1000 model` and `USER 1000`"
    if not user:
        raise ImageRejected(f"image runs as root (no USER set); {hint}")
    name, _, group = user.partition(":")
    if name.isdigit():
        uid = int(name)
        gid = int(group) if group.isdigit() else uid
        if uid == 0:
            raise ImageRejected(f"image runs as root (USER {user}); {hint}")
        return f"{uid}:{gid}"
    if name == "root":
        raise ImageRejected(f"image runs as root (USER {user}); {hint}")
    passwd = _read_passwd(sanitized, layers)
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            uid, gid = int(fields[2]), int(fields[3])
            if uid == 0:
                raise ImageRejected(f"USER {name} has uid 0 in /etc/passwd: that is root; {hint}")
            if group.isdigit():
                gid = int(group)
            return f"{uid}:{gid}"
    raise ImageRejected(f"USER {name} is not listed in the image's /etc/passwd; {hint}")


def _read_passwd(sanitized: Path, layers: Iterable[str]) -> str:
    """/etc/passwd as the top layer sees it (later layers override, whiteouts delete)."""
    passwd = ""
    with tarfile.open(sanitized, "r:") as outer:
        for layer in layers:
            source = outer.extractfile(layer)
            if source is None:
                continue
            try:
                with tarfile.open(fileobj=source, mode="r|*") as inner:
                    for member in inner:
                        path = posixpath.normpath(member.name.lstrip("/"))
                        if path in ("etc/.wh.passwd", "etc/.wh..wh..opq"):
                            passwd = ""
                        elif path == "etc/passwd" and member.isreg() and member.size < 1 << 20:
                            data = inner.extractfile(member)
                            passwd = data.read().decode("utf-8", "replace") if data else ""
            except (tarfile.TarError, EOFError, OSError):
                raise ImageRejected(f"image layer {layer!r} is not a readable tar") from None
    return passwd


def load_image(client: Any, image: ValidatedImage) -> str:
    """Load the sanitised archive unless an image with the same digest is already there;
    tag it `fetalbench-sandbox:<digest>` (the reaper finds images by that name) and return
    the reference to run. The sanitised copy is removed afterwards."""
    import docker.errors

    try:
        try:
            client.images.get(image.config_digest)
        except docker.errors.ImageNotFound:
            with image.sanitized_path.open("rb") as fh:
                try:
                    client.images.load(fh)
                except docker.errors.APIError as exc:
                    raise ImageRejected(
                        f"Docker could not load the image: {exc.explanation or exc}"
                    ) from None
        loaded = client.images.get(image.config_digest)
        loaded.tag(IMAGE_REPOSITORY, tag=image.config_digest.removeprefix("sha256:"))
        return image.tag
    finally:
        image.sanitized_path.unlink(missing_ok=True)


def remove_image(client: Any, reference: str) -> bool:
    """Remove a loaded image; False when it is still used by a running container (another
    run of the same image): the reaper removes it later."""
    import docker.errors

    try:
        client.images.remove(reference, noprune=False)
    except docker.errors.ImageNotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


__all__ = [
    "ImageRejected",
    "ValidatedImage",
    "load_image",
    "remove_image",
    "validate_archive",
]
