"""Real busybox images, some hostile, run through the sandbox: each gets a clear outcome and
the worker (this test process) survives. Limits are tiny so the module stays fast."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sandbox.containers.backend import run_submission
from sandbox.inputs import prepare_input
from sandbox.limits import IMAGE_REPOSITORY, SANDBOX_LABEL, SandboxLimits
from sandbox.outcome import Status

from evaluator.io.archives import MiB

SMALL = SandboxLimits(
    wall_seconds=20,
    memory_bytes=64 * MiB,
    nano_cpus=1_000_000_000,
    pids=32,
    tmp_bytes=4 * MiB,
    output_bytes=8 * MiB,
    output_files=50,
    log_lines=20,
    log_bytes=4096,
)


@pytest.fixture
def run(docker_client, image_archive, sandbox_cases, tmp_path: Path):
    """Factory: run a busybox script as the model; returns (outcome, output folder)."""
    input_dir = prepare_input(sandbox_cases, tmp_path / "input")
    counter = iter(range(100))

    def go(script: str, limits: SandboxLimits = SMALL, **image_kwargs):
        out = tmp_path / f"out{next(counter)}"
        outcome = run_submission(
            image_archive(script, **image_kwargs),
            input_dir,
            out,
            limits=limits,
            client=docker_client,
        )
        leftovers = docker_client.containers.list(all=True, filters={"label": f"{SANDBOX_LABEL}=1"})
        assert leftovers == [], "the run must remove its container"
        assert docker_client.images.list(name=IMAGE_REPOSITORY) == [], "and its image"
        return outcome, out

    return go


def test_model_reads_inputs_json_and_writes_masks(run) -> None:
    script = """
cat /input/inputs.json; echo
for id in $(grep '"case_id"' /input/inputs.json | cut -d'"' -f4); do
  cp=/input/$id.png; test -f $cp && cat $cp > /output/$id.png
done
echo done
"""
    outcome, out = run(script.replace("cat $cp >", "busybox cat $cp >"))
    assert outcome.status is Status.OK, outcome.message
    assert sorted(p.name for p in out.iterdir()) == ["case1.png", "case2.png"]
    assert outcome.log_tail[-1] == "done"
    assert outcome.exit_code == 0 and outcome.wall_seconds > 0
    assert outcome.details["image"]["run_as"] == "1000:1000"
    assert outcome.details["hard_output_cap"] is (os.geteuid() == 0)


def test_endless_loop_hits_the_time_limit(run) -> None:
    limits = SandboxLimits(**{**SMALL.__dict__, "wall_seconds": 2})
    outcome, _ = run("echo start\nwhile true; do :; done\n", limits)
    assert outcome.status is Status.TIMEOUT
    assert "2 s" in outcome.message
    assert outcome.log_tail == ["start"]
    assert outcome.wall_seconds < 15


def test_fork_bomb_is_held_by_the_process_limit(run) -> None:
    limits = SandboxLimits(**{**SMALL.__dict__, "wall_seconds": 4})
    outcome, _ = run("bomb() { bomb | bomb & }\nbomb\nsleep 60\n", limits)
    assert outcome.status in (Status.TIMEOUT, Status.CRASHED)
    assert "process limit (32)" in outcome.message


def test_memory_hog_is_reported_as_out_of_memory(run) -> None:
    outcome, _ = run("echo allocating\ndd if=/dev/zero of=/dev/null bs=512M count=1\necho alive\n")
    assert outcome.status is Status.OOM, (outcome.message, outcome.log_tail)
    assert "out of memory" in outcome.message and "64 MiB" in outcome.message


def test_network_is_unreachable(run) -> None:
    script = """
ls /sys/class/net > /output/interfaces.txt
nc -w 3 10.0.0.1 80 </dev/null; echo "far=$?" >> /output/net.txt
nc -w 3 127.0.0.1 80 </dev/null; echo "local=$?" >> /output/net.txt
echo finished
"""
    outcome, out = run(script)
    assert outcome.status is Status.OK
    assert (out / "interfaces.txt").read_text().split() == ["lo"]
    results = dict(line.split("=") for line in (out / "net.txt").read_text().split())
    assert results["far"] != "0" and results["local"] != "0"
    assert any("Network is unreachable" in line for line in outcome.log_tail), outcome.log_tail


def test_root_and_foreign_architecture_are_rejected_before_running(run) -> None:
    outcome, _ = run("exit 0\n", user="root")
    assert outcome.status is Status.REJECTED and "root" in outcome.message
    outcome, _ = run("exit 0\n", architecture="arm64")
    assert outcome.status is Status.REJECTED and "linux/amd64" in outcome.message


def test_writes_outside_output_fail(run) -> None:
    script = """
