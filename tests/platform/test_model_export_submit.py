"""The exporter-to-leaderboard journey (issue 10 item 11): a unet-tiny trained on real HC18 and
PSFHS images, exported by `python -m reference_models export` as torch.export (pt2), ONNX and
TorchScript, each zip sent as it is with `python -m fetalbench submit --kind model`, run by a
real Celery worker in the sandboxed model-file runner and scored on real truth. Each ends done
with the model's exact parameter count measured, FLOPs and a latency; the pt2 and ONNX files
segment the hidden images alike; the submission page shows the measurements in a browser.

Fails before the fix: export wrote a spec the uploader refused ("unknown field(s) ...") and
no .pt2 format existed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from challenges.models import Challenge, Phase, Submission
from django.core.management import call_command

from fetalbench.api import Client
from tests.platform.test_inference_e2e import truth_with_images  # noqa: F401 - a fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("pt2", "onnx", "torchscript")
CHROMIUM = "/usr/bin/chromium"


def _run(module: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def real_truth(truth_with_images: Path) -> Path:  # noqa: F811 - the imported fixture
    """The real two-site head truth set with its images (HC18 PNGs, PSFHS MetaImages)."""
    return truth_with_images


@pytest.fixture
def trained(real_truth: Path, tmp_path: Path) -> tuple[Path, int]:
    """A unet-tiny checkpoint trained briefly on the real truth set, and its parameter count."""
    from reference_models.cli import main
    from reference_models.nets.zoo import count_parameters
    from reference_models.training.checkpoints import model_from_checkpoint

    status = main(
        ["train", "--config", "cpu_quick", "--model", "unet-tiny", "--strategy", "scratch"]
        + ["--data", str(real_truth), "--out", str(tmp_path / "run"), "--size", "64"]
        + ["--batch-size", "8", "--epochs", "100", "--max-steps", "80", "--lr", "3e-3"]
        + ["--seed", "0", "--threads", "1", "--no-progress"]
    )
    assert status == 0
    checkpoint = tmp_path / "run" / "model.pt"
    model, _ = model_from_checkpoint(checkpoint)
    return checkpoint, count_parameters(model)


def test_exported_models_go_in_through_the_cli(
    celery_worker, live_server, make_user, trained, real_truth, tmp_path
) -> None:
    checkpoint, n_parameters = trained
    challenge = Challenge.objects.create(slug="exported", title="Exported", task_name="hc18")
    phase = Phase.objects.create(
        challenge=challenge,
        slug="test",
        title="Test",
        allowed_kinds=["model"],
        daily_limit=0,
        inference_seconds=120,
    )
    call_command("load_truth", "exported/test", str(real_truth), "--layout", "canonical")
    make_user("exporter", password="exporter-secret-1")

    # The exporter runs on its own, as a participant would (no platform/ on the path).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FETALBENCH_TOKEN")}
    env.update(FETALBENCH_URL=live_server.url, FETALBENCH_CONFIG=str(tmp_path / "cfg.json"))
    out = tmp_path / "export"
    done = _run(
        "reference_models", "export", "--checkpoint", str(checkpoint), "--out", str(out),
        "--format", *FORMATS, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env["PYTHONPATH"] = str(ROOT)
    for step in (["login", "-u", "exporter", "-p", "exporter-secret-1"],
                 ["team", "create", "exported", "Exporters"]):  # fmt: skip
        done = _run("fetalbench", *step, env=env)
        assert done.returncode == 0, done.stderr

    # Forgetting --kind model is refused before the upload is sent.
    done = _run(
        "fetalbench", "submit", "--phase", str(phase.pk), str(out / "model-pt2.zip"),
        "--method", "no kind", env=env,
    )  # fmt: skip
    assert done.returncode == 2 and "not predictions (nothing was uploaded)" in done.stderr
    assert not Submission.objects.exists()

    ids = {}
    for fmt in FORMATS:
        done = _run(
            "fetalbench", "submit", "--phase", str(phase.pk), "--kind", "model",
            str(out / f"model-{fmt}.zip"), "--method", f"unet-tiny {fmt}", "--wait", env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        sub = Submission.objects.get(method_name=f"unet-tiny {fmt}")
        assert sub.status == "done", (fmt, sub.status_detail)
        assert sub.kind == "model" and sub.inference["details"]["format"] == fmt
        assert sub.params_source == "measured" and sub.params_total == n_parameters, fmt
        assert sub.flops and sub.flops > 0 and sub.latency_ms and sub.latency_ms > 0, fmt
        ids[fmt] = sub.pk
    flops = {Submission.objects.get(pk=pk).flops for pk in ids.values()}
    assert len(flops) == 1  # one network, one count, whatever the format

    # The torch.export program and the ONNX file segment the hidden images alike.
    client = Client(url=live_server.url, token=Client(url=live_server.url).login(
        "exporter", "exporter-secret-1"))  # fmt: skip
    dice = {}
    for fmt in ("pt2", "onnx"):
        cases = client.submission_cases(ids[fmt])["cases"]
        dice[fmt] = {c["case"]: _dice(c["metrics"]) for c in cases}
    assert len(dice["pt2"]) >= 6 and dice["pt2"].keys() == dice["onnx"].keys()
    assert max(dice["pt2"].values()) > 0.3, dice  # it does segment heads: not empty masks
    for case, value in dice["pt2"].items():
        assert abs(value - dice["onnx"][case]) < 1e-3, (case, value, dice["onnx"][case])

    _submission_page_shows_measurements(live_server.url, ids["pt2"], n_parameters)


def _dice(metrics: dict) -> float:
    """The head Dice of one case's metrics, whichever nesting the API uses."""
    if "dice" in metrics:
        return float(metrics["dice"])
    (head,) = [v for v in metrics.values() if isinstance(v, dict) and "dice" in v]
    return float(head["dice"])


def _submission_page_shows_measurements(base: str, submission_id: int, n_parameters: int):
    """The owner's submission page, in Chromium: measured parameters, FLOPs and latency."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium); API checks passed")
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread
    sub = Submission.objects.get(pk=submission_id)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/accounts/login/?next=/submissions/{submission_id}/")
            page.fill("#id_username", "exporter")
            page.fill("#id_password", "exporter-secret-1")
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"**/submissions/{submission_id}/")
            params = page.inner_text("#measured-params")
            assert f"{n_parameters / 1e3:.3g}k" in params and "measured" in params, params
            flops = page.inner_text("#flops")
            assert f"{sub.flops / 1e6:.3g} MFLOPs" in flops, flops
            latency = page.inner_text("#latency")
            assert f"{sub.latency_ms:.3g} ms" in latency, latency
            shots = ROOT / "test-artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "exported-model-submission.png"), full_page=True)
        finally:
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
