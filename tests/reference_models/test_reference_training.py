"""Training on real HC18 images: the exam split, and a short run that improves Dice."""

from __future__ import annotations

import json

import pytest

from reference_models.configs import get_config
from reference_models.data import DataError, exam_id, load_truth_set, split_by_exam
from reference_models.strategies import get_strategy
from reference_models.training import train


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


@pytest.mark.slow
def test_short_real_training_run_improves_dice(hc18_truth_40, tmp_path) -> None:
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
