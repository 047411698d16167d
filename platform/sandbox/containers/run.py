"""Run a loaded participant image once, under limits, and say what happened.

Everything goes through the Docker SDK (no shell strings). The container gets no network,
a read-only root filesystem, a size-capped /tmp, /input read-only, /output as the only
writable place (see outputs.py), no capabilities, no privilege gain, and caps on processes,
memory (swap included), CPU and time. Its log is read while it runs and only the tail is kept,
and Docker's own log file is capped too, so a chatty model cannot fill the worker's disk.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from evaluator.io.archives import MiB
from sandbox.containers.outputs import DEFAULT_SCRATCH, OutputArea
from sandbox.limits import RUN_ID_LABEL, SANDBOX_LABEL, SandboxLimits
from sandbox.log_streams import merge_streams
from sandbox.outcome import Outcome, Status

POLL_SECONDS = 0.2


class LogTail:
    """Keeps the last `max_lines` lines (and at most `max_bytes`) of a stream of chunks."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.lines: deque[str] = deque(maxlen=max_lines)
        self._partial = b""
        self.total_bytes = 0

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for raw in complete[-(self.lines.maxlen or 1) :]:
            self.lines.append(raw[: self.max_bytes].decode("utf-8", "replace").rstrip("\r"))
        self._partial = self._partial[-self.max_bytes :]

    def result(self) -> list[str]:
        lines = list(self.lines)
        if self._partial:
            lines.append(self._partial.decode("utf-8", "replace"))
        while len(lines) > 1 and sum(len(line) + 1 for line in lines) > self.max_bytes:
            lines.pop(0)
        if lines and len(lines[0]) > self.max_bytes:
            lines[0] = lines[0][-self.max_bytes :]  # one huge line: keep its end
        return lines


def _pids_limit_hit(container_id: str) -> bool:
    """Whether the kernel refused a fork in this container (cgroup v1 or v2 pids.events)."""
    candidates = (
        f"/sys/fs/cgroup/pids/docker/{container_id}/pids.events",
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/pids.events",
        f"/sys/fs/cgroup/docker/{container_id}/pids.events",
    )
    for path in candidates:
        try:
            for line in Path(path).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max" and value.strip() not in ("", "0"):
                    return True
        except OSError:
            continue
    return False


def run_container(
    client: Any,
    image: str,
    input_dir: Path,
    output_dir: Path,
    *,
    run_as: str,
    limits: SandboxLimits | None = None,
    run_id: str | None = None,
    scratch_dir: Path | None = None,
) -> Outcome:
    """Run `image` on `input_dir` (images + inputs.json only) and copy its /output files to
    `output_dir`. Never raises for anything the model does; the container is always removed.
    """
    import docker.errors
    import docker.types

    limits = limits or SandboxLimits()
    run_id = run_id or uuid.uuid4().hex[:16]
    uid, _, gid = run_as.partition(":")
    scratch = Path(scratch_dir or DEFAULT_SCRATCH)
    area = OutputArea(
        scratch,
        run_id,
        limits.output_bytes,
        limits.output_files,
        int(uid),
        int(gid or uid),
        use_tmpfs=limits.output_tmpfs,
    )
    started = time.monotonic()
    container = None
    tail = LogTail(limits.log_lines, limits.log_bytes)
    watch = {"pids_hit": False, "too_large": False, "killed_by_us": False}
    try:
        try:
            container = client.containers.create(
                image,
                user=run_as,
                network_mode="none",
                read_only=True,
                # Owned by the model's uid: Docker copies the image's /tmp mode onto the tmpfs,
                # and that is often root-only in a hand-made image.
                tmpfs={
                    "/tmp": f"size={limits.tmp_bytes},uid={uid},gid={gid or uid},mode=1777,"
                    "nosuid,nodev"
                },
                mounts=[
                    docker.types.Mount(
                        "/input", str(Path(input_dir).resolve()), type="bind", read_only=True
                    ),
                    docker.types.Mount("/output", str(area.mount_dir.resolve()), type="bind"),
                ],
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=limits.pids,
                mem_limit=limits.memory_bytes,
                memswap_limit=limits.memory_bytes,
                nano_cpus=_cpu_cap(client, limits.nano_cpus),
                shm_size=limits.shm_bytes,
                ipc_mode="private",
                device_requests=(
                    [docker.types.DeviceRequest(count=1, capabilities=[["gpu"]])]
                    if limits.gpu
                    else None
                ),
                environment={"FETALBENCH_INPUT": "/input", "FETALBENCH_OUTPUT": "/output"},
                labels={SANDBOX_LABEL: "1", RUN_ID_LABEL: run_id},
                log_config=docker.types.LogConfig(
                    type="json-file", config={"max-size": "1m", "max-file": "1"}
                ),
                hostname="model",
                detach=True,
            )
            container.start()
        except docker.errors.APIError as exc:
            return Outcome(
                Status.CRASHED,
                f"the container could not start: {exc.explanation or exc}",
                wall_seconds=time.monotonic() - started,
                output_dir=Path(output_dir),
                details={"run_id": run_id},
            )

        reader = threading.Thread(target=_read_logs, args=(container, tail), daemon=True)
        reader.start()
        done = threading.Event()
        watcher = threading.Thread(target=_watch, args=(container, area, watch, done), daemon=True)
        watcher.start()
        timed_out = False
        try:
            container.wait(timeout=limits.wall_seconds)
        except Exception:  # requests' ReadTimeout / ConnectionError: the time limit is up
            timed_out = True
            watch["killed_by_us"] = True
            watch["pids_hit"] = watch["pids_hit"] or _pids_limit_hit(container.id)
            _kill(container)
            with contextlib.suppress(Exception):  # the removal below forces it anyway
                container.wait(timeout=30)
        wall = time.monotonic() - started
        done.set()
        watcher.join(timeout=5)
        reader.join(timeout=5)
        container.reload()
        state = container.attrs.get("State", {})
        skipped = area.collect(output_dir)
        log_tail, log_streams = _final_tail(container, tail)
        # Where the cgroup's pids.events is not readable, the shell's own complaint tells.
        watch["pids_hit"] = watch["pids_hit"] or any(
            "can't fork" in line or "fork: Resource temporarily unavailable" in line
            for line in log_tail
        )
        outcome = _classify(state, timed_out, watch, area, limits)
        outcome.wall_seconds = wall
        outcome.log_tail = log_tail
        outcome.log_streams = log_streams
        outcome.output_dir = Path(output_dir)
        outcome.details.update(
            {"run_id": run_id, "hard_output_cap": area.hard_cap, "log_bytes": tail.total_bytes}
        )
        if skipped:
            outcome.details["skipped_outputs"] = skipped
        return outcome
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.APIError):  # else reap_orphans() does
                container.remove(force=True, v=True)
        area.close()


