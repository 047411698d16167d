"""Train the demo's reference models once and keep them: phantom training set -> model zips.

The demo leaderboards should hold real models next to the synthetic baselines: small U-Nets
trained on a public phantom *training* set (a generator seed that no hidden test set uses),
with a few of the fine-tuning strategies of `reference_models` (from scratch; full fine-tuning
and decoder-only starting from the model trained on the *other* demo challenge, the transfer
question itself), exported and zipped with their spec exactly as a participant would submit a
model file.

TorchScript by default, not ONNX: the ONNX exporter folds BatchNorm into the convolutions, so
the platform's measured count of the ONNX graph (unet-tiny: 485,817) is below the trained
model's (486,553), and the platform then drops the declared trainable count of the full and
from-scratch entries as "larger than the whole", which the trainable-parameter Pareto plot
needs. A TorchScript file is measured exactly. ONNX runs start faster (no torch import in the
inference child), so `format="onnx"` stays available.

`bash run.sh` runs this on every start, so everything is cached under one folder (default
`FETALBENCH_VAR/demo-reference/`): a run is retrained only when its recipe (or that of the
model it starts from) changed, and a run's `recipe.json` is written last, so an interrupted
run is redone rather than half-used. No Django here: the command that submits the zips
(`seed_demo_reference`) goes through the public API like any participant.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from demo.phantom import write_phantom_truth_set
from reference_models.experiments.submit import submission_metadata
from reference_models.training.configs import get_config

Log = Callable[[str], None]

#: Seed of the public training phantoms; the hidden phases use seeds 1 and 2 (demo.seed).
TRAINING_SEED = 100
MODEL = "unet-tiny"
#: Bump when training or export changes in a way the recipe fields do not show.
RECIPE_VERSION = 1
#: The demo challenge each phantom kind belongs to, and the kind its transfer runs start from.
CHALLENGE_OF = {"hc18": "hc18-demo", "psfhs": "psfhs-demo"}
OTHER_KIND = {"hc18": "psfhs", "psfhs": "hc18"}


@dataclass(frozen=True)
class ReferenceRun:
    """One strategy; `transfer` runs start from the other challenge's from-scratch model."""

    strategy: str
    transfer: bool


#: From scratch first: the transfer runs of the other challenge start from it.
REFERENCE_RUNS = (
    ReferenceRun("scratch", transfer=False),
    ReferenceRun("full", transfer=True),
    ReferenceRun("i", transfer=True),  # pretrained encoder frozen, decoder and head train
)


@dataclass(frozen=True)
class TrainingPlan:
    """How big the demo's training is: small enough for ~1 minute on 2 busy cores."""

    steps: int = 60
    size: int = 64
    batch_size: int = 8
    cases_per_site: int = 12
    seed: int = 0
    format: str = "torchscript"  # or "pt2", "onnx"


@dataclass(frozen=True)
class TrainedModel:
    """A cached model zip and the metadata its submission declares."""

    kind: str
    strategy: str
    bundle: Path
    metadata: dict[str, str]
    val_dice: float
    cached: bool


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def training_set(cache: Path, kind: str, plan: TrainingPlan, log: Log) -> Path:
    """The public phantom training set of `kind` (written once per size and seed)."""
    folder = cache / "data" / kind
    stamp = {"kind": kind, "cases_per_site": plan.cases_per_site, "seed": TRAINING_SEED}
    if _read_json(folder / "stamp.json") == stamp and (folder / "cases.csv").is_file():
        return folder
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    write_phantom_truth_set(folder, kind, plan.cases_per_site, TRAINING_SEED)
    _write_json(folder / "stamp.json", stamp)
    n = 3 * plan.cases_per_site
    log(f"{kind}: public phantom training set, {n} cases ({time.perf_counter() - started:.1f} s)")
    return folder


def _recipe(kind: str, run: ReferenceRun, plan: TrainingPlan, init: str | None) -> dict:
    return {
        "version": RECIPE_VERSION,
        "model": MODEL,
        "kind": kind,
        "strategy": run.strategy,
        "plan": asdict(plan),
        "training_seed": TRAINING_SEED,
        "init": init,  # the recipe hash of the starting model: retrain when it changes
    }


