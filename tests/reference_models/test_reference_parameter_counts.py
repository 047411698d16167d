"""Trainable-parameter counts per fine-tuning strategy reproduce the paper's numbers exactly."""

import pytest
import torch

from reference_models.nets.zoo import MODELS, UnknownModelError, build_model, count_parameters
from reference_models.training.strategies import (
    STRATEGIES,
    StrategyError,
    apply_strategy,
    get_strategy,
    set_train_mode,
)

PAPER = {
    "a": 4_405_073,
    "b": 2_223_872,
    "c": 2_223_872,
    "d": 3_761_152,
    "e": 4_240_896,
    "f": 4_365_568,
    "g": 164_032,
    "h": 6_976,
    "i": 4_405_073,
    "full": 6_628_945,
    "scratch": 6_628_945,
}


@pytest.fixture(scope="module")
def mobilenet_unet():
    return build_model("unet-mobilenet_v2")


def test_mobilenet_unet_total_is_papers(mobilenet_unet) -> None:
    assert count_parameters(mobilenet_unet) == 6_628_945


def test_plain_unet_total_is_papers() -> None:
    assert count_parameters(build_model("unet-plain")) == 31_037_633


@pytest.mark.parametrize("key", list(PAPER))
def test_strategy_trainable_count_matches_paper(mobilenet_unet, key) -> None:
    strategy = get_strategy(key)
    assert apply_strategy(mobilenet_unet, strategy) == PAPER[key]
    assert count_parameters(mobilenet_unet, trainable_only=True) == PAPER[key]
    assert strategy.paper_trainable_mobilenet_v2 == PAPER[key]


def test_the_seven_quoted_numbers_are_all_produced() -> None:
    quoted = {4_405_073, 2_223_872, 3_761_152, 4_240_896, 4_365_568, 164_032, 6_976}
    assert {PAPER[k] for k in "abcdefghi"} == quoted
    assert set(STRATEGIES) == set(PAPER)


def test_block_4_does_not_exist_on_plain_unet() -> None:
    with pytest.raises(StrategyError, match="decoder.blocks.4"):
        apply_strategy(build_model("unet-tiny"), get_strategy("h"))


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(StrategyError, match="choose one of"):
        get_strategy("z")
    with pytest.raises(UnknownModelError, match="unet-mobilenet_v2"):
        build_model("resnet")


def test_bn_policies_differ_only_in_frozen_running_stats() -> None:
    torch.manual_seed(0)
    batch = torch.randn(4, 3, 32, 32) * 3 + 1
    means = {}
    for policy in ("papers-freeze", "strict-freeze"):
        model = build_model("unet-tiny")
        apply_strategy(model, get_strategy("i"))  # encoder frozen
        set_train_mode(model, policy)
        before = model.encoder.stages[0][1].running_mean.clone()
        model(batch)
        means[policy] = (model.encoder.stages[0][1].running_mean - before).abs().sum().item()
        decoder_bn = model.decoder.blocks[0].conv[1]
        assert decoder_bn.training, "trainable BatchNorm layers stay in training mode"
    assert means["papers-freeze"] > 0, "papers' freeze lets frozen BN statistics update"
    assert means["strict-freeze"] == 0, "strict freeze keeps frozen BN statistics fixed"


def test_every_zoo_model_builds_and_runs_on_a_small_input() -> None:
    for name, info in MODELS.items():
        if name in ("unet-plain", "unet-vgg16", "unet-resnet34"):
            continue  # large; their construction is covered above or by the CLI
        model = build_model(name, classes=3).eval()
        with torch.no_grad():
            out = model(torch.zeros(1, 3, info.size_multiple * 2, info.size_multiple * 2))
        assert out.shape == (1, 3, info.size_multiple * 2, info.size_multiple * 2)


def test_multitask_model_returns_masks_and_classes_and_joint_loss_trains() -> None:
    from reference_models.training.losses import JointLoss

    model = build_model("unet-tiny", aux_classes=2)
    masks, classes = model(torch.randn(2, 3, 32, 32))
    assert masks.shape == (2, 1, 32, 32) and classes.shape == (2, 2)
    loss = JointLoss(0.5)(masks, classes, torch.ones(2, 32, 32), torch.tensor([0, 1]))
    loss.backward()
    assert model.classification_head[-1].weight.grad is not None
    assert model.encoder.stages[0][0].weight.grad is not None
