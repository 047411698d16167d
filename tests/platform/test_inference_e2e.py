"""End to end for model submissions on PostgreSQL + Redis + a real Celery worker process
(queues scoring,inference) + the real Docker daemon: over HTTP, three teams submit an ONNX
model file, a TorchScript model file and a busybox model container; each is run on the phase's
test images (never its labels), scored, and shown on the leaderboard with its parameter count
(measured for model files, declared for the container). Hostile or broken submissions (an
endless loop past the phase's time limit, a container exiting non-zero, a file that is not a
model) end failed with their own reason, and the next submission still runs.
"""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import requests
from challenges.models import Phase, Submission
from django.core.management import call_command

from tests.platform.conftest import DATA, require_data, wait_for_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CASES_PER_SITE = 3
ONNX_SPEC = {"input_size": [64, 64], "output": "logits", "threshold": 0.5}


# ------------------------------------------------------------------------------ test data


@pytest.fixture(scope="module")
def truth_with_images(tmp_path_factory) -> Path:
    """A small two-site head truth set that, unlike the scoring tests', carries the images."""
    import cv2
    import SimpleITK as sitk

    from evaluator.importers.hc18 import filled_head, read_release_csv
    from evaluator.truth import write_truth_set

    require_data()
    hc18 = DATA / "hc18"
    cases, images = [], {}
    for row in read_release_csv(hc18 / "training_set_pixel_size_and_HC.csv")[:CASES_PER_SITE]:
        outline = cv2.imread(
            str(hc18 / "training_set" / row.filename.replace(".png", "_Annotation.png")),
            cv2.IMREAD_GRAYSCALE,
        )
        mask, _ = filled_head(outline, row.pixel_size_mm)
        case = Path(row.filename).stem
        cases.append((case, "hc18", (row.pixel_size_mm,) * 2, mask, {}))
        images[case] = hc18 / "training_set" / row.filename
    for path in sorted((DATA / "psfhs" / "label_mha").glob("*.mha"))[:CASES_PER_SITE]:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).squeeze()
        cases.append((path.stem, "psfhs", (1.0, 1.0), (label == 2).astype(np.uint8), {}))
        images[path.stem] = DATA / "psfhs" / "image_mha" / path.name
    out = tmp_path_factory.mktemp("inference-truth") / "head"
    write_truth_set(out, cases, images=images)
    return out


def onnx_bundle(path: Path) -> Path:
    """A 1x1 convolution (2 parameters) whose logit is image/255 - 0.5: a brightness mask."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    bias = numpy_helper.from_array(np.array([-0.5], np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w", "b"], ["logits"])],
        "threshold",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 64, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, 64, 64])],
        [weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return _zip(path, {"model.onnx": model.SerializeToString(), "spec.json": ONNX_SPEC})


def torchscript_bundle(path: Path) -> Path:
    """A scripted 3x3 convolution + ReLU + 1x1 convolution: 1*4*9+4 + 4+1 = 45 parameters."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1)
    )
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(net.eval()), buffer)
    return _zip(path, {"net.pt": buffer.getvalue(), "spec.json": ONNX_SPEC})


def _zip(path: Path, members: dict) -> Path:
    import json

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data if isinstance(data, bytes) else json.dumps(data))
    return path


def container_archive(path: Path, script: str, masks: dict[str, bytes], monkeypatch) -> Path:
    """A busybox image (tests/docker_fixtures.py) whose layer also carries /masks/<case>.png."""
    import tests.docker_fixtures as images

    plain_layer = images.busybox_layer

    def layer_with_masks(script: str, passwd: str = images.PASSWD_DEFAULT) -> bytes:
        with tarfile.open(fileobj=io.BytesIO(plain_layer(script, passwd))) as base:
            entries = [(m, base.extractfile(m).read() if m.isfile() else None) for m in base]
        entries.append(images._dir("masks"))
        entries += [images._file(f"masks/{name}", data) for name, data in masks.items()]
        return images._tar_bytes(entries)

    monkeypatch.setattr(images, "busybox_layer", layer_with_masks)
    try:
        return images.write_image_archive(path, script)
    finally:
        monkeypatch.setattr(images, "busybox_layer", plain_layer)


def truth_masks(truth: Path) -> dict[str, bytes]:
    import cv2

    from evaluator.io.masks import read_label_map
    from evaluator.truth import TruthSet

    masks = {}
    for case in TruthSet.load(truth).cases:
        ok, data = cv2.imencode(".png", read_label_map(Path(case.label_path)).astype(np.uint8))
        assert ok
        masks[f"{case.case}.png"] = data.tobytes()
    return masks


# ------------------------------------------------------------------------------ HTTP helpers


class Participant:
    def __init__(self, base: str, username: str, team: str):
        self.base = base
        token = requests.post(
            f"{base}/api/token/",
            json={"username": username, "password": "pw-secret-123"},
            timeout=30,
        ).json()["token"]
        self.headers = {"Authorization": f"Token {token}"}
        joined = requests.post(
            f"{base}/api/challenges/fetal-head/join/",
            data={"team_name": team},
            headers=self.headers,
            timeout=30,
        )
        assert joined.status_code == 200, joined.text

    def submit(self, phase: Phase, path: Path, kind: str, **fields) -> requests.Response:
        with path.open("rb") as handle:
            return requests.post(
                f"{self.base}/api/submissions/",
                data={"phase": phase.pk, "kind": kind, **fields},
                files={"file": (path.name, handle)},
                headers=self.headers,
                timeout=60,
            )

    def run(self, phase: Phase, path: Path, kind: str, **fields) -> Submission:
        response = self.submit(phase, path, kind, **fields)
        assert response.status_code == 201, response.text
        return wait_for_status(response.json()["id"], timeout=120)


