"""torch.export programs (`.pt2`) as model files: run in the limited child process like ONNX and
TorchScript, measured the same way (one unet-tiny gives the same parameters and FLOPs in all
three formats), the same masks as the ONNX file on real HC18 and PSFHS images, and an archive
that would run pickled code when loaded is refused without running it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sandbox.inputs import Case, prepare_input
from sandbox.model_files.onnx_stats import parameter_count
from sandbox.model_files.process import ModelLimits, run_model_file
from sandbox.outcome import Status

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from reference_models.export.model_file import export_model  # noqa: E402
from reference_models.nets.zoo import build_model, count_parameters  # noqa: E402
from tests.reference_models.test_reference_export import _checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
LIMITS = ModelLimits(wall_seconds=120, memory_bytes=6 * 1024**3, threads=1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """One binary unet-tiny (non-trivial BatchNorm statistics) in all three formats."""
    base = tmp_path_factory.mktemp("pt2")
    return export_model(_checkpoint(base, 1, [0, 1]), base / "x", ("pt2", "onnx", "torchscript"))


@pytest.fixture(scope="module")
def real_inputs(tmp_path_factory) -> Path:
    """Two real HC18 PNGs and one real PSFHS MetaImage, as the platform lays out inputs."""
    hc18, psfhs = DATA / "hc18" / "training_set", DATA / "psfhs" / "image_mha"
    if not hc18.is_dir() or not psfhs.is_dir():
        pytest.skip(f"real data not found at {DATA} (see /work/shared/data/README.md)")
    cases = [Case(p.stem, p, (0.1, 0.1)) for p in sorted(hc18.glob("*_HC.png"))[:2]]
    cases += [Case(p.stem, p, (1.0, 1.0)) for p in sorted(psfhs.glob("*.mha"))[:1]]
    return prepare_input(cases, tmp_path_factory.mktemp("inputs") / "in")


def _spec(exported: dict[str, Path]) -> dict:
    return json.loads(exported["spec"].read_text())


@pytest.mark.slow  # ~25 s: three formats, each in its own child process
def test_pt2_runs_and_is_measured_like_onnx_and_torchscript(
    exported: dict[str, Path], real_inputs: Path, tmp_path: Path
) -> None:
    model = build_model("unet-tiny", classes=1)
    outcomes = {
        fmt: run_model_file(
            fmt, exported[fmt], _spec(exported), real_inputs, tmp_path / fmt, LIMITS
        )
        for fmt in ("pt2", "onnx", "torchscript")
    }
    for fmt, outcome in outcomes.items():
        assert outcome.status == Status.OK, (fmt, outcome.message, outcome.log_tail)
        assert outcome.details["parameters"] == count_parameters(model) == 486_553, fmt
        assert outcome.details["median_latency_ms"] > 0, fmt
    flops = {fmt: o.details["flops"] for fmt, o in outcomes.items()}
    assert flops["pt2"] > 0 and len(set(flops.values())) == 1, flops
    # The same masks from the exported program and the ONNX file, case by case.
    names = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert len(names) == 3 and names == sorted(p.name for p in (tmp_path / "pt2").iterdir())
    for name in names:
        pt2 = np.asarray(Image.open(tmp_path / "pt2" / name))
        onnx_mask = np.asarray(Image.open(tmp_path / "onnx" / name))
        assert pt2.shape == onnx_mask.shape and pt2.any()
        assert (pt2 != onnx_mask).mean() < 1e-4, name  # float rounding at the threshold only


def _rewrite(source: Path, dest: Path, replace: dict[str, bytes]) -> Path:
    """A copy of the .pt2 zip with the members whose names end with a key replaced."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(dest, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            out.writestr(info.filename, data)
    return dest


