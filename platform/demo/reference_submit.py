"""Submit the demo's reference models through the public API, as a participant would.

Everything here is HTTP through `fetalbench.api.Client` with the reference account's token:
join the challenge under the team name, find its phases, upload each model zip with its
metadata (`kind=model`; the inference worker runs it on the hidden images and measures its
parameters), and wait until the platform has scored them. A model already submitted to a
phase (same method name, not failed or cancelled) is not submitted again, so `run.sh` can
run this on every start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from demo.reference_runs import CHALLENGE_OF, TrainedModel
from fetalbench.api import ApiError, Client

Log = Callable[[str], None]
TEAM_NAME = "fetalbench reference"
_GIVEN_UP = ("failed", "cancelled")


@dataclass(frozen=True)
class Submitted:
    """One reference model in one phase: its submission id and whether it is new."""

    phase: str
    method_name: str
    submission_id: int
    new: bool


def wait_for_server(client: Client, timeout_s: float, log: Log, poll_s: float = 1.0) -> None:
    """Block until the API answers (run.sh starts the server after this step begins)."""
    deadline = time.monotonic() + timeout_s
    said = False
    while True:
        try:
            client.challenge_phases(next(iter(CHALLENGE_OF.values())))
            return
        except ApiError as exc:
            if time.monotonic() > deadline:
                raise ApiError(f"the site did not answer within {timeout_s:.0f} s: {exc}") from None
            if not said:
                log(f"waiting for the site at {client.url} ...")
                said = True
            time.sleep(poll_s)


def submit_models(
    client: Client, models: list[TrainedModel], log: Log, phases: list[str] | None = None
) -> list[Submitted]:
    """Join each model's challenge and submit it to every open phase that takes model files
    (only those whose slug is in `phases`, when given)."""
    out: list[Submitted] = []
    for slug in dict.fromkeys(CHALLENGE_OF[m.kind] for m in models):
        team = client.join(slug, TEAM_NAME)
        targets = [
            p
            for p in client.challenge_phases(slug)
            if p.get("is_open")
            and "model" in p.get("allowed_kinds", [])
            and (not phases or p.get("slug") in phases)
        ]
        if not targets:
            log(f"{slug}: no open phase takes model files; nothing submitted")
        for phase in targets:
            label = f"{slug}/{phase['slug']}"
            existing = {
                s.get("method_name"): s["id"]
                for s in client.submissions(phase["id"])
                if s.get("status") not in _GIVEN_UP
            }
            for model in (m for m in models if CHALLENGE_OF[m.kind] == slug):
                name = model.metadata["method_name"]
                if name in existing:
                    out.append(Submitted(label, name, existing[name], new=False))
                    continue
                record = client.submit(phase["id"], model.bundle, model.metadata)
                out.append(Submitted(label, name, record["id"], new=True))
                log(f"{label}: submitted {name!r} as #{record['id']} (team {team.get('name')!r})")
    return out


def wait_until_scored(
    client: Client, submitted: list[Submitted], timeout_s: float, log: Log, poll_s: float = 2.0
) -> dict[int, dict]:
    """Wait for every submission to finish (`Client.wait_for_submission`, one after the
    other within one deadline); logs the count each time one finishes.

    Returns the final records by id. A timeout is an ApiError naming what is still pending.
    """
    ids = [s.submission_id for s in submitted]
    deadline = time.monotonic() + timeout_s
    records: dict[int, dict] = {}
    for submission_id in ids:
        try:
            records[submission_id] = client.wait_for_submission(
                submission_id, timeout=max(0.0, deadline - time.monotonic()), poll_s=poll_s
            )
        except ApiError:
            if time.monotonic() <= deadline:
                raise  # not the deadline: the server refused or did not answer
            pending = ", ".join(
                f"#{i} {client.submission(i).get('status')}" for i in ids if i not in records
            )
            raise ApiError(
                f"not scored within {timeout_s:.0f} s ({pending}); is a worker serving the "
                "scoring and inference queues?"
            ) from None
        log(f"{len(records)} of {len(ids)} reference submission(s) scored")
    return records