def _hash(recipe: dict) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _metadata(kind: str, run: ReferenceRun, result: dict) -> dict[str, str]:
    """The submission's form fields, from the trained model's own parameter counts."""
    from reference_models.training.strategies import get_strategy  # lazy: torch

    strategy = get_strategy(run.strategy)
    row = {
        "model": MODEL,
        "strategy": strategy.key,
        "title": strategy.title,
        "total_parameters": result["total_parameters"],
        "trainable_parameters": result["trainable_parameters"],
    }
    metadata = submission_metadata(row)
    if run.transfer:
        metadata["method_name"] += f" (from the {CHALLENGE_OF[OTHER_KIND[kind]]} model)"
    return metadata


def _train_one(
    kind: str, run: ReferenceRun, plan: TrainingPlan, data: Path, out: Path, init: Path | None
) -> dict:
    # lazy: torch, imported only when a model is (re)trained, not for a cached one
    from reference_models.export.model_file import export_model
    from reference_models.training.loop import train  # lazy: torch, as above
    from reference_models.training.strategies import get_strategy  # lazy: torch, as above

    config = get_config("cpu_quick").with_overrides(
        size=plan.size,
        batch_size=plan.batch_size,
        epochs=10_000,  # max_steps decides
        max_steps=plan.steps,
        seed=plan.seed,
    )
    result = train(config, MODEL, get_strategy(run.strategy), data, out, init=init, progress=False)
    exported = export_model(result.checkpoint, out / "export", formats=(plan.format,))
    shutil.copyfile(exported[f"{plan.format}_bundle"], out / "model-submission.zip")
    return {
        "total_parameters": result.total_parameters,
        "trainable_parameters": result.trainable_parameters,
        "initial_val_dice": result.initial_val_dice,
        "val_dice": result.final_val_dice,
    }


def train_reference_models(
    cache: Path, kinds: list[str], plan: TrainingPlan, log: Log
) -> list[TrainedModel]:
    """Every reference run of every kind in `kinds`, trained or taken from the cache.

    The from-scratch model of the other kind is trained too when a transfer run needs it,
    even if that kind is not in `kinds` (it is then not returned).
    """
    cache = Path(cache)
    needed = list(dict.fromkeys(k for kind in kinds for k in (kind, OTHER_KIND[kind])))
    done: dict[tuple[str, str], tuple[str, Path]] = {}  # (kind, strategy) -> (hash, model.pt)
    out: list[TrainedModel] = []
    for run in REFERENCE_RUNS:
        for kind in needed:
            if run.transfer and kind not in kinds:
                continue
            init_hash, init_path = (None, None)
            if run.transfer:
                init_hash, init_path = done[(OTHER_KIND[kind], "scratch")]
            recipe = _recipe(kind, run, plan, init_hash)
            folder = cache / f"{kind}-{run.strategy}"
            stored = _read_json(folder / "recipe.json")
            bundle = folder / "model-submission.zip"
            cached = bool(stored and stored.get("recipe") == recipe and bundle.is_file())
            if cached:
                result = stored["result"]  # type: ignore[index]
                log(f"{kind} {run.strategy}: cached (val Dice {result['val_dice']:.3f})")
            else:
                log(f"{kind} {run.strategy}: training {MODEL}, {plan.steps} steps ...")
                started = time.perf_counter()
                data = training_set(cache, kind, plan, log)
                (folder / "recipe.json").unlink(missing_ok=True)
                result = _train_one(kind, run, plan, data, folder, init_path)
                _write_json(folder / "recipe.json", {"recipe": recipe, "result": result})
                log(
                    f"{kind} {run.strategy}: trained in {time.perf_counter() - started:.1f} s, "
                    f"val Dice {result['initial_val_dice']:.3f} -> {result['val_dice']:.3f}"
                )
            done[(kind, run.strategy)] = (_hash(recipe), folder / "model.pt")
            if kind in kinds:
                metadata = _metadata(kind, run, result)
                out.append(
                    TrainedModel(kind, run.strategy, bundle, metadata, result["val_dice"], cached)
                )
    return out
