"""Thin HTTP client for the fetalbench REST API (token authentication).

All server paths live in `ROUTES` so the one place to change is obvious if the API moves.
Every failure becomes an `ApiError` with a readable message (the server's own `detail` when
it sends one), so the CLI never shows a traceback for a refused submission or a typo'd URL.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from fetalbench.upload import MultipartFileStream

ROUTES = {
    "token": "/api/token/",
    "submissions": "/api/submissions/",
    "submission": "/api/submissions/{id}/",
    "submission_cases": "/api/submissions/{id}/cases/",
    "phase": "/api/phases/{phase}/",
    "quota": "/api/phases/{phase}/quota/",
    "challenge_phases": "/api/challenges/{slug}/phases/",
    "join": "/api/challenges/{slug}/join/",
    "team": "/api/challenges/{slug}/team/",
    "team_leave": "/api/challenges/{slug}/team/leave/",
    "team_invitations": "/api/challenges/{slug}/team/invitations/",
    "team_invitation": "/api/challenges/{slug}/team/invitations/{id}/",
    "invitation_accept": "/api/invitations/{token}/accept/",
    "leaderboard": "/api/phases/{phase}/leaderboard/",
    "leaderboard_csv": "/api/phases/{phase}/leaderboard.csv",
}
DEFAULT_URL = "http://127.0.0.1:8000"
FINAL_STATES = frozenset({"done", "failed", "cancelled"})
"""Submission states that do not change any more: `wait_for_submission` stops at these."""


class ApiError(Exception):
    """A request failed; the message is meant for the user as it is."""


def config_path() -> Path:
    """Where `login` stores the token: $FETALBENCH_CONFIG or ~/.config/fetalbench.json."""
    env = os.environ.get("FETALBENCH_CONFIG")
    return Path(env) if env else Path.home() / ".config" / "fetalbench.json"


def load_config() -> dict[str, str]:
    try:
        data = json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_config(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": url, "token": token}))
    path.chmod(0o600)
    return path


def _readable_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f"HTTP {response.status_code}: {text[:300] or response.reason}"
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])
        parts = []
        for key, value in body.items():
            msg = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(msg if key == "non_field_errors" else f"{key}: {msg}")
        return " | ".join(parts) or f"HTTP {response.status_code}"
    if isinstance(body, list):
        return "; ".join(map(str, body))
    return str(body)


def human_bytes(size: int) -> str:
    """`size` in the largest binary unit it fills ("1 GiB", "1.5 MiB"), as the server writes it."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} byte" + ("" if size == 1 else "s")


def _board_params(site: str | None, all_entries: bool) -> dict[str, str]:
    params = {"site": site} if site else {}
    if all_entries:
        params["entries"] = "all"
    return params