for target in /etc/hacked /hacked /input/hacked /bin/hacked; do
  if echo x > $target; then echo "$target=written"; else echo "$target=refused"; fi
done > /output/writes.txt 2>/dev/null
echo x > /tmp/scratch && echo tmp=ok >> /output/writes.txt
"""
    outcome, out = run(script)
    assert outcome.status is Status.OK, outcome.log_tail
    lines = (out / "writes.txt").read_text().split()
    assert lines == [
        "/etc/hacked=refused",
        "/hacked=refused",
        "/input/hacked=refused",
        "/bin/hacked=refused",
        "tmp=ok",
    ]


def test_writing_gigabytes_is_capped(run) -> None:
    outcome, out = run("dd if=/dev/zero of=/output/big bs=1M count=2048\n")
    assert outcome.status is Status.OUTPUT_TOO_LARGE, outcome.message
    assert (out / "big").stat().st_size <= SMALL.output_bytes


def test_output_cap_without_mount_rights_falls_back_to_polling(run) -> None:
    limits = SandboxLimits(**{**SMALL.__dict__, "output_tmpfs": False})
    script = (
        "for i in $(seq 1 100); do dd if=/dev/zero of=/output/f$i bs=1M count=1; sleep 0.05; done\n"
    )
    outcome, out = run(script, limits)
    assert outcome.status is Status.OUTPUT_TOO_LARGE, outcome.message
    assert outcome.details["hard_output_cap"] is False
    written = sum(p.stat().st_size for p in out.iterdir())
    assert SMALL.output_bytes < written < 5 * SMALL.output_bytes


def test_too_many_files_is_capped(run) -> None:
    outcome, out = run("for i in $(seq 1 500); do touch /output/f$i || exit 1; done\n")
    assert outcome.status is Status.OUTPUT_TOO_LARGE, outcome.message
    assert len(list(out.iterdir())) <= SMALL.output_files + 16


def test_no_output_or_wrong_names_is_still_ok(run) -> None:
    outcome, out = run("echo nothing to see\n")
    assert outcome.status is Status.OK and list(out.iterdir()) == []
    outcome, out = run("echo 1 > /output/whatever.txt\n")
    assert outcome.status is Status.OK and [p.name for p in out.iterdir()] == ["whatever.txt"]


def test_non_zero_exit_is_a_crash_with_the_last_log_lines(run) -> None:
    script = "i=0\nwhile [ $i -lt 100 ]; do echo line $i; i=$((i+1)); done\nsleep 0.5\necho boom >&2\nexit 3\n"
    outcome, _ = run(script)
    assert outcome.status is Status.CRASHED and outcome.exit_code == 3
    assert "code 3" in outcome.message
    # Docker reads stdout and stderr separately, so only a pause keeps their order.
    assert outcome.log_tail[-1] == "boom"
    assert len(outcome.log_tail) == SMALL.log_lines


def test_log_flood_keeps_only_a_capped_tail(run) -> None:
    script = "i=0\nwhile [ $i -lt 20000 ]; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; i=$((i+1)); done\necho last\n"
    outcome, _ = run(script)
    assert outcome.status is Status.OK
    assert outcome.log_tail[-1] == "last"
    assert sum(len(line) + 1 for line in outcome.log_tail) <= SMALL.log_bytes
    assert outcome.details["log_bytes"] > 100_000


def test_symlinks_in_output_are_not_followed(run) -> None:
    outcome, out = run("ln -s /etc/shadow /output/case1.png\nmkdir /output/sub\n")
    assert outcome.status is Status.OK
    assert list(out.iterdir()) == []
    assert any("case1.png (link" in s for s in outcome.details["skipped_outputs"])


def test_labels_are_unreachable(run, hidden_truth: Path) -> None:
    assert hidden_truth.exists()
    script = """
ls -a /input > /output/input.txt
cat /proc/mounts > /output/mounts.txt
find / -path /proc -prune -o -path /sys -prune -o -print > /output/files.txt 2>/dev/null
exit 0
"""
    outcome, out = run(script)
    assert outcome.status is Status.OK
    listing = (out / "input.txt").read_text().split()
    assert sorted(listing) == [".", "..", "case1.png", "case2.png", "inputs.json"]
    inputs = json.loads((Path(outcome.output_dir).parent / "input" / "inputs.json").read_text())
    assert [c["file"] for c in inputs["cases"]] == ["case1.png", "case2.png"]
    everything = (out / "mounts.txt").read_text() + (out / "files.txt").read_text()
    assert "SECRET" not in everything and "Annotation" not in everything
    assert str(hidden_truth.parent) not in everything
