"""`python -m fetalbench`: log in, submit (streamed, with progress), follow a submission,
print a leaderboard, manage your team (invitation links).

URL and token come from --url/--token, else $FETALBENCH_URL/$FETALBENCH_TOKEN, else the file
`login` writes, so scripted use needs no interactive step.
"""

from __future__ import annotations

import argparse
import getpass
import itertools
import os
import sys
from collections.abc import Sequence

from tqdm import tqdm

from fetalbench.api import DEFAULT_URL, ApiError, Client, load_config, save_config
from fetalbench.commands import run_command
from fetalbench.report import (
    direction_arrow,
    format_measured,
    format_quota,
    format_run,
    format_scores,
    parameter_count,
)

STRATEGIES = (
    "full",
    "decoder_only",
    "encoder_only",
    "from_scratch",
    "linear_probe",
    "lora",
    "other",
)


def _client(args: argparse.Namespace) -> Client:
    stored = load_config()
    url = args.url or os.environ.get("FETALBENCH_URL") or stored.get("url") or DEFAULT_URL
    token = args.token or os.environ.get("FETALBENCH_TOKEN") or stored.get("token", "")
    return Client(url=url, token=token)


def cmd_login(args: argparse.Namespace) -> int:
    client = _client(args)
    username = args.username or input("username: ")
    password = args.password or os.environ.get("FETALBENCH_PASSWORD") or getpass.getpass()
    token = client.login(username, password)
    if args.no_save:
        print(token)
    else:
        where = save_config(client.url, token)
        # The token is a password: saved (mode 600), not printed where screens and logs see it.
        print(f"logged in to {client.url} as {username}; token saved to {where}")
    return 0


def wait_for_result(client: Client, submission_id: int, poll_s: float = 1.0) -> dict:
    """Poll until the submission is done/failed, showing state and scoring progress."""
    spinner = itertools.cycle("|/-\\")
    with tqdm(total=100, unit="%", desc="queued", bar_format="{desc} {bar} {n:.0f}%") as bar:

        def show(sub: dict) -> None:
            state = sub.get("status", "?")
            progress = 1.0 if state == "done" else float(sub.get("progress") or 0.0)
            bar.set_description_str(f"{next(spinner)} {state:<10}")
            bar.n = round(100 * progress, 1)
            bar.refresh()

        return client.wait_for_submission(submission_id, poll_s=poll_s, on_update=show)


def _report(sub: dict) -> int:
    """The submission's state, measured counts, model run and own scores (per site, with
    95 % intervals; shown to its owners whether or not the board is public)."""
    state = sub.get("status")
    print(f"submission {sub.get('id')}: {state}")
    if sub.get("status_detail"):
        print(f"  {sub['status_detail']}")
    print(format_measured(sub))
    if sub.get("run"):
        print(format_run(sub["run"]))
    if state == "done" or sub.get("scores"):
        print(format_scores(sub.get("scores")))
    return 0 if state not in ("failed", "cancelled") else 1


def cmd_submit(args: argparse.Namespace) -> int:
    client = _client(args)
    metadata = {
        "kind": args.kind,
        "method_name": args.method,
        "team": args.team,
        "backbone": args.backbone,
        "fine_tuning_strategy": args.strategy,
        "params_total": args.params_total,
        "params_trainable": args.params_trainable,
        "paper_url": args.paper_url,
        "code_url": args.code_url,
    }
    size = os.path.getsize(args.file) if os.path.isfile(args.file) else 0
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="upload") as bar:

        def on_progress(sent: int) -> None:
            bar.update(min(sent, size) - bar.n)

        sub = client.submit(args.phase, args.file, metadata, on_progress)
    print(f"submission {sub.get('id')} accepted ({sub.get('status', 'queued')})")
    if args.wait:
        sub = wait_for_result(client, int(sub["id"]))
    return _report(sub)