class _Gadget:
    """Unpickling this creates `marker` (harmless stand-in for any code an attacker runs)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickled_sample_inputs(exported: dict[str, Path], tmp_path: Path, marker: Path) -> Path:
    buffer = io.BytesIO()
    torch.save(_Gadget(marker), buffer)
    return _rewrite(
        exported["pt2"], tmp_path / "evil.pt2", {"sample_inputs/model.pt": buffer.getvalue()}
    )


def test_plain_torch_export_load_runs_code_from_the_file(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    """Why .pt2 files are opened only in the sandboxed child: torch.export.load falls back to
    `torch.load(weights_only=False)` for the sample inputs (torch 2.14), so loading runs code
    the file chose. If this starts failing, torch closed the hole (keep the guard anyway)."""
    marker = tmp_path / "ran"
    evil = _pickled_sample_inputs(exported, tmp_path, marker)
    code = f"import torch; torch.export.load({str(evil)!r})"
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False)
    assert marker.exists()


def test_pickled_payloads_are_refused_without_running(
    exported: dict[str, Path], real_inputs: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    evil = _pickled_sample_inputs(exported, tmp_path, marker)
    outcome = run_model_file("pt2", evil, _spec(exported), real_inputs, tmp_path / "o1", LIMITS)
    assert outcome.status == Status.REJECTED, outcome.message
    assert "not a torch.export program" in outcome.message
    assert not marker.exists()  # the weights-only guard stopped the fallback

    # A weight stored as a pickle (torch would torch.load it with weights_only=False).
    with zipfile.ZipFile(exported["pt2"]) as archive:
        name = next(n for n in archive.namelist() if n.endswith("model_weights_config.json"))
        config = json.loads(archive.read(name))
    first = next(iter(config["config"]))
    config["config"][first]["use_pickle"] = True
    pickled = _rewrite(
        exported["pt2"], tmp_path / "pickled.pt2", {name: json.dumps(config).encode()}
    )
    outcome = run_model_file("pt2", pickled, _spec(exported), real_inputs, tmp_path / "o2", LIMITS)
    assert outcome.status == Status.REJECTED and "as a pickle" in outcome.message
    assert first in outcome.message


def test_junk_pt2_is_rejected_clearly(
    exported: dict[str, Path], real_inputs: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pt2"
    junk.write_bytes(b"not a zip at all")
    outcome = run_model_file("pt2", junk, _spec(exported), real_inputs, tmp_path / "o", LIMITS)
    assert outcome.status == Status.REJECTED and "not a readable zip" in outcome.message
    # A TorchScript archive is a zip too, but not an exported program.
    outcome = run_model_file(
        "pt2", exported["torchscript"], _spec(exported), real_inputs, tmp_path / "o2", LIMITS
    )
    assert outcome.status == Status.REJECTED
    assert "not a torch.export archive" in outcome.message, outcome.message


def test_onnx_count_leaves_out_batchnorm_statistics_and_counts_merged_copies() -> None:
    """The ONNX count follows PyTorch's `parameters()`: BatchNorm running mean/variance are
    not parameters, and an initializer the exporter merged with an equal one (re-created by
    an Identity node) is still one parameter tensor per copy."""
    from onnx import TensorProto, helper, numpy_helper

    c = 4
    inits = [
        numpy_helper.from_array(np.ones((c, 1, 3, 3), np.float32), "w"),  # 36
        numpy_helper.from_array(np.ones(c, np.float32), "gamma"),  # 4, also copied below
        numpy_helper.from_array(np.zeros(c, np.float32), "beta"),  # 4
        numpy_helper.from_array(np.zeros(c, np.float32), "mean"),  # statistics
        numpy_helper.from_array(np.ones(c, np.float32), "var"),  # statistics
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["y"], pads=[1, 1, 1, 1]),
        helper.make_node("Identity", ["gamma"], ["gamma_copy"]),
        helper.make_node("BatchNormalization", ["y", "gamma", "beta", "mean", "var"], ["z"]),
        helper.make_node("BatchNormalization", ["z", "gamma_copy", "beta", "mean", "var"], ["o"]),
    ]
    graph = helper.make_graph(
        nodes,
        "bn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert parameter_count(model) == 36 + 4 + 4 + 4
