"""The model zips `export` writes (and `reproduce --phase` uploads) are ones the platform accepts
as they are, their metadata fits the platform's form, and the checks before training fail in
one clear line (not after training)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from reference_models.cli import main
from reference_models.experiments.submit import PLATFORM_STRATEGY, submission_metadata
from reference_models.export.model_file import ExportError, export_model
from reference_models.training.strategies import STRATEGIES
from tests.reference_models.test_reference_export import _checkpoint

PLATFORM_CHOICES = {"full", "decoder_only", "encoder_only", "from_scratch", "other"}


@pytest.mark.parametrize(("classes", "values"), [(1, [0, 1]), (3, [0, 1, 2])])
@pytest.mark.parametrize("output", ["logits", "probabilities"])
def test_export_writes_zips_the_platform_takes_as_they_are(
    tmp_path, classes, values, output
) -> None:
    """Each format's zip passes the platform's upload check and extraction unchanged, and its
    spec is the platform's own (fails before: export wrote fields the platform refuses)."""
    from sandbox.model_files.bundle import check_bundle, extract_bundle
    from sandbox.model_files.spec import ModelSpec

    formats = ("pt2", "onnx", "torchscript")
    files = export_model(_checkpoint(tmp_path, classes, values), tmp_path / "x", formats, output)
    written_spec = json.loads(files["spec"].read_text())
    for fmt, suffix in zip(formats, (".pt2", ".onnx", ".pt"), strict=True):
        bundle = files[f"{fmt}_bundle"]
        assert bundle.name == f"model-{fmt}.zip"
        assert check_bundle(io.BytesIO(bundle.read_bytes())) == fmt
        extracted = extract_bundle(bundle, tmp_path / f"out-{fmt}")
        assert extracted.format == fmt and extracted.spec == written_spec
        spec = ModelSpec.from_dict(extracted.spec)
        assert spec.to_dict() == written_spec  # nothing the platform would drop or change
        assert spec.input_size == (48, 64) and spec.channels == 3 and spec.output == output
        assert list(spec.class_values) == values and spec.threshold == 0.5
        with zipfile.ZipFile(bundle) as archive:
            assert sorted(archive.namelist()) == sorted(["model.json", f"model{suffix}"])
    metadata = json.loads(files["metadata"].read_text())
    assert metadata["model"] == "unet-tiny" and metadata["strategy"] == "scratch"


def test_export_cli_defaults_to_pt2_and_onnx(tmp_path, capsys) -> None:
    checkpoint = _checkpoint(tmp_path, 1, [0, 1])
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "x")]) == 0
    written = json.loads(capsys.readouterr().out)
    assert {"pt2", "pt2_bundle", "onnx", "onnx_bundle", "spec", "metadata"} == set(written)
    assert not (tmp_path / "x" / "model.pt").exists()  # TorchScript only on request


def test_export_refuses_unknown_formats(tmp_path) -> None:
    with pytest.raises(ExportError, match="unknown format"):
        export_model(_checkpoint(tmp_path, 1, [0, 1]), tmp_path / "x", ("keras",))


def test_every_strategy_maps_to_a_platform_choice() -> None:
    assert set(PLATFORM_STRATEGY) == set(STRATEGIES)
    row = {"model": "unet-tiny", "title": "t", "total_parameters": 9, "trainable_parameters": 4}
    for key in STRATEGIES:
        meta = submission_metadata({**row, "strategy": key})
        assert meta["fine_tuning_strategy"] in PLATFORM_CHOICES
        assert meta["kind"] == "model" and f"strategy {key}:" in meta["method_name"]
        assert (meta["params_total"], meta["params_trainable"]) == ("9", "4")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "needs a token"),
        (("--token", "t", "--url", "http://127.0.0.1:9"), "cannot reach the server"),
    ],
)
def test_reproduce_checks_the_phase_before_training(
    tmp_path, capsys, monkeypatch, extra, message
) -> None:
    monkeypatch.setenv("FETALBENCH_CONFIG", str(tmp_path / "no-login.json"))
    args = ["reproduce", "--config", "cpu_quick", "--data", str(tmp_path / "none")]
    args += ["--out", str(tmp_path / "o"), "--phase", "1", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()  # nothing trained
