"""The training loop: one model, one strategy, one truth set -> checkpoint and JSON-lines log.

The log (`train_log.jsonl`) has one object per epoch (and a final summary) so benchmark
scripts and the reproduce command can read learning curves and time per epoch without
parsing progress bars.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from reference_models.nets.pretrained import load_imagenet_encoder
from reference_models.nets.zoo import build_model, count_parameters, model_info
from reference_models.training.augment import augment_batch
from reference_models.training.checkpoints import load_checkpoint, save_checkpoint
from reference_models.training.configs import TrainConfig
from reference_models.training.data import (
    ArraySet,
    DataError,
    class_values_of,
    load_arrays,
    load_truth_set,
    split_by_exam,
)
from reference_models.training.losses import JointLoss, segmentation_loss
from reference_models.training.preprocessing import normalise, normalise_unit
from reference_models.training.strategies import (
    Strategy,
    StrategyError,
    apply_strategy,
    set_train_mode,
)


@dataclass
class TrainResult:
    """Where the run's files are and how it ended."""

    checkpoint: Path
    log: Path
    trainable_parameters: int
    total_parameters: int
    initial_val_dice: float
    final_val_dice: float
    history: list[dict] = field(default_factory=list)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def mean_dice(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-image Dice averaged over foreground classes (hard predictions), shape (N,)."""
    if logits.shape[1] == 1:
        pred = (logits[:, 0] > 0).long()
        n_classes = 2
    else:
        pred = logits.argmax(1)
        n_classes = logits.shape[1]
    scores = []
    for k in range(1, n_classes):
        p, t = pred == k, labels == k
        inter = (p & t).sum(dim=(1, 2)).float()
        total = (p.sum(dim=(1, 2)) + t.sum(dim=(1, 2))).float()
        scores.append(
            torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.ones_like(total))
        )
    return torch.stack(scores).mean(0)


@torch.no_grad()
def evaluate(model: torch.nn.Module, arrays: ArraySet, batch_size: int, device) -> float:
    """Mean Dice over the validation images at training resolution."""
    model.eval()
    scores = []
    for start in range(0, len(arrays.cases), batch_size):
        images = torch.from_numpy(arrays.images[start : start + batch_size]).to(device)
        labels = torch.from_numpy(arrays.labels[start : start + batch_size]).to(device)
        output = model(normalise(images))
        logits = output[0] if isinstance(output, tuple) else output
        scores.append(mean_dice(logits.float(), labels.long()).cpu())
    return float(torch.cat(scores).mean())


def initialise(
    model: torch.nn.Module,
    model_name: str,
    strategy: Strategy,
    init: Path | None,
) -> str:
    """Load starting weights as the strategy asks; returns a sentence for the log.

    "pretrained" strategies start from `init` (a checkpoint of the same architecture, e.g.
    trained on another site) or, lacking one, ImageNet weights for MobileNetV2. "random"
    strategies start from random weights, whatever `init` says.
    """
    if strategy.encoder_init == "random":
        return "random initialisation" + (" (--init ignored by this strategy)" if init else "")
    if init is not None:
        checkpoint = load_checkpoint(init)
        if checkpoint["model_name"] != model_name:
            raise StrategyError(
                f"--init {init} holds a {checkpoint['model_name']} model, not {model_name}"
            )
        own = model.state_dict()
        compatible = {
            k: v
            for k, v in checkpoint["state_dict"].items()
            if k in own and own[k].shape == v.shape
        }
        model.load_state_dict(compatible, strict=False)
        skipped = len(own) - len(compatible)
        return f"initialised from {init}" + (f" ({skipped} tensors kept random)" if skipped else "")
    load_imagenet_encoder(model, model_info(model_name).encoder)
    return "ImageNet MobileNetV2 encoder (offline weights, sha256 checked)"


def train(
    config: TrainConfig,
    model_name: str,
    strategy: Strategy,
    truth_dir: Path,
    out_dir: Path,
    *,
    init: Path | None = None,
    bn_policy: str = "papers-freeze",
    multitask: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train and write `model.pt` and `train_log.jsonl` into `out_dir`."""
    info = model_info(model_name)
    if config.size % info.size_multiple:
        raise DataError(
            f"size {config.size} must be a multiple of {info.size_multiple} for {model_name}"
        )
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    device = _device()
    truth = load_truth_set(truth_dir)
    train_cases, val_cases = split_by_exam(truth.cases, config.validation_fraction, config.seed)
    if config.max_train_images is not None:
        train_cases = train_cases[: config.max_train_images]
    class_values = class_values_of(truth.cases)
    if len(class_values) < 2:
        raise DataError("labels hold only background: nothing to segment")
    size = (config.size, config.size)
    train_set = load_arrays(train_cases, size, class_values)
    val_set = load_arrays(val_cases, size, class_values)
    sites = truth.sites()
    classes = 1 if len(class_values) == 2 else len(class_values)
    model = build_model(model_name, classes=classes, aux_classes=len(sites) if multitask else None)
    init_note = initialise(model, model_name, strategy, init)
    trainable = apply_strategy(model, strategy)
    total = count_parameters(model)
    model.to(device)
    optimiser = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    joint = JointLoss(config.classification_weight)
    site_index = {s: i for i, s in enumerate(sites)}
    site_targets = torch.tensor([site_index[s] for s in train_set.sites])

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "train_log.jsonl"
    history: list[dict] = []

    def log(record: dict) -> None:
        history.append(record)
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    log_path.write_text("")
    initial_dice = evaluate(model, val_set, config.batch_size, device)
    log(
        {
            "event": "start",
            "model": model_name,
            "strategy": strategy.key,
            "bn_policy": bn_policy,
            "init": init_note,
            "trainable_parameters": trainable,
            "total_parameters": total,
            "train_images": len(train_set.cases),
            "validation_images": len(val_set.cases),
            "device": device.type,
            "config": config.as_dict(),
            "val_dice": initial_dice,
        }
    )
    n = len(train_set.cases)
    # Batches that will train in an epoch: a last batch of one image is skipped (BatchNorm
    # cannot train on it), so it must not count, or --epochs N would run about N * 5/4.
    full, rest = divmod(n, config.batch_size)
    steps_per_epoch = max(full + (1 if rest >= 2 or (rest and n < 2) else 0), 1)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    step = 0
    bar = tqdm(
        total=total_steps, desc=f"{model_name}/{strategy.key}", disable=not progress, unit="step"
    )
    epoch = 0
    val_dice = initial_dice
    while step < total_steps:
        epoch += 1
        set_train_mode(model, bn_policy)
        order = torch.randperm(n, generator=generator)
        started, losses = time.perf_counter(), []
        for start in range(0, n, config.batch_size):
            if step >= total_steps:
                break
            index = order[start : start + config.batch_size]
            if len(index) < 2 and n >= 2:
                continue  # BatchNorm cannot train on a batch of one
            images = torch.from_numpy(train_set.images[index.numpy()]).to(device)
            labels = torch.from_numpy(train_set.labels[index.numpy()]).to(device).long()
            unit = images.float().div(255.0).unsqueeze(1)
            unit, labels = augment_batch(unit, labels, config.rotation_deg, config.flips, generator)
            with torch.autocast(device.type, enabled=use_amp):
                output = model(normalise_unit(unit))
                if isinstance(output, tuple):
                    loss = joint(
                        output[0].float(), output[1].float(), labels, site_targets[index].to(device)
                    )
                else:
                    loss = segmentation_loss(output.float(), labels)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            losses.append(float(loss.detach()))
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", dice=f"{val_dice:.3f}")
        seconds = time.perf_counter() - started
        val_dice = evaluate(model, val_set, config.batch_size, device)
        log(
            {
                "event": "epoch",
                "epoch": epoch,
                "step": step,
                "train_loss": float(np.mean(losses)) if losses else None,
                "val_dice": val_dice,
                "epoch_seconds": seconds,
            }
        )
    bar.close()
    checkpoint = out_dir / "model.pt"
    save_checkpoint(
        checkpoint,
        model,
        model_name=model_name,
        classes=classes,
        class_values=class_values,
        sites=sites if multitask else None,
        input_size=[config.size, config.size],
        strategy=strategy.key,
        bn_policy=bn_policy,
        trainable_parameters=trainable,
        total_parameters=total,
        config=config.as_dict(),
    )
    log({"event": "end", "val_dice": val_dice, "initial_val_dice": initial_dice, "steps": step})
    return TrainResult(checkpoint, log_path, trainable, total, initial_dice, val_dice, history)
