"""Remove what crashed or killed workers left behind: containers, volumes, images, mounts.

Every container the sandbox creates carries the label `fetalbench.sandbox=1` (plus its run
id) and every image it loads is tagged `fetalbench-sandbox:<digest>`, so this can run on a
schedule (Celery beat) without touching anything else on the host.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.containers.outputs import DEFAULT_SCRATCH, unmount_stale
from sandbox.limits import IMAGE_REPOSITORY, RUN_ID_LABEL, SANDBOX_LABEL


def _created_epoch(value: str) -> float:
    """Docker's RFC 3339 timestamps carry nanoseconds, which fromisoformat() refuses."""
    head, _, rest = value.partition(".")
    zone = rest[rest.find("+") :] if "+" in rest else "+00:00"
    return datetime.fromisoformat(head + zone).timestamp()


def reap_orphans(
    client: Any,
    max_age_seconds: float = 6 * 3600,
    scratch_dir: Path | None = DEFAULT_SCRATCH,
) -> dict[str, int]:
    """Remove sandbox containers older than `max_age_seconds` (running or not), sandbox
    volumes, sandbox images no container uses, and stale output mounts under `scratch_dir`.

    `max_age_seconds` must exceed the longest time limit so live runs are left alone.
    Returns counts of what was removed.
    """
    import docker.errors

    now = time.time()
    removed = {"containers": 0, "volumes": 0, "images": 0, "mounts": 0}
    live_runs: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": f"{SANDBOX_LABEL}=1"}):
        created = _created_epoch(container.attrs.get("Created", "1970-01-01T00:00:00Z"))
        if now - created >= max_age_seconds:
            try:
                container.remove(force=True, v=True)
                removed["containers"] += 1
                continue
            except docker.errors.APIError:
                pass
        live_runs.add(container.labels.get(RUN_ID_LABEL, ""))
    for volume in client.volumes.list(filters={"label": f"{SANDBOX_LABEL}=1"}):
        try:
            volume.remove(force=True)
            removed["volumes"] += 1
        except docker.errors.APIError:
            pass
    for image in client.images.list(name=IMAGE_REPOSITORY):
        # Age = when the sandbox tagged it (a participant's "created" date means nothing).
        tagged = (image.attrs.get("Metadata") or {}).get("LastTagTime") or ""
        if (
            tagged
            and not tagged.startswith("0001")
            and now - _created_epoch(tagged) < max_age_seconds
        ):
            continue
        for tag in image.tags:
            if tag.startswith(f"{IMAGE_REPOSITORY}:"):
                try:  # Docker refuses while a container still uses it: next time then
                    client.images.remove(tag)
                    removed["images"] += 1
                except docker.errors.APIError:
                    pass
    if scratch_dir is not None:
        removed["mounts"] = len(unmount_stale(Path(scratch_dir), live_runs, max_age_seconds))
    return removed
