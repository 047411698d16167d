"""Command line: `python -m reference_models train|export|reproduce|list ...`.

Every expected failure (bad name, bad truth set, missing weights) is printed as one line on
stderr with exit status 2; a stack trace means a bug. The modules that need torch (or the HTTP
client) are imported inside the command that uses them, so `--help` and argument errors are
immediate and need neither.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fetalbench.commands import run_command
from reference_models.errors import EXPECTED_ERRORS
from reference_models.export.formats import DEFAULT_FORMATS, FILE_NAMES
from reference_models.training.configs import CONFIGS, TrainConfig, get_config

#: BatchNorm policies of `--bn` (see training.strategies).
BN_POLICIES = ("papers-freeze", "strict-freeze")


def _add_config_overrides(parser: argparse.ArgumentParser, *, learning_rate: bool) -> None:
    """The flags `_config_from_args` reads (`--lr` only where `learning_rate`: `train`)."""
    for flag in ("--epochs", "--size", "--batch-size"):
        parser.add_argument(flag, type=int)
    if learning_rate:
        parser.add_argument("--lr", type=float)
    for flag in ("--max-images", "--max-steps", "--seed"):
        parser.add_argument(flag, type=int)


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    """How a training command runs here: progress bars and torch threads (see `main`)."""
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (1 is faster on a busy machine)"
    )


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The named config with the command line's overrides (flags left out change nothing)."""
    return get_config(args.config).with_overrides(
        epochs=args.epochs,
        size=args.size,
        batch_size=args.batch_size,
        learning_rate=getattr(args, "lr", None),  # `train` only
        max_train_images=args.max_images,
        max_steps=args.max_steps,
        seed=args.seed,
    )


