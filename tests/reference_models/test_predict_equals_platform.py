"""Offline prediction of an exported file (`reference_models.export.predict`) gives the very masks
the platform's model-file backend writes for that file's submission zip, on real HC18 PNGs and a
real PSFHS MetaImage: one pixel pipeline, so a baseline's offline score is the board's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sandbox.backends import backend_for
from sandbox.inputs import Case, prepare_input
from sandbox.limits import RunLimits
from sandbox.outcome import Status

from reference_models.export.model_file import export_model
from reference_models.export.platform_spec import ModelSpec, model_spec, pixels
from reference_models.export.predict import load_model_file, predict_file
from reference_models.training.checkpoints import model_from_checkpoint
from tests.reference_models.test_reference_export import _checkpoint

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
LIMITS = RunLimits(
    wall_seconds=120, memory_bytes=6 * 1024**3, cpus=1, pids=64, output_bytes=64 * 1024**2
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


@pytest.fixture(scope="module")
def real_cases() -> list[Case]:
    """Two real HC18 PNGs (800x540, uint8) and one real PSFHS MetaImage (3 identical planes)."""
    hc18, psfhs = DATA / "hc18" / "training_set", DATA / "psfhs" / "image_mha"
    if not hc18.is_dir() or not psfhs.is_dir():
        pytest.skip(f"real data not found at {DATA} (see ../shared/data/README.md)")
    cases = [Case(p.stem, p, (0.1, 0.1)) for p in sorted(hc18.glob("*_HC.png"))[:2]]
    return cases + [Case(p.stem, p, (1.0, 1.0)) for p in sorted(psfhs.glob("*.mha"))[:1]]


def _balanced_checkpoint(tmp_path: Path, classes: int, values: list[int], image: Path) -> Path:
    """A random unet-tiny whose head bias is shifted by each channel's median output on
    `image`, so its masks mix classes (a random net's are uniform) and a pixel step that
    differs from the platform's changes some of them."""
    path = _checkpoint(tmp_path, classes, values)
    model, meta = model_from_checkpoint(path)
    spec = ModelSpec.from_dict(model_spec(meta, "logits"))
    x = torch.from_numpy(pixels.to_model_input(pixels.read_image(image), spec))
    data = torch.load(path, weights_only=True)
    with torch.no_grad():
        medians = model(x).flatten(2).median(dim=2).values[0]
        data["state_dict"]["segmentation_head.bias"] -= medians
    torch.save(data, path)
    return path


@pytest.mark.parametrize(
    ("classes", "values", "fmt", "output"),
    [(1, [0, 1], "pt2", "logits"), (3, [0, 1, 2], "onnx", "probabilities")],
)
def test_offline_masks_equal_the_model_file_backend(
    real_cases: list[Case], tmp_path: Path, classes: int, values: list[int], fmt: str, output: str
) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    checkpoint = _balanced_checkpoint(tmp_path, classes, values, real_cases[0].image)
    written = export_model(checkpoint, tmp_path / "x", (fmt,), output=output)
    input_dir = prepare_input(real_cases, tmp_path / "input")
    outcome = backend_for("model_file").run(
        written[f"{fmt}_bundle"], input_dir, tmp_path / "board", LIMITS, run_id="offline-check"
    )
    assert outcome.status is Status.OK, (outcome.message, outcome.log_tail)

    forward, spec = load_model_file(written[fmt])
    for case in real_cases:
        ours = predict_file(forward, case.image, spec)
        theirs = np.asarray(Image.open(tmp_path / "board" / f"{case.case_id}.png"))
        np.testing.assert_array_equal(ours, theirs, err_msg=case.case_id)
        assert set(np.unique(ours)) == set(values), case.case_id  # mixed, not uniform
