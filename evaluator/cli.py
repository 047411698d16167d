"""`python -m evaluator`: score, validate, import public datasets, list tasks.

Organisers run exactly the code the platform's workers run. Every failure the user can fix
(bad task file, broken truth set, invalid submission) ends in a readable message and exit
status 1, never a stack trace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from evaluator import __version__
from evaluator.scorers.registry import all_scorers
from evaluator.tasks import builtin_tasks

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _print_problems(report) -> None:
    print(report.format_text(limit=10_000), file=sys.stderr)


def _progress_bar(enabled: bool):
    """A (callback, close) pair drawing a tqdm bar on stderr; no-ops when disabled."""
    if not enabled:
        return None, lambda: None
    import tqdm

    tqdm.tqdm.monitor_interval = 0  # no monitor thread: the scorer forks worker processes
    bars: list[tqdm.tqdm] = []  # created on the first report, so early errors draw no bar

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm.tqdm(total=total, unit="case", desc="scoring", file=sys.stderr))
        bar = bars[0]
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    def close() -> None:
        while bars:
            bars.pop().close()

    return update, close


def cmd_score(args: argparse.Namespace) -> int:
    # Deferred here and in the commands below: scoring, validation and the importers load
    # NumPy, SimpleITK, OpenCV and numba (about 0.5 s), which `--help`, `tasks` and argument
    # errors should not wait for (the task list above costs about 0.03 s).
    from evaluator import errors, results, scoring

    progress, close = _progress_bar(not args.quiet)
    try:
        document = scoring.score_submission(
            args.task,
            Path(args.truth),
            Path(args.predictions),
            workers=args.workers,
            progress=progress,
            n_bootstrap=args.bootstrap,
        )
    except errors.InvalidSubmission as exc:
        close()
        print("submission is invalid:", file=sys.stderr)
        _print_problems(exc.report)
        return EXIT_INVALID
    finally:
        close()
    results.write_results(Path(args.out), document)
    print(f"scored {document['n_cases']} case(s) -> {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    # Deferred: the scoring stack (see cmd_score).
    from evaluator.scoring import validate_submission

    report = validate_submission(args.task, Path(args.truth), Path(args.predictions))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_text(limit=10_000))
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_import_hc18(args: argparse.Namespace) -> int:
    # Deferred: the importers load the imaging stack (see cmd_score).
    from evaluator.importers import hc18, sites

    release = Path(args.release_dir)
    mapping = sites.site_mapping(args.sites, args.site_column, release / hc18.CSV_NAME)
    truth = hc18.import_hc18(release, Path(args.out), site=args.site, progress=True, sites=mapping)
    _imported("HC18", truth, args.out)
    return EXIT_OK


def cmd_import_psfhs(args: argparse.Namespace) -> int:
    # Deferred: the importers load the imaging stack (see cmd_score).
    from evaluator.importers import psfhs, sites

    mapping = sites.site_mapping(args.sites, args.site_column)
    truth = psfhs.import_psfhs(
        Path(args.release_dir), Path(args.out), site=args.site, progress=True, sites=mapping
    )
    _imported("PSFHS", truth, args.out)
    return EXIT_OK


def _imported(name: str, truth, out: str) -> None:
    """What an import made: cases per site and the truth version scores will record."""
    from evaluator.truth import truth_version  # deferred: the imaging stack (see cmd_score)

    per_site = ", ".join(
        f"{site} {sum(c.site == site for c in truth.cases)}" for site in truth.sites()
    )
    print(f"imported {len(truth.cases)} {name} case(s) -> {out} ({per_site})", file=sys.stderr)
    print(f"truth version {truth_version(Path(out))}", file=sys.stderr)


def cmd_tasks(args: argparse.Namespace) -> int:
    tasks = builtin_tasks()
    if args.json:
        print(json.dumps([t.to_dict() for t in tasks], indent=2))
        return EXIT_OK
    for task in tasks:
        classes = ", ".join(f"{c.name}={c.value}" for c in task.classes)
        print(f"{task.name:<12} {task.title}")
        print(f"{'':<12} classes: {classes}; primary: {task.primary_metric}")
    print("\nscorers:")
    for scorer in all_scorers():
        listed = ", ".join(scorer.metrics)
        if scorer.optional_metrics:
            listed += f" (optional: {', '.join(scorer.optional_metrics)})"
        print(f"{scorer.name:<15} {scorer.kind:<15} metrics: {listed}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    # Named as it was started: `fetalbench-eval` (the installed command) or `python -m
    # evaluator` (argparse would say "__main__.py").
    called = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    parser = argparse.ArgumentParser(
        prog=called if called and not called.endswith(".py") else "python -m evaluator",
        description="fetalbench evaluator: score fetal-ultrasound segmentation submissions.",
    )
    parser.add_argument(
        "--version", action="version", version=f"fetalbench-evaluator {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def task_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--task", required=True, help="builtin task name or a task .json file")
        p.add_argument("--truth", required=True, help="truth set folder (with cases.csv)")
        p.add_argument(
            "--predictions", required=True, help="predictions folder or archive (.zip, .tar.gz)"
        )

    score = sub.add_parser("score", help="score a submission and write results JSON")
    task_args(score)
    score.add_argument("--out", required=True, help="results JSON to write")
    score.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    score.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CI"
    )
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.set_defaults(func=cmd_score)

    validate = sub.add_parser("validate", help="list every problem of a submission")
    task_args(validate)
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.set_defaults(func=cmd_validate)

    for name, func, default_site in (
        ("import-hc18", cmd_import_hc18, "hc18"),
        ("import-psfhs", cmd_import_psfhs, "psfhs"),
    ):
        p = sub.add_parser(name, help=f"build a truth set from a {name[7:].upper()} release")
        p.add_argument("release_dir", help="the dataset release folder as downloaded")
        p.add_argument("out", help="truth set folder to create")
        p.add_argument("--site", default=default_site, help=f"site label (default {default_site})")
        p.add_argument(
            "--sites",
            metavar="CSV",
            help="per-case sites: a CSV with a case (or filename) column and a site column",
        )
        p.add_argument(
            "--site-column",
            metavar="NAME",
            help="the site column of --sites (default 'site')"
            + (", or of the release's own CSV without --sites" if name == "import-hc18" else ""),
        )
        p.set_defaults(func=func)

    tasks = sub.add_parser("tasks", help="list the builtin tasks")
    tasks.add_argument("--json", action="store_true", help="print full task definitions")
    tasks.set_defaults(func=cmd_tasks)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input, reported as one line instead of a traceback: the
    organiser's TruthError, and every ValueError (TaskError, TruthSetError, ImporterError
    and ArchiveError are ValueErrors) or OSError. Asked for only once a command has raised:
    `except` evaluates its classes then."""
    from evaluator.errors import TruthError  # deferred: loads the imaging stack (see cmd_score)

    return (TruthError, ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except _user_errors() as exc:
        _err(str(exc))
        return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