def cmd_status(args: argparse.Namespace) -> int:
    client = _client(args)
    sub = wait_for_result(client, args.id) if args.wait else client.submission(args.id)
    return _report(sub)


def cmd_quota(args: argparse.Namespace) -> int:
    """What is left of a phase's daily limit for you and your team."""
    print(format_quota(_client(args).quota(args.phase)))
    return 0


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict) and "mean" in value:
        mean = value.get("mean")
        lo, hi = value.get("ci95_low"), value.get("ci95_high")
        if mean is None:
            return "-"
        if lo is not None and hi is not None:
            return f"{mean:.4g} ± {(hi - lo) / 2:.2g}"
        return f"{mean:.4g}"
    return "-" if value is None else str(value)


FIXED_COLUMNS = (
    ("rank", "rank"),
    ("rank_interval", "95% ranks"),
    ("participant", "team"),
    ("method_name", "method"),
    ("fine_tuning_strategy", "strategy"),
    ("backbone", "backbone"),
    ("params_total", "params"),
)


def _rank_interval(row: dict) -> str:
    """The row's 95% bootstrap rank interval ("2-4", "~" when statistically tied), or "-"
    while the worker's analysis is pending (docs/statistics.md)."""
    low, high = row.get("rank_low"), row.get("rank_high")
    if low is None or high is None:
        return "-"
    span = f"{low:g}" if low == high else f"{low:g}-{high:g}"
    return span + (" ~" if row.get("tied_with") else "")


def format_leaderboard(board: dict) -> str:
    """Plain-text table of the API's leaderboard: fixed columns, then each metric (mean ± CI
    half-width) with its direction (↑ higher is better, ↓ lower is better)."""
    rows = board.get("rows", []) if isinstance(board, dict) else []
    if not rows:
        return f"(no entries yet for {board.get('site', 'all') if isinstance(board, dict) else 'this phase'})"
    columns = board.get("columns", [])
    headers = [label for _, label in FIXED_COLUMNS]
    headers += [f"{c.get('label', c['key'])}{direction_arrow(c)}" for c in columns]
    table = []
    for row in rows:
        cells = [
            parameter_count(row.get(key)) + ("*" if row.get("params_source") == "measured" else "")
            if key == "params_total"
            else _rank_interval(row)
            if key == "rank_interval"
            else _cell(row.get(key))
            for key, _ in FIXED_COLUMNS
        ]
        cells += [_cell((row.get("values") or {}).get(c["key"])) for c in columns]
        table.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.append("(* = parameter count measured by the platform; otherwise declared)")
    if any(row.get("tied_with") for row in rows):
        lines.append("(~ = statistically tied with another entry: docs/statistics.md)")
    return "\n".join(lines)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.csv:
        sys.stdout.write(client.leaderboard_csv(args.phase, args.site, args.all_entries))
    else:
        print(format_leaderboard(client.leaderboard(args.phase, args.site, args.all_entries)))
    return 0


def _print_team(team: dict) -> None:
    members = ", ".join(team.get("members", [])) or "-"
    print(f"team {team.get('name')!r} in {team.get('challenge')}: {members}")


