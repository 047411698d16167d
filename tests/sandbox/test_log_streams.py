"""A crashing model's stderr survives the log tail (issue 10, item 10): a Python model writes
its traceback to stderr at once and its buffered stdout only at exit, after it, so the
`RuntimeError` line fell out of the 20 quoted lines. Real busybox container; the excerpt rule
itself is tested on plain lists."""

from __future__ import annotations

from pathlib import Path

from sandbox.containers.backend import run_submission
from sandbox.inputs import prepare_input
from sandbox.limits import SandboxLimits
from sandbox.log_streams import excerpt, merge_streams
from sandbox.outcome import Status

from evaluator.io.archives import MiB

LIMITS = SandboxLimits(
    wall_seconds=20, memory_bytes=64 * MiB, nano_cpus=1_000_000_000, pids=32,
    tmp_bytes=4 * MiB, output_bytes=8 * MiB, output_files=50, log_lines=200, log_bytes=64 * 1024,
)  # fmt: skip


def test_the_runtime_error_line_is_quoted_after_a_late_stdout_flush(
    docker_client, image_archive, sandbox_cases, tmp_path: Path
) -> None:
    from challenges.services.inference import describe_outcome
    from challenges.services.run_log import kept_log

    script = (
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo '  File \"/model/predict.py\", line 9, in <module>' >&2\n"
        "echo 'RuntimeError: CUDA is not available' >&2\n"
        "sleep 0.3\n"
        'i=0; while [ $i -lt 40 ]; do echo "case $i done"; i=$((i+1)); done\n'
        "exit 1\n"
    )
    outcome = run_submission(
        image_archive(script), prepare_input(sandbox_cases, tmp_path / "in"), tmp_path / "out",
        limits=LIMITS, client=docker_client,
    )  # fmt: skip
    assert outcome.status is Status.CRASHED
    # Time order across the two streams, each line knowing where it came from.
    assert outcome.log_tail[2] == "RuntimeError: CUDA is not available"
    assert outcome.log_streams[:3] == ["stderr"] * 3 and outcome.log_streams[-1] == "stdout"
    assert outcome.log_tail[-1] == "case 39 done"
    text = describe_outcome(outcome)
    assert "RuntimeError: CUDA is not available" in text and "case 39 done" in text
    kept = kept_log(outcome.log_tail, outcome.log_streams)
    assert "RuntimeError: CUDA is not available" in kept["log_tail"]


def test_excerpt_and_merge_rules() -> None:
    lines = [f"l{i}" for i in range(10)]
    streams = ["stderr"] + ["stdout"] * 9
    assert [t for t, _ in excerpt(lines, streams, 4)] == [
        "l0",
        "[… 6 line(s) left out …]",
        "l7",
        "l8",
        "l9",
    ]
    assert [t for t, _ in excerpt(lines, [], 3)] == ["l7", "l8", "l9"]  # streams unknown
    out = b"2024-01-01T00:00:00.5Z late out\n2024-01-01T00:00:00.05Z early out\n"
    err = b"2024-01-01T00:00:00.123456789Z err\n"
    # Fractions without trailing zeros still sort by time (.05 < .123456789 < .5).
    assert merge_streams(out, err, 10, 1000) == (
        ["early out", "err", "late out"],
        ["stdout", "stderr", "stdout"],
    )
