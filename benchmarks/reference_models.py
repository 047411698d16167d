"""Benchmark: fine-tuning strategies on real HC18 and PSFHS data, score vs trainable parameters.

Writes `benchmarks/reference_models.md` from three experiments, all on the real releases in
../shared/data imported with the project's own importers, each held out by exam (HC18's
`NNN_HC`, `NNN_2HC` stay on one side) with the same split for every strategy:

1. **hc18**: every strategy trained with one config (ImageNet MobileNetV2 encoder where the
   strategy is pretrained), scored at full resolution with the evaluator's metrics: Dice,
   HD95 (mm), HC absolute error (mm), next to the paper's trainable counts.
2. **cross**: the transfer question of the follow-up paper. The HC18 `full` model is the
   pretrained network; each strategy fine-tunes it on 10, 30 and 100 PSFHS images (fetal-head
   class only, so the same binary network applies) for the same number of optimiser steps,
   and is scored on both sites' held-out cases: PSFHS (the new site) and HC18 (what it kept).
3. **psfhs**: every strategy on PSFHS's two classes (pubic symphysis 1, head 2) from ImageNet.

    .venv/bin/python benchmarks/reference_models.py                      # all three
    .venv/bin/python benchmarks/reference_models.py --parts hc18 --strategies full,d

Runs are cached under --work (default var/benchmarks/reference_models) by their inputs, so a
cut-off benchmark resumes where it stopped and the report is rewritten after every part.
Seconds per epoch are measured in the same run, so rows compare with each other, not with
another machine's.
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.importers.hc18 import import_hc18  # noqa: E402
from evaluator.importers.psfhs import import_psfhs  # noqa: E402
from evaluator.truth import TruthSet  # noqa: E402
from reference_models.experiments.evaluation import evaluate_model  # noqa: E402
from reference_models.experiments.paper import PAPER, check_findings  # noqa: E402
from reference_models.experiments.relabel import binary_truth_set  # noqa: E402
from reference_models.experiments.sweep import format_table, run_sweep, train_and_evaluate  # noqa: E402
from reference_models.training.checkpoints import model_from_checkpoint  # noqa: E402
from reference_models.training.configs import TrainConfig, get_config  # noqa: E402
from reference_models.training.data import split_by_exam  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ALL_STRATEGIES = "a,b,c,d,e,f,g,h,i,full,scratch"
#: Pretrained strategies (they start from the HC18 model; e and f sit between d and i, left out
#: to keep the run in an hour on 2 cores) plus scratch as the no-transfer floor.
CROSS_STRATEGIES = "scratch,c,d,g,h,i,full"
PSFHS_HEAD = 2


def truth_sets(work: Path) -> dict[str, TruthSet]:
    """HC18, PSFHS and PSFHS heads as canonical truth sets, imported once into `work`."""
    folder = work / "truth"
    sets: dict[str, TruthSet] = {}
    if not (folder / "hc18" / "cases.csv").is_file():
        import_hc18(DATA / "hc18", folder / "hc18", progress=False)
    sets["hc18"] = TruthSet.load(folder / "hc18")
    if not (folder / "psfhs" / "cases.csv").is_file():
        import_psfhs(DATA / "psfhs", folder / "psfhs", progress=False)
    sets["psfhs"] = TruthSet.load(folder / "psfhs")
    if not (folder / "psfhs-heads" / "cases.csv").is_file():
        binary_truth_set(sets["psfhs"], PSFHS_HEAD, folder / "psfhs-heads")
    sets["psfhs-heads"] = TruthSet.load(folder / "psfhs-heads")
    return sets


def held_out(truth: TruthSet, config: TrainConfig) -> list:
    return split_by_exam(truth.cases, config.validation_fraction, config.seed)[1]


def cross_config(config: TrainConfig, images: int, steps: int) -> TrainConfig:
    """`config` on `images` training images, with as many epochs as `steps` optimiser steps take."""
    steps_per_epoch = math.ceil(images / config.batch_size)
    return config.with_overrides(max_train_images=images, epochs=math.ceil(steps / steps_per_epoch))


def run_cross_site(
    config: TrainConfig,
    model: str,
    strategies: list[str],
    sizes: list[int],
    steps: int,
    sets: dict[str, TruthSet],
    pretrained: Path,
    work: Path,
    bn_policy: str,
    cached_only: bool = False,
) -> tuple[dict, list[dict]]:
    """Zero-shot scores of the HC18 model, then one row per (images, strategy)."""
    evaluation = {
        "PSFHS": held_out(sets["psfhs-heads"], config),
        "HC18": held_out(sets["hc18"], config),
    }
    network, meta = model_from_checkpoint(pretrained)
    zero_shot = {
        site: evaluate_model(network, meta, cases).dice for site, cases in evaluation.items()
    }
    rows = []
    for images in sizes:
        for key in strategies:
            row = train_and_evaluate(
                cross_config(config, images, steps),
                model,
                key,
                sets["psfhs-heads"].root,
                work / "runs" / "cross" / f"{images}-{key}",
                evaluation,
                init=pretrained,
                bn_policy=bn_policy,
                resume=True,
                cached_only=cached_only,
            )
            if row is not None:
                rows.append(row)
    return zero_shot, rows


def _dice(row_site: dict) -> str:
    return " / ".join(f"{d:.3f}" for d in row_site["dice"].values())


def cross_table(zero_shot: dict, rows: list[dict], sizes: list[int]) -> str:
    """Strategies down, training-set sizes across; each cell PSFHS Dice | HC18 Dice."""
    header = "| strategy | trainable | " + " | ".join(
        f"{n} img: PSFHS Dice | {n} img: HC18 Dice | {n} img: PSFHS HD95 (px)" for n in sizes
    )
    rule = "| --- | ---: | " + " | ".join("---: | ---: | ---:" for _ in sizes)
    zero = " | ".join(
        f"{zero_shot['PSFHS'][next(iter(zero_shot['PSFHS']))]:.3f} | "
        f"{zero_shot['HC18'][next(iter(zero_shot['HC18']))]:.3f} | -"
        for _ in sizes
    )
    lines = [header + " |", rule + " |", f"| HC18 model, no fine-tuning | 0 | {zero} |"]
    by_key: dict[str, dict[int, dict]] = {}
    for row in rows:
        by_key.setdefault(row["strategy"], {})[row["train_images"]] = row
    for key, per_size in sorted(
        by_key.items(), key=lambda kv: next(iter(kv[1].values()))["trainable_parameters"]
    ):
        first = next(iter(per_size.values()))
        cells = []
        for n in sizes:
            row = per_size.get(n)
            if row is None:
                cells.append("- | - | -")
                continue
            psfhs, hc18 = row["sites"]["PSFHS"], row["sites"]["HC18"]
            hd95 = next(iter(psfhs["hd95_mm"].values()))
            cells.append(f"{_dice(psfhs)} | {_dice(hc18)} | {hd95:.1f}")
        lines.append(
            f"| {key} ({first['title']}) | {first['trainable_parameters']:,} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def best_per_size(rows: list[dict], sizes: list[int]) -> list[str]:
    """Per training-set size, the strategy best on the new site and what it kept of the old."""
    lines = []
    for n in sizes:
        of_size = [r for r in rows if r["train_images"] == n]
        if not of_size:
            continue
        best = max(of_size, key=lambda r: next(iter(r["sites"]["PSFHS"]["dice"].values())))
        psfhs = next(iter(best["sites"]["PSFHS"]["dice"].values()))
        hc18 = next(iter(best["sites"]["HC18"]["dice"].values()))
        lines.append(
            f"- {n} images: best on PSFHS is `{best['strategy']}` "
            f"({best['trainable_parameters']:,} trainable): Dice {psfhs:.3f}, HC18 kept {hc18:.3f}"
        )
    return [*lines, ""] if lines else []


def missing_note(expected: list[str], done: list[str]) -> list[str]:
    """A line naming the runs a cut-off benchmark did not finish, so no gap goes unnoticed."""
    missing = [key for key in expected if key not in done]
    return (
        [f"Not finished in this run (left out above): {', '.join(missing)}.", ""] if missing else []
    )


def head_dice(rows: list[dict]) -> dict[str, float]:
    """Strategy key -> held-out Dice of its (only) foreground class."""
    return {row["strategy"]: next(iter(row["dice"].values())) for row in rows}


def report(config: TrainConfig, args: argparse.Namespace, sections: list[str]) -> str:
    head = [
        "# Reference models: fine-tuning strategies on real HC18 and PSFHS data",
        "",
        f"Generated by `benchmarks/reference_models.py` on {datetime.date.today()} "
        f"({platform.machine()}, {platform.system()}, Python {platform.python_version()}, "
        f"CPU only). Model `{args.model}`, config `{config.name}` "
        f"({config.size}x{config.size}, {config.epochs} epochs, batch {config.batch_size}, "
        f"Adam lr {config.learning_rate}, at most {config.max_train_images} training images), "
        f"BN policy `{args.bn}`. Held-out split by exam "
        f"({config.validation_fraction:.0%} of exams, seed {config.seed}), the same for every "
        "strategy; the last epoch's model is scored (no model selection on the held-out cases).",
        "Scores come from the evaluator's own metrics at each case's full resolution (Dice, "
        "HD95 in mm: HC18 has pixel sizes, PSFHS has none so its distances are pixels). HC "
        "error is |HC of an ellipse fitted to the predicted head - HC18's `hc_mm`|, averaged; "
        "a case with no head counts its whole reference HC as error. Seconds per epoch are "
        "the training loop's wall time on the machine named above, which other jobs may have "
        "shared (runs are resumable and can run side by side): they rank strategies roughly.",
        "",
    ]
    return "\n".join(head + sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="hc18,cross,psfhs")
    parser.add_argument("--config", default="cpu_quick")
    parser.add_argument("--model", default="unet-mobilenet_v2")
    parser.add_argument("--strategies", default=ALL_STRATEGIES)
    parser.add_argument("--cross-strategies", default=CROSS_STRATEGIES)
    parser.add_argument("--cross-sizes", default="10,30,100")
    parser.add_argument("--cross-steps", type=int, default=100)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-images", type=int)
    parser.add_argument("--bn", default="papers-freeze")
    parser.add_argument("--work", default=str(ROOT / "var" / "benchmarks" / "reference_models"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "reference_models.md"))
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the runs already finished under --work",
    )
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (1 is much faster on a busy machine)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not (DATA / "hc18").is_dir() or not (DATA / "psfhs").is_dir():
        print(f"real data not found at {DATA}: see ../shared/data/README.md", file=sys.stderr)
        return 2
    config = get_config(args.config).with_overrides(
        epochs=args.epochs, max_train_images=args.max_images
    )
    parts = set(args.parts.split(","))
    work = Path(args.work)
    sets = truth_sets(work)
    strategies = args.strategies.split(",")
    sections: list[str] = []

    def write() -> None:
        Path(args.out).write_text(report(config, args, sections), encoding="utf-8")

    hc18_rows: list[dict] = []
    if parts & {"hc18", "cross"}:
        keys = strategies if "hc18" in parts else ["full"]
        hc18_rows = run_sweep(
            config,
            args.model,
            keys,
            sets["hc18"].root,
            work / "runs" / "hc18",
            bn_policy=args.bn,
            resume=True,
            cached_only=args.report_only,
        )
    if "hc18" in parts:
        best = max(hc18_rows, key=lambda r: next(iter(r["dice"].values())))
        best_dice = next(iter(best["dice"].values()))
        sections += [
            "## 1. HC18: every strategy, fetal head",
            "",
            f"{len(sets['hc18'])} images from the real HC18 training release; "
            f"{hc18_rows[0]['validation_cases']} held-out images. Best: `{best['strategy']}` "
            f"with Dice {best_dice:.3f} ({'meets' if best_dice >= 0.93 else 'misses'} the "
            "cpu_quick target of 0.93).",
            "",
            "Only the encoder has pretrained (ImageNet) weights here: the decoder and head of "
            "every strategy start random, so `d`-`h`, which keep the head and the other "
            "decoder blocks frozen, train a few blocks around frozen random ones. Section 2 "
            "starts from a fully trained HC18 network instead, the setting partial-decoder "
            "fine-tuning is meant for.",
            "",
            format_table(hc18_rows),
            "",
            *missing_note(strategies, [r["strategy"] for r in hc18_rows]),
            "### Next to the paper",
            "",
            PAPER,
            "",
            *check_findings(head_dice(hc18_rows)),
            "",
        ]
        write()
    if "cross" in parts:
        pretrained = Path(next(r for r in hc18_rows if r["strategy"] == "full")["checkpoint"])
        sizes = [int(n) for n in args.cross_sizes.split(",")]
        zero_shot, cross_rows = run_cross_site(
            config,
            args.model,
            args.cross_strategies.split(","),
            sizes,
            args.cross_steps,
            sets,
            pretrained,
            work,
            args.bn,
            cached_only=args.report_only,
        )
        sections += [
            "## 2. Cross-site: pretrained on HC18, fine-tuned on PSFHS heads",
            "",
            "The HC18 `full` model of section 1 is the starting point of every pretrained "
            f"strategy (`scratch` starts from random weights). Each strategy trains on the "
            f"first 10, 30 or 100 PSFHS training images (head class only) for "
            f"{args.cross_steps} optimiser steps (more epochs for fewer images), then is scored "
            "on the held-out cases of both sites: PSFHS, the low-resource new site, and HC18, "
            "to see what the fine-tuning kept of the first site. The first row is the HC18 "
            "model applied to PSFHS as it is.",
            "",
            cross_table(zero_shot, cross_rows, sizes),
            "",
            *best_per_size(cross_rows, sizes),
            *missing_note(
                [f"{n} images/{k}" for n in sizes for k in args.cross_strategies.split(",")],
                [f"{r['train_images']} images/{r['strategy']}" for r in cross_rows],
            ),
        ]
        write()
    if "psfhs" in parts:
        psfhs_rows = run_sweep(
            config,
            args.model,
            strategies,
            sets["psfhs"].root,
            work / "runs" / "psfhs",
            bn_policy=args.bn,
            resume=True,
            cached_only=args.report_only,
        )
        sections += [
            "## 3. PSFHS: every strategy, pubic symphysis (1) and fetal head (2)",
            "",
            f"{len(sets['psfhs'])} images from the real PSFHS release; "
            f"{psfhs_rows[0]['validation_cases'] if psfhs_rows else '-'} held out. Pretrained strategies start from "
            "the ImageNet MobileNetV2 encoder. Dice and HD95 (px) per class value.",
            "",
            format_table(psfhs_rows, distance_unit="px"),
            "",
            *missing_note(strategies, [r["strategy"] for r in psfhs_rows]),
        ]
        write()
    print(Path(args.out).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