def cmd_team(args: argparse.Namespace) -> int:
    """Team membership: show, create, invite (a single-use link), list or revoke invitations,
    accept an invitation, leave."""
    client = _client(args)
    action = args.action
    if action == "accept":
        _print_team(client.accept_invitation(args.target))
        return 0
    args.challenge = args.target
    if action == "show":
        _print_team(client.team(args.challenge))
    elif action == "create":
        _print_team(client.join(args.challenge, args.value or ""))
    elif action == "invite":
        invitation = client.invite(args.challenge, args.days)
        print(f"invitation link (single use, expires {invitation.get('expires_at')}):")
        print(invitation.get("url"))
    elif action == "invitations":
        for inv in client.invitations(args.challenge):
            print(f"{inv['id']}  {inv.get('created_by')}  expires {inv.get('expires_at')}")
            print(f"    {inv.get('url')}")
    elif action == "revoke":
        if not (args.value or "").isdigit():
            raise ApiError("revoke needs the invitation id (see `team invitations`)")
        client.revoke_invitation(args.challenge, int(args.value))
        print(f"invitation {args.value} revoked")
    elif action == "leave":
        left = client.leave(args.challenge)
        gone = " (the team was deleted: no members and no submissions left)"
        print(f"left team {left.get('left')!r}{gone if left.get('team_deleted') else ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fetalbench",
        description="fetalbench client: submit to challenges and read leaderboards.",
    )
    parser.add_argument("--url", help=f"server URL (env FETALBENCH_URL, default {DEFAULT_URL})")
    parser.add_argument("--token", help="API token (env FETALBENCH_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("login", help="get an API token and store it")
    p.add_argument("--username", "-u")
    p.add_argument("--password", "-p", help="(or env FETALBENCH_PASSWORD; prompted otherwise)")
    p.add_argument("--no-save", action="store_true", help="print the token, store nothing")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser(
        "submit",
        help="upload predictions (a zip of label images) or a model to a phase",
        description="Predictions: a zip of label images. A model file (--kind model): a zip of "
        "one .pt2 (torch.export), .onnx or .pt (TorchScript) network and its .json spec, e.g. "
        "OUT/model-pt2.zip as `python -m reference_models export` writes it. A container "
        "(--kind container): a `docker save` tar.",
    )
    p.add_argument("--phase", type=int, required=True, help="phase id")
    p.add_argument("file", help="the zip (or container tar) to upload")
    p.add_argument("--method", required=True, help="method name shown on the leaderboard")
    p.add_argument("--team", default="", help="team name (default: your own team)")
    p.add_argument("--backbone", default="")
    p.add_argument("--strategy", choices=STRATEGIES, default="other", help="fine-tuning strategy")
    p.add_argument("--params-total", type=int, help="total parameter count")
    p.add_argument("--params-trainable", type=int, help="trainable parameter count")
    p.add_argument("--paper-url", default="")
    p.add_argument("--code-url", default="")
    p.add_argument(
        "--kind",
        default="predictions",
        choices=("predictions", "model", "container"),
        help="what the file is (default predictions); the phase must allow it",
    )
    p.add_argument("--wait", action="store_true", help="wait for the score")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("status", help="a submission's state, measured counts and own scores")
    p.add_argument("id", type=int)
    p.add_argument("--wait", action="store_true", help="follow until done or failed")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("quota", help="submissions left today in a phase, and when a slot frees")
    p.add_argument("phase", type=int)
    p.set_defaults(func=cmd_quota)

    p = sub.add_parser("leaderboard", help="print a phase's leaderboard")
    p.add_argument("phase", type=int)
    p.add_argument("--site", help="one acquisition site instead of all cases")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    p.add_argument(
        "--all-entries",
        action="store_true",
        help="every scored submission as its own row (default: one row per team)",
    )
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser(
        "team",
        help="your team: show, create, invite, invitations, revoke, accept, leave",
        description="Existing teams are joined by invitation only: a member runs `team invite "
        "<challenge>` and sends the link; the invitee runs `team accept <link>` (or opens it "
        "in the browser). `team create <challenge> NAME` starts a new team (the name must be "
        "free); `team revoke <challenge> ID` cancels an open invitation.",
    )
    p.add_argument(
        "action",
        choices=("show", "create", "invite", "invitations", "revoke", "accept", "leave"),
    )
    p.add_argument("target", help="challenge slug; for `accept`, the invitation link or token")
    p.add_argument("value", nargs="?", help="`create`: team name; `revoke`: invitation id")
    p.add_argument("--days", type=int, help="invitation lifetime in days (1-30, default 7)")
    p.set_defaults(func=cmd_team)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.func(args), expected=(ApiError,))