def _train(args: argparse.Namespace) -> int:
    from reference_models.training.loop import train  # lazy: torch
    from reference_models.training.strategies import get_strategy  # lazy: torch

    config = _config_from_args(args)
    result = train(
        config,
        args.model,
        get_strategy(args.strategy),
        Path(args.data),
        Path(args.out),
        init=Path(args.init) if args.init else None,
        bn_policy=args.bn,
        multitask=args.multitask,
        progress=not args.no_progress,
    )
    print(
        json.dumps(
            {
                "checkpoint": str(result.checkpoint),
                "log": str(result.log),
                "trainable_parameters": result.trainable_parameters,
                "total_parameters": result.total_parameters,
                "initial_val_dice": round(result.initial_val_dice, 4),
                "val_dice": round(result.final_val_dice, 4),
            }
        )
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from reference_models.export.model_file import export_model  # lazy: torch

    written = export_model(
        Path(args.checkpoint),
        Path(args.out),
        formats=tuple(args.format),
        output=args.output,
        container=args.container,
    )
    print(json.dumps({k: str(v) for k, v in written.items()}))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from reference_models.experiments.sweep import format_table, run_sweep  # lazy: torch

    client = _phase_client(args) if args.phase is not None else None
    config = _config_from_args(args)
    rows = run_sweep(
        config,
        args.model,
        [k.strip() for k in args.strategies.split(",") if k.strip()],
        Path(args.data),
        Path(args.out),
        init=Path(args.init) if args.init else None,
        bn_policy=args.bn,
        progress=not args.no_progress,
    )
    if client is not None:
        # lazy: the HTTP client (requests), needed only with --phase
        from reference_models.experiments.submit import submit_and_score

        bundles = [_bundle(Path(row["checkpoint"])) for row in rows]
        submit_and_score(client, args.phase, bundles, rows, timeout=args.wait_timeout)
    print(format_table(rows))
    return 0


def _phase_client(args: argparse.Namespace):
    """A client for --phase, checked before hours of training rather than after."""
    # lazy: the HTTP client (requests), needed only with --phase
    from fetalbench.api import ApiError, Client, load_config

    stored = load_config()
    token = args.token or stored.get("token", "")
    url = args.url or stored.get("url") or "http://127.0.0.1:8000"
    if not token:
        raise ApiError("--phase needs a token: pass --token or run `fetalbench login`")
    client = Client(url=url, token=token)
    phase = client.phase(args.phase)
    if "model" not in phase.get("allowed_kinds", []):
        raise ApiError(f"phase {args.phase} does not take model submissions (kind=model)")
    if not phase.get("is_open", True):
        raise ApiError(f"phase {args.phase} is closed")
    return client


def _bundle(checkpoint: Path) -> Path:
    """Export the checkpoint as a torch.export program; its zip is the platform's upload."""
    from reference_models.export.model_file import export_model  # lazy: torch

    exported = export_model(checkpoint, checkpoint.parent / "export", formats=("pt2",))
    return exported["pt2_bundle"]


def _list(_: argparse.Namespace) -> int:
    from reference_models.nets.zoo import MODELS  # lazy: torch
    from reference_models.training.strategies import STRATEGIES  # lazy: torch

    print("models:")
    for info in MODELS.values():
        print(f"  {info.name:24s} {info.description}")
    print("strategies (trainable groups; encoder start):")
    for s in STRATEGIES.values():
        groups = ", ".join(g or "everything" for g in s.trainable)
        print(f"  {s.key:8s} {s.title} [{groups}; {s.encoder_init}]")
    print("configs: " + ", ".join(CONFIGS))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference_models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one model with one fine-tuning strategy")
    t.add_argument("--config", required=True, choices=sorted(CONFIGS))
    t.add_argument("--model", required=True, help="zoo name, see `list`")
    t.add_argument("--strategy", required=True, help="a..i, full or scratch")
    t.add_argument("--data", required=True, help="truth-set folder (cases.csv, labels/, images/)")
    t.add_argument("--init", help="checkpoint to start pretrained strategies from")
    t.add_argument("--out", required=True, help="output folder for model.pt and train_log.jsonl")
    t.add_argument("--bn", default="papers-freeze", choices=BN_POLICIES)
    t.add_argument("--multitask", action="store_true", help="add the site-classification head")
    _add_config_overrides(t, learning_rate=True)
    _add_run_flags(t)
    t.set_defaults(func=_train)

    e = sub.add_parser(
        "export",
        help="write model files and their submission zips (OUT/model-<format>.zip), "
        "ready for `fetalbench submit --kind model`",
    )
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument(
        "--format",
        nargs="+",
        default=list(DEFAULT_FORMATS),
        choices=list(FILE_NAMES),
        help="pt2 (torch.export, default), onnx (default), torchscript (deprecated in torch)",
    )
    e.add_argument("--output", default="probabilities", choices=["logits", "probabilities"])
    e.add_argument(
        "--container",
        action="store_true",
        help="also write OUT/container/: a model-container build context (Dockerfile, ONNX "
        "model, runner, ~170 MB of wheels); `bash OUT/container/build.sh` saves the image",
    )
    e.set_defaults(func=_export)

    r = sub.add_parser("reproduce", help="train every strategy, evaluate, optionally submit")
    r.add_argument("--config", required=True, choices=sorted(CONFIGS))
    r.add_argument("--model", default="unet-mobilenet_v2")
    r.add_argument("--strategies", default="a,b,c,d,e,f,g,h,i,full,scratch")
    r.add_argument("--data", required=True)
    r.add_argument("--init", help="checkpoint for pretrained strategies (else ImageNet)")
    r.add_argument("--out", required=True)
    r.add_argument("--bn", default="papers-freeze", choices=BN_POLICIES)
    _add_config_overrides(r, learning_rate=False)
    r.add_argument("--phase", type=int, help="phase id to submit each model file to")
    r.add_argument("--token", default="", help="API token (default: `fetalbench login`'s)")
    r.add_argument("--url", default="", help="server (default: `fetalbench login`'s or local)")
    r.add_argument(
        "--wait-timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for each submission to be scored",
    )
    _add_run_flags(r)
    r.set_defaults(func=_reproduce)

    ls = sub.add_parser("list", help="list models, strategies and configs")
    ls.set_defaults(func=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch  # lazy: `--help` and argument errors need no torch

        torch.set_num_threads(args.threads)
    return run_command(lambda: args.func(args), expected=EXPECTED_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