def _final_tail(container: Any, tail: LogTail) -> tuple[list[str], list[str]]:
    """The log tail and each line's stream, re-read from Docker once the container has
    stopped: a follow stream can end a moment before the last lines arrive. stdout and stderr
    are read apart, with Docker's timestamps, and merged in time order (log_streams.py), so
    the caller can always keep the last stderr lines. Docker's own log file is capped (1 MB).
    """
    lines = tail.lines.maxlen or 1
    try:
        out = container.logs(stdout=True, stderr=False, tail=lines, timestamps=True)
        err = container.logs(stdout=False, stderr=True, tail=lines, timestamps=True)
    except Exception:  # noqa: BLE001 - fall back to what the stream saw (streams unknown)
        return tail.result(), []
    return merge_streams(out, err, lines, tail.max_bytes)


def _cpu_cap(client: Any, nano_cpus: int) -> int:
    """The CPU limit, lowered to what the Docker host has (Docker refuses more)."""
    try:
        return min(nano_cpus, int(client.info()["NCPU"]) * 1_000_000_000)
    except Exception:  # noqa: BLE001 - keep the configured value
        return nano_cpus


def _kill(container: Any) -> None:
    import docker.errors

    with contextlib.suppress(docker.errors.APIError):  # already gone
        container.kill()


def _read_logs(container: Any, tail: LogTail) -> None:
    try:
        for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
            tail.feed(chunk)
    except Exception:  # noqa: BLE001 - a broken log stream must not end the run
        pass


def _watch(container: Any, area: OutputArea, watch: dict, done: threading.Event) -> None:
    """Poll what the kernel cannot report afterwards: fork refusals (the cgroup disappears
    with the container) and, without a tmpfs cap, the output size."""
    while not done.wait(POLL_SECONDS):
        if not watch["pids_hit"] and _pids_limit_hit(container.id):
            watch["pids_hit"] = True
        if not area.hard_cap and area.usage_bytes() > area.max_bytes:
            watch["too_large"] = True
            watch["killed_by_us"] = True
            _kill(container)
            return


def _classify(
    state: dict, timed_out: bool, watch: dict, area: OutputArea, limits: SandboxLimits
) -> Outcome:
    exit_code = state.get("ExitCode")
    pids_note = (
        f" It hit the process limit ({limits.pids}): too many processes or threads."
        if watch["pids_hit"]
        else ""
    )
    if timed_out:
        return Outcome(
            Status.TIMEOUT,
            f"the model did not finish within {limits.wall_seconds:g} s and was stopped."
            + pids_note,
            exit_code=exit_code,
        )
    if state.get("OOMKilled"):
        return Outcome(
            Status.OOM,
            f"the model ran out of memory (limit {limits.memory_bytes // MiB} MiB).",
            exit_code=exit_code,
        )
    if watch["too_large"] or area.is_full():
        return Outcome(
            Status.OUTPUT_TOO_LARGE,
            f"the model wrote more than the /output limit ({limits.output_bytes // MiB}"
            f" MiB, {limits.output_files} files).",
            exit_code=exit_code,
        )
    if exit_code != 0:
        return Outcome(
            Status.CRASHED,
            f"the model exited with code {exit_code}; see the last log lines." + pids_note,
            exit_code=exit_code,
        )
    return Outcome(Status.OK, "the model finished.", exit_code=0)
