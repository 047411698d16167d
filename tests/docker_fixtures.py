"""Docker for every suite that runs real containers (tests/sandbox, tests/platform,
tests/reference_models, benchmarks/inference.py): a pytest plugin registered in
tests/conftest.py, so its fixtures are everywhere and its helpers are imported from here.

- The daemon: `docker_client` (session fixture) and `docker_client_or_skip`, which skips
  with a clear message where no daemon answers (`bash scripts/docker.sh` starts one).
- Busybox images without a build: `write_image_archive` writes a `docker save` archive
  directly (one layer holding Debian's static busybox plus a shell script as the "model").
  Writing it ourselves is fast, lets a test choose USER and architecture freely, and
  exercises the same `docker load` path a participant's submission takes. `image_archive`
  is its factory fixture.
- Real Python model containers: `build_offline_image` runs a context's debootstrap-based
  `build.sh` (a mirror that cannot be reached skips, anything else fails) and
  `python_container_limits` are the limits such a container runs under in the tests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sandbox.limits import SandboxLimits

from evaluator.io.archives import MiB

BUSYBOX = Path("/bin/busybox")
APPLETS = [
    "sh",
    "cat",
    "ls",
    "dd",
    "echo",
    "find",
    "head",
    "mkdir",
    "nc",
    "seq",
    "sleep",
    "tr",
    "wget",
    "wc",
    "sort",
    "id",
    "touch",
    "rm",
    "env",
    "printf",
    "true",
    "false",
    "test",
    "mount",
]
PASSWD_DEFAULT = "root:x:0:0:root:/root:/bin/sh\nmodel:x:1000:1000:model:/tmp:/bin/sh\n"


#: What a debootstrap build prints when no Debian mirror answers: such a build skips.
MIRROR_TROUBLE = (
    "Failed getting release file",
    "Couldn't download",
    "Temporary failure",
    "resolve",
)


def docker_client_or_skip(timeout: int = 120) -> Any:
    """A Docker SDK client that answers, or skip the test (no daemon here)."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as exc:  # noqa: BLE001 - any failure means "no daemon here"
        pytest.skip(f"Docker daemon not reachable ({exc}); run `bash scripts/docker.sh`")


@pytest.fixture(scope="session")
def docker_client() -> Any:
    return docker_client_or_skip()


def build_offline_image(build_script: Path, archive: Path, *, what: str, timeout: float) -> str:
    """`bash build_script archive`: build a model container offline (debootstrap base) and
    save it to `archive`; returns what the script printed. Skips where debootstrap cannot
    reach a Debian mirror or cannot run (not root, not installed); any other failure fails."""
    proc = subprocess.run(
        ["bash", str(build_script), str(archive)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-600:]
        if "debootstrap" in tail.lower() and any(s in tail for s in MIRROR_TROUBLE):
            pytest.skip(f"debootstrap could not reach a Debian mirror:\n{tail}")
        if "debootstrap: command not found" in tail or "Permission denied" in tail:
            pytest.skip(f"cannot debootstrap here (needs root + debootstrap):\n{tail}")
        pytest.fail(f"building {what} failed:\n{tail}")
    return proc.stdout


def python_container_limits(*, wall_seconds: float, memory_bytes: int, cpus: int) -> SandboxLimits:
    """What the tests' real Python model containers run under: their time, memory and CPUs,
    and room for 64 processes, 64 MiB of /tmp and 64 MiB of masks."""
    return SandboxLimits(
        wall_seconds=wall_seconds,
        memory_bytes=memory_bytes,
        nano_cpus=cpus * 1_000_000_000,
        pids=64,
        tmp_bytes=64 * MiB,
        output_bytes=64 * MiB,
    )


def _tar_bytes(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    return info, data


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
    return info, None


def _link(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 1_700_000_000
    return info, None


def busybox_layer(script: str, passwd: str = PASSWD_DEFAULT) -> bytes:
    """A root filesystem layer: static busybox, its applet links, /model.sh and /etc/passwd."""
    if not BUSYBOX.exists():
        pytest.skip("static busybox missing: apt-get install busybox-static")
    entries = [_dir("bin"), _dir("etc"), _dir("input"), _dir("output"), _dir("tmp")]
    entries.append(_file("bin/busybox", BUSYBOX.read_bytes(), 0o755))
    entries += [_link(f"bin/{applet}", "busybox") for applet in APPLETS]
    entries.append(_file("etc/passwd", passwd.encode()))
    entries.append(_file("model.sh", script.encode(), 0o755))
    return _tar_bytes(entries)


def write_image_archive(
    path: Path,
    script: str = "exit 0\n",
    *,
    user: str = "1000",
    architecture: str = "amd64",
    passwd: str = PASSWD_DEFAULT,
    entrypoint: list[str] | None = None,
    gzipped: bool = False,
    images: int = 1,
    tag: str = "participant/model:latest",
    oci_layout: bool = False,
) -> Path:
    """Write a `docker save` archive: legacy (manifest.json + <id>.json + <id>/layer.tar)
    or, with `oci_layout`, as Docker 25+ writes it (blobs/sha256/..., index.json, links)."""
    layer = busybox_layer(script, passwd)
    diff_id = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": architecture,
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "User": user,
            "Entrypoint": entrypoint if entrypoint is not None else ["/bin/sh", "/model.sh"],
            "Env": ["PATH=/bin"],
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "fetalbench test"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    if oci_layout:
        config_path, layer_path = f"blobs/sha256/{config_hex}", f"blobs/sha256/{diff_id}"
        entries = [
            _dir("blobs"),
            _dir("blobs/sha256"),
            _file(layer_path, layer),
            _file(config_path, config_bytes),
            _file("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
            _file("index.json", json.dumps({"schemaVersion": 2, "manifests": []}).encode()),
            _dir(diff_id),
            _link(f"{diff_id}/layer.tar", f"../blobs/sha256/{diff_id}"),
        ]
    else:
        config_path, layer_path = config_name, f"{diff_id}/layer.tar"
        entries = [_dir(diff_id), _file(layer_path, layer), _file(config_name, config_bytes)]
    manifest = [{"Config": config_path, "RepoTags": [tag], "Layers": [layer_path]}] * images
    entries += [
        _file("manifest.json", json.dumps(manifest).encode()),
        _file("repositories", json.dumps({"participant/model": {"latest": diff_id}}).encode()),
    ]
    data = _tar_bytes(entries)
    path.write_bytes(gzip.compress(data, compresslevel=1) if gzipped else data)
    return path


@pytest.fixture
def image_archive(tmp_path: Path):
    """Factory: `image_archive("script", user=..., ...)` -> path of a fresh archive."""
    counter = iter(range(1000))

    def make(script: str = "exit 0\n", **kwargs) -> Path:
        suffix = ".tar.gz" if kwargs.get("gzipped") else ".tar"
        return write_image_archive(tmp_path / f"image{next(counter)}{suffix}", script, **kwargs)

    return make