# ------------------------------------------------------------------------------ the test


def test_models_and_containers_run_score_and_rank(
    celery_worker, truth_with_images, make_user, make_challenge, live_server, tmp_path, monkeypatch
) -> None:
    pytest.importorskip("docker")
    from tests.docker_fixtures import docker_client_or_skip

    docker_client_or_skip()  # skips with a clear message when no daemon runs here
    _, phase = make_challenge(
        slug="fetal-head",
        daily_limit=0,
        allowed_kinds=["predictions", "model", "container"],
        inference_seconds=60,
    )
    call_command("load_truth", "fetal-head/test", str(truth_with_images), "--layout", "canonical")
    for name in ("onnx", "torch", "docker"):
        make_user(name)
    base = live_server.url
    onnx_team = Participant(base, "onnx", "ONNX team")
    torch_team = Participant(base, "torch", "TorchScript team")
    docker_team = Participant(base, "docker", "Container team")

    # Cheap refusals at upload: wrong file type for the kind, a zip without a spec.
    bad_zip = _zip(tmp_path / "nospec.zip", {"model.onnx": b"x"})
    refused = onnx_team.submit(phase, bad_zip, "model")
    assert refused.status_code == 400 and "exactly one .json spec" in refused.json()["detail"]
    refused = docker_team.submit(phase, bad_zip, "container")
    assert refused.status_code == 400 and "docker save" in refused.json()["detail"]

    # Hostile: an endless loop under a 3 s limit ends as a timeout, with its log.
    Phase.objects.filter(pk=phase.pk).update(inference_seconds=3)
    looping = container_archive(
        tmp_path / "loop.tar", "echo thinking forever\nwhile true; do :; done\n", {}, monkeypatch
    )
    failed = docker_team.run(phase, looping, "container")
    assert failed.status == Submission.Status.FAILED
    assert "ran past its time limit" in failed.status_detail, failed.status_detail
    assert failed.inference["status"] == "timeout"
    Phase.objects.filter(pk=phase.pk).update(inference_seconds=60)

    # Broken: exits non-zero; the participant gets the reason and the last log lines.
    crashing = container_archive(
        tmp_path / "crash.tar",
        "echo loading weights\necho 'no GPU found' >&2\nexit 3\n",
        {},
        monkeypatch,
    )
    failed = docker_team.run(phase, crashing, "container")
    assert failed.status == Submission.Status.FAILED
    assert "The model failed" in failed.status_detail, failed.status_detail
    assert "no GPU found" in failed.status_detail
    assert failed.inference["exit_code"] == 3

    # Broken: a "model" that is not ONNX is rejected clearly.
    not_onnx = _zip(tmp_path / "junk.zip", {"model.onnx": b"not a network", "spec.json": ONNX_SPEC})
    failed = onnx_team.run(phase, not_onnx, "model")
    assert failed.status == Submission.Status.FAILED
    assert "not a valid ONNX model" in failed.status_detail, failed.status_detail

    # The good ones, after all that: each is run, scored and ranked.
    onnx_sub = onnx_team.run(phase, onnx_bundle(tmp_path / "onnx.zip"), "model", params_total=7)
    assert onnx_sub.status == Submission.Status.DONE, onnx_sub.status_detail
    assert (onnx_sub.params_total, onnx_sub.params_source) == (2, "measured")
    assert onnx_sub.flops == 2 * 64 * 64 and onnx_sub.latency_ms is not None

    torch_sub = torch_team.run(phase, torchscript_bundle(tmp_path / "ts.zip"), "model")
    assert torch_sub.status == Submission.Status.DONE, torch_sub.status_detail
    assert (torch_sub.params_total, torch_sub.params_source) == (45, "measured")
    assert torch_sub.flops == 2 * 64 * 64 * (4 * 9 + 4) and torch_sub.latency_ms > 0

    perfect = container_archive(
        tmp_path / "model.tar",
        "echo copying masks\ncp /masks/*.png /output/\n",
        truth_masks(truth_with_images),
        monkeypatch,
    )
    docker_sub = docker_team.run(phase, perfect, "container", params_total=1234)
    assert docker_sub.status == Submission.Status.DONE, docker_sub.status_detail
    assert (docker_sub.params_total, docker_sub.params_source) == (1234, "declared")
    assert docker_sub.inference["status"] == "ok" and "copying masks" in str(
        docker_sub.inference["log_tail"]
    )

    board = requests.get(f"{base}/api/phases/{phase.pk}/leaderboard/", timeout=30).json()
    rows = {row["submission_id"]: row for row in board["rows"]}
    assert set(rows) == {onnx_sub.pk, torch_sub.pk, docker_sub.pk}
    assert rows[docker_sub.pk]["rank"] == 1  # the truth masks themselves
    assert rows[docker_sub.pk]["values"]["head.dice"]["mean"] == pytest.approx(1.0)
    assert rows[onnx_sub.pk]["params_total"] == 2
    assert rows[onnx_sub.pk]["params_source"] == "measured"
    assert rows[torch_sub.pk]["params_total"] == 45
    assert rows[docker_sub.pk]["params_source"] == "declared"
    # Nothing of the runs is left behind in the worker's scratch space. The task removes it
    # after scoring has set the status this test waited for, so give it a moment.
    scratch = Path(celery_worker).parent / "inference"
    deadline = time.monotonic() + 30
    while scratch.exists() and any(scratch.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not scratch.exists() or not any(scratch.iterdir())
