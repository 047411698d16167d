"""The model zip `reproduce --phase` uploads is one the platform accepts, its metadata fits the
platform's form, and the checks before training fail in one clear line (not after training)."""

from __future__ import annotations

import io
import zipfile

import pytest

from reference_models.bundle import write_model_bundle
from reference_models.cli import main
from reference_models.export import ExportError, export_model
from reference_models.strategies import STRATEGIES
from reference_models.submit import PLATFORM_STRATEGY, submission_metadata
from tests.reference_models.test_reference_export import _checkpoint

PLATFORM_CHOICES = {"full", "decoder_only", "encoder_only", "from_scratch", "other"}


@pytest.mark.parametrize(("classes", "values"), [(1, [0, 1]), (3, [0, 1, 2])])
@pytest.mark.parametrize("output", ["logits", "probabilities"])
def test_bundle_passes_the_platforms_own_checks(tmp_path, classes, values, output) -> None:
    from challenges.services.model_bundle import check_bundle, extract_bundle
    from sandbox.onnx_spec import OnnxSpec

    files = export_model(
        _checkpoint(tmp_path, classes, values), tmp_path / "x", ("torchscript",), output
    )
    bundle = write_model_bundle(files["torchscript"], files["torchscript_spec"], tmp_path / "m.zip")
    assert check_bundle(io.BytesIO(bundle.read_bytes())) == "torchscript"
    extracted = extract_bundle(bundle, tmp_path / "out")
    spec = OnnxSpec.from_dict(extracted.spec)
    assert spec.input_size == (48, 64) and spec.channels == 3 and spec.output == output
    assert list(spec.class_values) == values and spec.threshold == 0.5
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == ["model.json", "model.pt"]


def test_bundle_refuses_what_the_platform_would(tmp_path) -> None:
    (tmp_path / "net.bin").write_bytes(b"x")
    (tmp_path / "spec.json").write_text("{}")
    with pytest.raises(ExportError, match=".pt or .onnx"):
        write_model_bundle(tmp_path / "net.bin", tmp_path / "spec.json", tmp_path / "m.zip")
    (tmp_path / "net.pt").write_bytes(b"x")
    with pytest.raises(ExportError, match="re-export"):
        write_model_bundle(tmp_path / "net.pt", tmp_path / "spec.json", tmp_path / "m.zip")


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


def test_spec_file_must_be_json(tmp_path) -> None:
    (tmp_path / "net.pt").write_bytes(b"x")
    (tmp_path / "spec.json").write_text("{not json")
    with pytest.raises(ExportError, match="not valid JSON"):
        write_model_bundle(tmp_path / "net.pt", tmp_path / "spec.json", tmp_path / "m.zip")
