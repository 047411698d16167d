"""Fine-tuning strategies as data: which parameter groups train, and where weights come from.

A strategy names parameter groups by module path ("encoder", "decoder.blocks.0",
"segmentation_head", ...), so one declaration applies to the smp U-Nets and the plain U-Net
alike, and a leaderboard entry can state exactly what was trained. The nine strategies (a)-(i)
are those of the fine-tuning papers (Wang, Silvestre and Curran, arXiv:2307.09067 and
arXiv:2407.20086; `reference_models.experiments.paper`); their trainable counts on the
MobileNetV2 U-Net reproduce the papers' (see docs/reference-models.md for the mapping).

BatchNorm: the papers froze layers by switching off gradients only, so frozen BatchNorm layers
kept updating their running statistics in training mode ("papers-freeze"). "strict-freeze" also
puts frozen BatchNorm layers in eval mode so that a frozen part really stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from reference_models.errors import StrategyError

EncoderInit = Literal["random", "pretrained"]
BN_POLICIES = ("papers-freeze", "strict-freeze")

DECODER_AND_HEAD = ("decoder", "segmentation_head")


@dataclass(frozen=True)
class Strategy:
    """One fine-tuning strategy.

    `trainable` lists module-path prefixes whose parameters receive gradients; everything else
    is frozen. `encoder_init` says whether the encoder starts from pretrained weights (an
    `--init` checkpoint or ImageNet) or from random initialisation.
    """

    key: str
    title: str
    encoder_init: EncoderInit
    trainable: tuple[str, ...]
    paper_trainable_mobilenet_v2: int | None = None  # the paper's count, where it quotes one


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy(
            "a",
            "random-init encoder frozen, train decoder and head",
            "random",
            DECODER_AND_HEAD,
            4_405_073,
        ),
        Strategy("b", "random-init, train encoder only", "random", ("encoder",), 2_223_872),
        Strategy(
            "c", "pretrained encoder trained, decoder frozen", "pretrained", ("encoder",), 2_223_872
        ),
        Strategy("d", "decoder block 0", "pretrained", ("decoder.blocks.0",), 3_761_152),
        Strategy(
            "e",
            "decoder blocks 0-1",
            "pretrained",
            ("decoder.blocks.0", "decoder.blocks.1"),
            4_240_896,
        ),
        Strategy(
            "f",
            "decoder blocks 0-2",
            "pretrained",
            ("decoder.blocks.0", "decoder.blocks.1", "decoder.blocks.2"),
            4_365_568,
        ),
        Strategy(
            "g",
            "decoder blocks 2-4",
            "pretrained",
            ("decoder.blocks.2", "decoder.blocks.3", "decoder.blocks.4"),
            164_032,
        ),
        Strategy("h", "decoder block 4", "pretrained", ("decoder.blocks.4",), 6_976),
        Strategy(
            "i",
            "pretrained encoder frozen, train whole decoder and head",
            "pretrained",
            DECODER_AND_HEAD,
            4_405_073,
        ),
        Strategy("full", "full fine-tuning of a pretrained model", "pretrained", ("",), 6_628_945),
        Strategy("scratch", "training from scratch, everything random", "random", ("",), 6_628_945),
    )
}


def get_strategy(key: str) -> Strategy:
    """The strategy named `key` (case-insensitive), or a clear error listing the choices."""
    strategy = STRATEGIES.get(key.strip().lower())
    if strategy is None:
        raise StrategyError(f"unknown strategy {key!r}; choose one of: {', '.join(STRATEGIES)}")
    return strategy


def _matches(name: str, prefix: str) -> bool:
    return prefix == "" or name == prefix or name.startswith(prefix + ".")


def apply_strategy(model: nn.Module, strategy: Strategy) -> int:
    """Set requires_grad per the strategy; returns the number of trainable parameters.

    A prefix that matches no parameter is an error: "decoder block 4" on a plain U-Net with
    four decoder blocks must fail loudly rather than train nothing.
    """
    names = [name for name, _ in model.named_parameters()]
    for prefix in strategy.trainable:
        if not any(_matches(name, prefix) for name in names):
            raise StrategyError(
                f"strategy {strategy.key} trains {prefix!r}, which this model does not have"
            )
    trainable = 0
    for name, parameter in model.named_parameters():
        parameter.requires_grad = any(_matches(name, p) for p in strategy.trainable)
        trainable += parameter.numel() if parameter.requires_grad else 0
    if trainable == 0:
        raise StrategyError(f"strategy {strategy.key} leaves nothing to train")
    return trainable


def set_train_mode(model: nn.Module, bn_policy: str) -> None:
    """Put the model in training mode, honouring the BatchNorm policy for frozen layers."""
    if bn_policy not in BN_POLICIES:
        raise StrategyError(
            f"unknown BatchNorm policy {bn_policy!r}; choose {' or '.join(BN_POLICIES)}"
        )
    model.train()
    if bn_policy == "strict-freeze":
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                params = list(module.parameters(recurse=False))
                if params and not any(p.requires_grad for p in params):
                    module.eval()
