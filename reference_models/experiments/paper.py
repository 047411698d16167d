"""What the fine-tuning papers report, so a benchmark can put our numbers beside theirs.

Wang, Silvestre, Curran: "Evaluate fine-tuning strategies for fetal head ultrasound image
segmentation with U-Net" (arXiv:2307.09067, 2023) and "Segmenting fetal head with efficient
fine-tuning strategies in low-resource settings" (arXiv:2407.20086, 2024). Their per-strategy
Dice values are published as figures, not tables, so we do not transcribe numbers we cannot
check; what they state in text is checked here against our own rows: the trainable counts
(exact, tested) and the findings below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAPER = (
    "The papers (Wang, Silvestre and Curran, arXiv:2307.09067 and arXiv:2407.20086) train "
    "smp's U-Net with a MobileNetV2 encoder on HC18 at 512x512 (Adam 1e-4, batch 10, 20 "
    "epochs, flips and rotation) on a GPU, and report per-strategy Dice as figures. Our "
    "trainable counts reproduce theirs exactly (column *paper's count*). Their stated "
    "findings, checked against the rows above:"
)


@dataclass(frozen=True)
class Finding:
    """A claim of the paper and how to test it on our rows (strategy key -> head Dice)."""

    claim: str
    check: Callable[[dict[str, float]], tuple[bool, str] | None]


def _best(dice: dict[str, float], keys: list[str]) -> tuple[str, float] | None:
    present = [(k, dice[k]) for k in keys if k in dice]
    return max(present, key=lambda kv: kv[1]) if present else None


def _fine_tuning_beats_scratch(dice: dict[str, float]):
    tuned = _best(dice, ["c", "d", "e", "f", "g", "h", "i", "full"])
    if tuned is None or "scratch" not in dice:
        return None
    return tuned[1] > dice["scratch"], (
        f"best fine-tuned `{tuned[0]}` {tuned[1]:.3f} vs scratch {dice['scratch']:.3f}"
    )


def _decoder_beats_encoder(dice: dict[str, float]):
    decoder = _best(dice, ["d", "e", "f", "g", "h", "i"])
    encoder = _best(dice, ["b", "c"])
    if decoder is None or encoder is None:
        return None
    return decoder[1] > encoder[1], (
        f"best decoder strategy `{decoder[0]}` {decoder[1]:.3f} vs best encoder strategy "
        f"`{encoder[0]}` {encoder[1]:.3f}"
    )


def _small_decoder_near_full(dice: dict[str, float]):
    if "i" not in dice or "full" not in dice:
        return None
    gap = dice["full"] - dice["i"]
    return gap <= 0.01, f"`i` (4.4M trainable) {dice['i']:.3f} vs `full` {dice['full']:.3f}"


FINDINGS: tuple[Finding, ...] = (
    Finding(
        "fine-tuning a pretrained U-Net beats training from scratch", _fine_tuning_beats_scratch
    ),
    Finding("fine-tuning decoder parts beats fine-tuning the encoder", _decoder_beats_encoder),
    Finding(
        "training only the decoder and head of a pretrained encoder (4.4M trainable, 85.8 % "
        "fewer than the 31M plain U-Net) is within 0.01 Dice of full fine-tuning",
        _small_decoder_near_full,
    ),
)


def check_findings(dice: dict[str, float]) -> list[str]:
    """One markdown bullet per finding: holds / does not hold here, with the numbers."""
    lines = []
    for finding in FINDINGS:
        result = finding.check(dice)
        if result is None:
            lines.append(f"- {finding.claim}: not measured in this run")
            continue
        holds, detail = result
        lines.append(
            f"- {finding.claim}: **{'holds' if holds else 'does not hold'}** here ({detail})"
        )
    return lines
