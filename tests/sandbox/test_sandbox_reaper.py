"""After a worker crash, `reap_orphans` removes what the sandbox left: containers, images,
output mounts; and nothing else."""

from __future__ import annotations

from pathlib import Path

from sandbox.containers.images import load_image, validate_archive
from sandbox.containers.outputs import OutputArea
from sandbox.containers.reaper import reap_orphans
from sandbox.containers.run import LogTail
from sandbox.limits import IMAGE_REPOSITORY, RUN_ID_LABEL, SANDBOX_LABEL


def test_reaper_removes_leftovers_of_a_crashed_worker(
    docker_client, image_archive, tmp_path: Path
) -> None:
    image = validate_archive(image_archive("sleep 600\n"), tmp_path / "work")
    reference = load_image(docker_client, image)
    # What a worker killed mid-run leaves: a running labelled container and its output mount.
    container = docker_client.containers.run(
        reference,
        detach=True,
        user=image.run_as,
        network_mode="none",
        labels={SANDBOX_LABEL: "1", RUN_ID_LABEL: "crashed-run"},
    )
    scratch = tmp_path / "scratch"
    stale = OutputArea(scratch, "crashed-run", 1024 * 1024, 10, 1000, 1000)
    bystander = docker_client.containers.create(reference, labels={"other": "1"})
    try:
        young = reap_orphans(docker_client, max_age_seconds=3600, scratch_dir=scratch)
        assert young["containers"] == 0 and young["images"] == 0 and young["mounts"] == 0
        container.reload()
        assert container.status == "running"

        removed = reap_orphans(docker_client, max_age_seconds=0, scratch_dir=scratch)
        assert removed["containers"] == 1 and removed["mounts"] == 1
        assert not docker_client.containers.list(all=True, filters={"label": f"{SANDBOX_LABEL}=1"})
        assert not stale.mount_dir.exists()
        # The image is still used by the unlabelled bystander container: it stays until free.
        bystander.remove(force=True)
        reap_orphans(docker_client, max_age_seconds=0)
        assert docker_client.images.list(name=IMAGE_REPOSITORY) == []
    finally:
        if _exists(bystander):
            bystander.remove(force=True)
        stale.close()


def _exists(container) -> bool:
    try:
        container.reload()
        return True
    except Exception:  # noqa: BLE001 - gone
        return False


def test_log_tail_keeps_the_end_within_bounds() -> None:
    tail = LogTail(max_lines=3, max_bytes=20)
    for i in range(100):
        tail.feed(f"line {i}\n".encode())
    tail.feed(b"partial without newline")
    assert tail.result() == ["partial without newline"[-20:]]
    tail.feed(b"\nok\n")
    assert tail.result() == ["ok"]
    tail = LogTail(max_lines=2, max_bytes=1000)
    tail.feed(b"a\nb\r\nc\n")
    assert tail.result() == ["b", "c"]
