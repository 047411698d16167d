"""Wheels of this environment's own packages, for installing them offline into a model container.

A generated container must compute exactly what the platform's ONNX model-file runner computes,
and bit-exact agreement needs the same onnxruntime, OpenCV, numpy and SimpleITK builds. They
are on this machine already, installed; a package index may not have those versions (or the
package at all). So when this interpreter is CPython 3.11 on Linux x86_64 (the ABI of Debian
bookworm's python3, the container's base) each installed distribution is packed back into a
wheel from its RECORD. Elsewhere the same pinned versions are fetched for cp311 with
`pip download` from the configured index, and a failure says which package is missing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as metadata
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from reference_models.errors import ExportError

#: What the container's runner imports besides Debian's python3 and Pillow.
CONTAINER_PACKAGES = ("numpy", "onnxruntime", "opencv-python-headless", "SimpleITK")
#: Installer leftovers that do not belong in a wheel (RECORD is written afresh).
_SKIP_DIST_INFO = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}
TARGET_PYTHON = (3, 11)


def collect_wheels(dest: Path, packages: tuple[str, ...] = CONTAINER_PACKAGES) -> list[Path]:
    """One cp311 wheel per package in `dest`, the versions installed here; returns the paths."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    repack = sys.version_info[:2] == TARGET_PYTHON and _linux_x86_64()
    wheels = []
    for name in packages:
        dist = _installed(name)
        wheels.append(repack_installed(dist, dest) if repack else _download(dist, dest))
    return wheels


def _linux_x86_64() -> bool:
    return sys.platform == "linux" and os.uname().machine == "x86_64"


def _installed(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise ExportError(
            f"the model container needs {name} installed here (pip install {name}): "
            "its wheel goes into the image"
        ) from None


def repack_installed(dist: metadata.Distribution, dest: Path) -> Path:
    """Pack an installed distribution back into the wheel it came from (files per RECORD)."""
    root = Path(dist.locate_file(""))
    tag = _wheel_tag(dist)
    name = dist.metadata["Name"].replace("-", "_")
    path = Path(dest) / f"{name}-{dist.version}-{tag}.whl"
    record_rows = []
    record_name = None
    with zipfile.ZipFile(path, "w") as wheel:
        for file in sorted(dist.files or [], key=str):
            parts = PurePosixPath(str(file)).parts
            if ".." in parts or "__pycache__" in parts or file.suffix == ".pyc":
                continue  # console scripts outside site-packages; bytecode is rebuilt
            if parts[0].endswith(".dist-info") and len(parts) == 2:
                if parts[1] == "RECORD":
                    record_name = str(file)
                if parts[1] in _SKIP_DIST_INFO:
                    continue
            data = (root / file).read_bytes()
            wheel.writestr(_entry(str(file), root / file), data, compresslevel=1)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record_rows.append((str(file), f"sha256={digest.decode()}", str(len(data))))
        if record_name is None:
            raise ExportError(f"{dist.metadata['Name']} has no RECORD: reinstall it with pip")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([*record_rows, (record_name, "", "")])
        wheel.writestr(_entry(record_name), buffer.getvalue(), compresslevel=1)
    return path


def _entry(name: str, source: Path | None = None) -> zipfile.ZipInfo:
    """A zip entry with a fixed date: the same installed files give byte-identical wheels, so
    Docker's build cache keeps the installed-packages layer from one export to the next."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    executable = source is not None and source.stat().st_mode & 0o111
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _wheel_tag(dist: metadata.Distribution) -> str:
    """The compressed tag set from the dist-info WHEEL file (e.g. cp311-cp311-manylinux_...)."""
    text = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise ExportError(f"{dist.metadata['Name']}: its WHEEL file names no tag")
    columns = zip(*(t.split("-") for t in tags), strict=True)
    return "-".join(".".join(dict.fromkeys(column)) for column in columns)


def _download(dist: metadata.Distribution, dest: Path) -> Path:
    """`pip download` the installed version as a cp311 manylinux wheel from the pip index."""
    pin = f"{dist.metadata['Name']}=={dist.version}"
    before = set(Path(dest).glob("*.whl"))
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_28_x86_64",
        "--platform",
        "manylinux2014_x86_64",
        "-d",
        str(dest),
        pin,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    new = sorted(set(Path(dest).glob("*.whl")) - before)
    if proc.returncode != 0 or not new:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ExportError(f"no cp311 Linux wheel of {pin} in the pip index: {tail[0]}")
    return new[0]