@dataclass
class Client:
    """A session against one server; `token` may be empty for public pages like leaderboards."""

    url: str = DEFAULT_URL
    token: str = ""
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.session = requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"Token {self.token}"

    def _request(self, method: str, route: str, *, expect_json: bool = True, **kwargs: Any):
        # `path`: a page link the server gave (`next`), kept on this client's base URL.
        path = kwargs.pop("path", None) or ROUTES[route].format(**kwargs.pop("params_path", {}))
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, self.url + path, **kwargs)
        except requests.ConnectionError:
            raise ApiError(f"cannot reach the server at {self.url} (is it running?)") from None
        except requests.Timeout:
            raise ApiError(f"the server at {self.url} did not answer in time") from None
        except requests.RequestException as exc:
            raise ApiError(f"request to {self.url} failed: {exc}") from None
        if response.status_code == 401:
            raise ApiError("not logged in or the token is invalid: run `fetalbench login`")
        if response.status_code >= 400:
            raise ApiError(_readable_error(response))
        if not expect_json:
            return response.text
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"the server sent something that is not JSON from {path}") from None

    def login(self, username: str, password: str) -> str:
        """Exchange a username and password for an API token."""
        data = self._request("POST", "token", data={"username": username, "password": password})
        token = data.get("token") if isinstance(data, dict) else None
        if not token:
            raise ApiError("the server did not return a token")
        self.token = token
        self.session.headers["Authorization"] = f"Token {token}"
        return token

    def submit(
        self,
        phase: int,
        path: str | Path,
        metadata: dict[str, str],
        on_progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Upload one submission file with its metadata, streamed; returns the submission."""
        if not self.token:
            raise ApiError("submitting needs a token: run `fetalbench login` or pass --token")
        path = Path(path)
        if not path.is_file():
            raise ApiError(f"no such file: {path}")
        # The server refuses files over its limit (413), or of a kind the phase does not
        # take; say so before sending gigabytes (a model zip can be large).
        info = self.phase(phase)
        kind = str(metadata.get("kind") or "predictions")
        allowed = info.get("allowed_kinds")
        if isinstance(allowed, list) and allowed and kind not in allowed:
            raise ApiError(
                f"This phase accepts {', '.join(map(str, allowed))} submissions, not {kind} "
                "(nothing was uploaded)."
            )
        limit = info.get("max_upload_bytes")
        size = path.stat().st_size
        if isinstance(limit, int) and size > limit:
            raise ApiError(
                f"The upload is {human_bytes(size)}; the limit for a submission is "
                f"{human_bytes(limit)} ({path.name})"
            )
        self.check_quota(phase)
        fields = {"phase": str(phase)}
        fields.update({k: str(v) for k, v in metadata.items() if v not in (None, "")})
        with MultipartFileStream(fields, "file", path, on_progress) as body:
            return self._request(
                "POST",
                "submissions",
                data=body,
                headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
                timeout=max(self.timeout, 600.0),
            )

    def quota(self, phase: int) -> dict:
        """What is left of the phase's daily limit: `limit`, `used`, `remaining` (None: no
        limit), `resets_at` (when the next slot frees)."""
        return self._request("GET", "quota", params_path={"phase": phase})

    def check_quota(self, phase: int) -> None:
        """ApiError when the daily limit is used up, so no upload is sent only to be refused.
        A server without the quota endpoint is not asked again: it refuses at upload."""
        try:
            quota = self.quota(phase)
        except ApiError as exc:
            if "not found" in str(exc).lower():
                return
            raise
        if quota.get("remaining") == 0:
            raise ApiError(
                f"Daily limit reached: {quota.get('used')} of {quota.get('limit')} submissions "
                f"used in the last 24 hours; the next slot frees at {quota.get('resets_at')} "
                "(nothing was uploaded)"
            )

    def submission(self, submission_id: int) -> dict:
        return self._request("GET", "submission", params_path={"id": submission_id})

    def wait_for_submission(
        self,
        submission_id: int,
        *,
        timeout: float | None = None,
        poll_s: float = 1.0,
        on_update: Callable[[dict], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict:
        """Poll one submission until it reaches a state in `FINAL_STATES`; returns that record.

        The one polling loop of the project (the CLI's `--wait`, `reference_models reproduce
        --phase` and the demo's reference seeding all use it). `on_update` sees every record
        fetched, the final one included (for a progress bar or a log line). A failed or
        cancelled submission is returned, not raised: the caller decides whether that is an
        error. `timeout` (seconds, None: wait for ever) running out is an ApiError saying
        what to check.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.submission(submission_id)
            if on_update is not None:
                on_update(record)
            status = record.get("status")
            if status in FINAL_STATES:
                return record
            if deadline is not None and time.monotonic() > deadline:
                raise ApiError(
                    f"submission {submission_id} is still {status} after {timeout:.0f} s; "
                    "is a worker serving the scoring and inference queues?"
                )
            sleep(poll_s)

    def phase(self, phase: int) -> dict:
        """One phase: `is_open`, `allowed_kinds`, ranking metrics, sites."""
        return self._request("GET", "phase", params_path={"phase": phase})

    def challenge_phases(self, slug: str) -> list[dict]:
        """The phases of one challenge (ids, slugs, `is_open`, `allowed_kinds`)."""
        return self._list("challenge_phases", params_path={"slug": slug})

    def join(self, slug: str, team_name: str = "") -> dict:
        """Join a challenge (idempotent): returns your team, or a new team named `team_name`.
        A name already taken is refused: existing teams are joined by invitation only."""
        data = {"team_name": team_name} if team_name else {}
        return self._request("POST", "join", params_path={"slug": slug}, data=data)

    def team(self, slug: str) -> dict:
        """Your team in a challenge (name, members)."""
        return self._request("GET", "team", params_path={"slug": slug})

    def invite(self, slug: str, days: int | None = None) -> dict:
        """A new single-use invitation to your team: `url` and `token` to send to someone."""
        data = {"days": days} if days else {}
        return self._request("POST", "team_invitations", params_path={"slug": slug}, data=data)

    def invitations(self, slug: str) -> list[dict]:
        """Your team's open invitations."""
        return self._request("GET", "team_invitations", params_path={"slug": slug})

    def revoke_invitation(self, slug: str, invitation_id: int) -> None:
        self._request(
            "DELETE",
            "team_invitation",
            params_path={"slug": slug, "id": invitation_id},
            expect_json=False,
        )

    def accept_invitation(self, token: str) -> dict:
        """Join the team of an invitation (its token, or the whole link); returns the team."""
        token = token.rstrip("/").rsplit("/", 1)[-1]
        return self._request("POST", "invitation_accept", params_path={"token": token})

    def leave(self, slug: str) -> dict:
        """Leave your team; its submissions stay with it."""
        return self._request("POST", "team_leave", params_path={"slug": slug})

    def submissions(self, phase: int | None = None) -> list[dict]:
        """Your submissions (yours and your teams'), optionally in one phase only."""
        params = {"phase": phase} if phase is not None else {}
        return self._list("submissions", params=params)

    def _list(self, route: str, **kwargs: Any) -> list[dict]:
        """Every item of a list endpoint: the API answers in pages (`count`, `next`,
        `results`), which are followed to the end; a plain list is taken as it is."""
        data = self._request("GET", route, **kwargs)
        items: list[dict] = []
        while isinstance(data, dict) and isinstance(data.get("results"), list):
            items.extend(data["results"])
            if not data.get("next"):
                return items
            parts = urlsplit(str(data["next"]))
            data = self._request("GET", route, path=f"{parts.path}?{parts.query}")
        return data if isinstance(data, list) else items

    def submission_cases(self, submission_id: int) -> dict:
        """Per-case metrics of one scored submission (`{"cases": [{"metrics": ...}]}`)."""
        return self._request("GET", "submission_cases", params_path={"id": submission_id})

    def leaderboard(self, phase: int, site: str | None = None, all_entries: bool = False) -> dict:
        """The board (one row per participant), or every scored submission with `all_entries`."""
        params = _board_params(site, all_entries)
        return self._request("GET", "leaderboard", params_path={"phase": phase}, params=params)

    def leaderboard_csv(
        self, phase: int, site: str | None = None, all_entries: bool = False
    ) -> str:
        params = _board_params(site, all_entries)
        return self._request(
            "GET", "leaderboard_csv", params_path={"phase": phase}, params=params, expect_json=False
        )
