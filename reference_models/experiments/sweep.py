"""Train a list of strategies on one truth set and tabulate score against trainable size.

This is the paper's experiment as a function: the same data, split and config for every
strategy, so the only difference between rows is which parameters trained.
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluator.truth import TruthCase
from reference_models.experiments.evaluation import evaluate_model
from reference_models.export.predict import PIPELINE
from reference_models.training.checkpoints import model_from_checkpoint
from reference_models.training.configs import TrainConfig
from reference_models.training.data import load_truth_set, split_by_exam
from reference_models.training.loop import train
from reference_models.training.strategies import get_strategy

#: Total parameters of the paper's network: smp U-Net, MobileNetV2, 3 inputs, 1 class.
PAPER_TOTAL = 6_628_945


def _cached_row(run_dir: Path, identity: dict) -> dict | None:
    """The row a previous run with the same identity left in `run_dir`, if any.

    A sweep takes an hour on a laptop; re-running the report after one failed or was cut off
    should not retrain what already finished with exactly the same inputs.
    """
    path = run_dir / "evaluation.json"
    if not path.is_file():
        return None
    row = json.loads(path.read_text())
    return row if row.get("identity") == identity else None


def train_and_evaluate(
    config: TrainConfig,
    model_name: str,
    strategy_key: str,
    truth_dir: Path,
    run_dir: Path,
    evaluation_sets: dict[str, list[TruthCase]],
    *,
    init: Path | None = None,
    bn_policy: str = "papers-freeze",
    progress: bool = True,
    resume: bool = False,
    cached_only: bool = False,
) -> dict | None:
    """Train one strategy, then score it on each named held-out set (e.g. one per site).

    With `cached_only`, nothing trains: the row of a finished run, or None (a report of what
    a cut-off benchmark got through). The row keeps the first set's numbers at top level (`dice`, `hd95_mm`, `hc_abs_error_mm`)
    and every set's under `sites`.
    """
    strategy = get_strategy(strategy_key)
    run_dir = Path(run_dir)
    identity = {
        "config": config.as_dict(),
        "model": model_name,
        "strategy": strategy.key,
        "truth": str(truth_dir),
        "init": str(init) if init else None,
        "bn_policy": bn_policy,
        "evaluation_sets": {name: len(cases) for name, cases in evaluation_sets.items()},
        "prediction": PIPELINE,
    }
    if (resume or cached_only) and (row := _cached_row(run_dir, identity)) is not None:
        return row
    if cached_only:
        return None
    result = train(
        config,
        model_name,
        strategy,
        truth_dir,
        run_dir,
        init=init,
        bn_policy=bn_policy,
        progress=progress,
    )
    model, meta = model_from_checkpoint(result.checkpoint)
    sites = {}
    for name, cases in evaluation_sets.items():
        summary = evaluate_model(model, meta, cases)
        sites[name] = {
            "dice": summary.dice,
            "hd95_mm": summary.hd95_mm,
            "hc_abs_error_mm": summary.hc_abs_error_mm,
            "cases": summary.cases,
        }
    first = next(iter(sites.values()))
    epochs = [r["epoch_seconds"] for r in result.history if r.get("event") == "epoch"]
    train_images = next(
        (r["train_images"] for r in result.history if r.get("event") == "start"), None
    )
    row = {
        "identity": identity,
        "model": model_name,
        "strategy": strategy.key,
        "title": strategy.title,
        "trainable_parameters": result.trainable_parameters,
        "total_parameters": result.total_parameters,
        # The paper's counts are for its MobileNetV2 U-Net only.
        # (3 inputs, 1 class: a multi-class head changes every count that includes it).
        "paper_trainable": strategy.paper_trainable_mobilenet_v2
        if model_name == "unet-mobilenet_v2" and result.total_parameters == PAPER_TOTAL
        else None,
        "dice": first["dice"],
        "hd95_mm": first["hd95_mm"],
        "hc_abs_error_mm": first["hc_abs_error_mm"],
        "validation_cases": first["cases"],
        "sites": sites,
        "train_images": train_images,
        "steps": result.history[-1].get("steps") if result.history else None,
        "seconds_per_epoch": sum(epochs) / len(epochs) if epochs else None,
        "training_seconds": sum(epochs),
        "checkpoint": str(result.checkpoint),
    }
    # JSON turns the class-value keys into strings; a cached row must read like a fresh one.
    row = json.loads(json.dumps(row))
    (run_dir / "evaluation.json").write_text(json.dumps(row, indent=2) + "\n")
    return row


def run_sweep(
    config: TrainConfig,
    model_name: str,
    strategy_keys: list[str],
    truth_dir: Path,
    out_dir: Path,
    *,
    init: Path | None = None,
    bn_policy: str = "papers-freeze",
    progress: bool = True,
    resume: bool = False,
    cached_only: bool = False,
) -> list[dict]:
    """One row per strategy: parameters, held-out Dice/HD95/HC error, seconds per epoch."""
    truth = load_truth_set(truth_dir)
    _, val_cases = split_by_exam(truth.cases, config.validation_fraction, config.seed)
    rows = [
        train_and_evaluate(
            config,
            model_name,
            key,
            truth_dir,
            Path(out_dir) / f"{model_name}-{get_strategy(key).key}",
            {"held-out": val_cases},
            init=init,
            bn_policy=bn_policy,
            progress=progress,
            resume=resume,
            cached_only=cached_only,
        )
        for key in strategy_keys
    ]
    return [row for row in rows if row is not None]


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[dict], distance_unit: str = "mm") -> str:
    """Markdown table, one row per strategy, sorted by trainable parameters.

    Rows that went through the platform (`submit.submit_and_score`) add its submission id,
    its score on the hidden cases and the parameter count it measured from the model file.
    """
    platform = any("platform_score" in row for row in rows)
    header = (
        "| model | strategy | trainable | paper's count | Dice | "
        f"HD95 ({distance_unit}) | HC error (mm) | s/epoch |"
    )
    rule = "| --- | --- | ---: | ---: | --- | --- | ---: | ---: |"
    if platform:
        metric = next(r["platform_metric"] for r in rows if "platform_metric" in r)
        header += f" submission | platform {metric} | measured total |"
        rule += " ---: | ---: | ---: |"
    lines = [header, rule]
    for row in sorted(rows, key=lambda r: r["trainable_parameters"]):
        dice = " / ".join(f"{v}: {d:.3f}" for v, d in row["dice"].items())
        hd95 = " / ".join(f"{v}: {d:.1f}" for v, d in row["hd95_mm"].items())
        paper = row.get("paper_trainable")
        line = (
            f"| {row['model']} | {row['strategy']} ({row['title']}) | "
            f"{row['trainable_parameters']:,} | {'-' if paper is None else f'{paper:,}'} | "
            f"{dice} | {hd95} | {_fmt(row['hc_abs_error_mm'], 2)} | "
            f"{_fmt(row['seconds_per_epoch'], 1)} |"
        )
        if platform:
            measured = row.get("platform_params_total")
            line += (
                f" {row.get('submission', '-')} | {_fmt(row.get('platform_score'), 3)} | "
                f"{'-' if measured is None else f'{measured:,}'} |"
            )
        lines.append(line)
    return "\n".join(lines)
