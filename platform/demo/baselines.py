"""Synthetic baseline submissions: truth masks degraded in controlled, method-like ways.

The demo leaderboards and Pareto plots need entries that differ believably: a big fully
fine-tuned network is close to the truth, a linear probe on a small frozen encoder is blobby
and offset. Each `Baseline` is a recipe of morphological errors (dilate/erode, shift, smooth
boundary wobble) whose strength also depends on the site, so that per-site tabs disagree
(the dark, coarse-speckle sites are "harder"). Deterministic by seed.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.truth import TruthSet

#: How much harder each demo site is than the others (multiplies every error strength).
SITE_DIFFICULTY = {"site-b": 1.8, "site-e": 1.7, "site-c": 0.8, "site-f": 0.9}


@dataclass(frozen=True)
class Baseline:
    """A pretend method: its metadata for the leaderboard and its error recipe."""

    team: str
    method_name: str
    backbone: str
    fine_tuning_strategy: str
    params_total: int
    params_trainable: int
    grow_px: float  # >0 dilates, <0 erodes (scaled by site difficulty)
    shift_px: float  # systematic offset
    wobble: float  # amplitude of smooth boundary noise, in pixels
    drop_rate: float = 0.0  # fraction of cases where a class is missed entirely

    def metadata(self) -> dict[str, str | int]:
        return {
            "method_name": self.method_name,
            "backbone": self.backbone,
            "fine_tuning_strategy": self.fine_tuning_strategy,
            "params_total": self.params_total,
            "params_trainable": self.params_trainable,
            "code_url": "https://example.org/fetalbench-demo-baselines",
        }


BASELINES: tuple[Baseline, ...] = (
    Baseline("Ridgeway Lab", "U-Net full FT", "resnet34", "full", 24_436_369, 24_436_369, 0.5, 0.5, 1.0),
    Baseline("Hollis Group", "U-Net decoder-only", "resnet34", "decoder_only", 24_436_369, 3_151_697, -1.5, 1.5, 1.8),
    Baseline("Marsh Imaging", "SAM-B LoRA", "vit_b", "lora", 93_735_472, 786_432, 1.0, 0.8, 1.2),
    Baseline("Okafor AI", "EffNet-B0 encoder-only", "efficientnet-b0", "encoder_only", 6_251_469, 4_007_548, 1.5, 1.0, 2.0),
    Baseline("Vale Vision", "MobileNetV2 linear probe", "mobilenet_v2", "linear_probe", 6_628_945, 2_177, -3.0, 3.0, 3.5, 0.03),
    Baseline("Nakamura Lab", "Tiny U-Net from scratch", "unet-tiny", "from_scratch", 481_585, 481_585, -2.0, 2.0, 2.8, 0.02),
    Baseline("Brandt & Co", "U-Net R18 from scratch", "resnet18", "from_scratch", 14_328_209, 14_328_209, 1.0, 1.5, 2.2),
)  # fmt: skip


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / max(float(field.std()), 1e-12)


def degrade_mask(
    mask: np.ndarray, baseline: Baseline, rng: np.random.Generator, difficulty: float = 1.0
) -> np.ndarray:
    """One class's boolean mask as `baseline` would have predicted it."""
    if not mask.any():
        return mask.copy()
    if baseline.drop_rate and rng.random() < baseline.drop_rate * difficulty:
        return np.zeros_like(mask)
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    signed = np.where(mask, inside, -outside)  # >0 inside, <0 outside, in pixels
    grow = baseline.grow_px * difficulty * rng.uniform(0.5, 1.5)
    wobble = baseline.wobble * difficulty * _smooth_noise(rng, mask.shape, 8.0)
    out = signed + grow + wobble > 0.5
    angle = rng.uniform(0, 2 * np.pi)
    dist = baseline.shift_px * difficulty * rng.uniform(0.5, 1.5)
    dy, dx = round(dist * np.sin(angle)), round(dist * np.cos(angle))
    return ndimage.shift(out, (dy, dx), order=0, mode="constant", cval=False)


def degrade_label_map(
    label: np.ndarray, baseline: Baseline, rng: np.random.Generator, difficulty: float = 1.0
) -> np.ndarray:
    """All classes of a label map, largest first so small structures stay on top."""
    values = [int(v) for v in np.unique(label) if v != 0]
    values.sort(key=lambda v: -int((label == v).sum()))
    out = np.zeros_like(label)
    for value in values:
        out[degrade_mask(label == value, baseline, rng, difficulty)] = value
    return out


def write_baseline_zip(truth: TruthSet, baseline: Baseline, out_zip: Path, seed: int = 0) -> Path:
    """A predictions zip (`<case>.png` label maps) for every case of `truth`."""
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    base_seed = sum(map(ord, baseline.method_name))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out_zip, "w") as zf:
        for index, case in enumerate(truth.cases):
            rng = np.random.default_rng([seed, base_seed, index])
            label = read_label_map(case.label_path)
            pred = degrade_label_map(label, baseline, rng, SITE_DIFFICULTY.get(case.site, 1.0))
            path = Path(tmp) / f"{case.case}.png"
            write_label_map(path, pred.astype(np.uint8), spacing=case.spacing)
            zf.write(path, path.name)
    return out_zip


def baselines_for(names: Iterable[str] | None = None) -> list[Baseline]:
    """All baselines, or those whose method names are listed."""
    if names is None:
        return list(BASELINES)
    wanted = set(names)
    return [b for b in BASELINES if b.method_name in wanted]
