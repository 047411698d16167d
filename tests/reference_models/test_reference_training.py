"""Training on real HC18 images: the exam split, and a short run that improves Dice."""

from __future__ import annotations

import json

import pytest

from reference_models.training.configs import get_config
from reference_models.training.data import DataError, exam_id, load_truth_set, split_by_exam
from reference_models.training.loop import train
from reference_models.training.strategies import get_strategy


def test_exam_id_groups_frames_of_one_exam() -> None:
    assert exam_id("010_HC") == exam_id("010_2HC") == exam_id("010_3HC") == "010"
    assert exam_id("03744") == "03744"


def test_split_keeps_each_exam_on_one_side(hc18_truth_40) -> None:
    cases = load_truth_set(hc18_truth_40).cases
    train_cases, val_cases = split_by_exam(cases, 0.25, seed=3)
    train_exams = {exam_id(c.case) for c in train_cases}
    val_exams = {exam_id(c.case) for c in val_cases}
    assert train_exams and val_exams and not train_exams & val_exams
    assert len(train_cases) + len(val_cases) == len(cases)
    assert split_by_exam(cases, 0.25, seed=3) == (train_cases, val_cases)


def test_truth_set_problems_are_data_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="cases.csv is missing"):
        load_truth_set(tmp_path)


@pytest.fixture
def one_torch_thread():
    """One intra-op thread: on a busy 2-core CI machine two threads are ~7x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_short_real_training_run_improves_dice(hc18_truth_40, tmp_path, one_torch_thread) -> None:
    config = get_config("cpu_quick").with_overrides(
        size=64, batch_size=8, epochs=100, max_steps=80, learning_rate=3e-3, seed=0
    )
    result = train(
        config,
        "unet-tiny",
        get_strategy("scratch"),
        hc18_truth_40,
        tmp_path,
        progress=False,
    )
    assert result.final_val_dice > result.initial_val_dice + 0.15, result.history
    assert result.final_val_dice > 0.6
    records = [json.loads(line) for line in result.log.read_text().splitlines()]
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    assert records[0]["trainable_parameters"] == result.trainable_parameters
    assert all("epoch_seconds" in r for r in records if r["event"] == "epoch")
    assert result.checkpoint.is_file()


def test_epochs_means_epochs_when_the_last_batch_is_a_single_image(
    hc18_truth_40, tmp_path, one_torch_thread
) -> None:
    """A last batch of one image is skipped (BatchNorm); the step budget must not count it,
    or --epochs 3 ran 4 epochs (found by a user: 33 images, batch 8)."""
    config = get_config("cpu_quick").with_overrides(size=32, epochs=3, seed=0)
    train_cases, _ = split_by_exam(
        load_truth_set(hc18_truth_40).cases, config.validation_fraction, config.seed
    )
    batch = len(train_cases) - 1  # one full batch, then a batch of one image
    result = train(
        config.with_overrides(batch_size=batch),
        "unet-tiny",
        get_strategy("scratch"),
        hc18_truth_40,
        tmp_path,
        progress=False,
    )
    records = [json.loads(line) for line in result.log.read_text().splitlines()]
    assert records[0]["train_images"] == batch + 1
    assert sum(r["event"] == "epoch" for r in records) == 3
    assert records[-1]["steps"] == 3


def test_sweep_table_sorts_by_trainable_size_and_shows_papers_count() -> None:
    from reference_models.experiments.sweep import format_table

    base = {"model": "unet-mobilenet_v2", "total_parameters": 6_628_945, "hd95_mm": {1: 2.0}}
    rows = [
        {
            **base,
            "strategy": "i",
            "title": "t",
            "trainable_parameters": 4_405_073,
            "paper_trainable": 4_405_073,
            "dice": {1: 0.95},
            "hc_abs_error_mm": 2.5,
            "seconds_per_epoch": 10.0,
        },
        {
            **base,
            "strategy": "h",
            "title": "t",
            "trainable_parameters": 6_976,
            "paper_trainable": 6_976,
            "dice": {1: 0.80},
            "hc_abs_error_mm": None,
            "seconds_per_epoch": None,
        },
    ]
    table = format_table(rows).splitlines()
    assert "| h (t) | 6,976 | 6,976 | 1: 0.800 |" in table[2]
    assert "4,405,073" in table[3] and "| 2.50 | 10.0 |" in table[3]


def test_gpu_full_config_runs_on_cpu_at_full_size(
    hc18_truth_40, tmp_path, one_torch_thread
) -> None:
    """gpu_full is the paper's recipe; without CUDA it must still run (AMP simply off).

    No GPU is lent to CI, so this is the only place the 512x512 path, the paper's optimiser
    settings and the stronger rotation are exercised end to end on a real image batch.
    """
    config = get_config("gpu_full").with_overrides(max_steps=1, batch_size=2)
    assert (config.size, config.learning_rate, config.epochs, config.amp) == (512, 1e-4, 20, True)
    result = train(
        config,
        "unet-mobilenet_v2",
        get_strategy("i"),
        hc18_truth_40,
        tmp_path,
        progress=False,
    )
    start = result.history[0]
    assert start["device"] == "cpu" and start["config"]["size"] == 512
    assert start["trainable_parameters"] == 4_405_073
    assert result.history[-1] == {**result.history[-1], "event": "end", "steps": 1}
    assert (tmp_path / "model.pt").is_file()
