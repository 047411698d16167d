"""Benchmark: what running a model submission costs the platform, next to the model's own work.

    python benchmarks/inference.py [--cases 20] [--compute 1.0] [--size 256] [--threads 2]

(1) Container runs (needs the Docker daemon and /bin/busybox): a busybox "model" that sleeps
    `--compute` seconds (its own compute time) and copies a mask per case. Timed per stage:
    validate + load the `docker save` archive, run (create, start, copy in, wait, copy out,
    remove the container), remove the image. Platform overhead = everything but the sleep; the
    same is printed for a zero-compute container as the anchor.
(2) Model files on CPU (GPU with --gpu where torch/onnxruntime see one): a small conv net
    (3 conv layers, 16 channels) at `--size`, as a torch.export program (pt2), ONNX and
    TorchScript, through the platform's one runner (`run_model_file`) on `--cases` synthetic
    images. Reports images/s end to end (child process start, model load, measurement,
    resizing, PNG writing) and images/s of the forward pass alone (1000 / median latency), and
    their ratio; the last column is each format's end-to-end speed relative to ONNX (the
    anchor) in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not this script's own folder: a benchmark named like a standard-library module would shadow
# it for everything this script imports (benchmarks/board_statistics.py was once statistics.py).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def _cases(folder: Path, n: int) -> list:
    import numpy as np
    from PIL import Image
    from sandbox.inputs import Case

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    cases = []
    for i in range(n):
        path = folder / f"case{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (540, 800), dtype=np.uint8)).save(path)
        cases.append(Case(f"case{i:03d}", path, (0.1, 0.1)))
    return cases


def bench_containers(work: Path, cases: list, compute: float) -> None:
    from sandbox.containers.backend import docker_client
    from sandbox.containers.images import load_image, remove_image, validate_archive
    from sandbox.containers.run import run_container
    from sandbox.inputs import prepare_input
    from sandbox.limits import SandboxLimits

    from tests.docker_fixtures import write_image_archive

    client = docker_client()
    input_dir = prepare_input(cases, work / "container-input")
    limits = SandboxLimits(wall_seconds=120, memory_bytes=256 * 1024**2, nano_cpus=1_000_000_000)
    print(f"\n(1) container runs, {len(cases)} cases")
    print(f"{'model compute':>14} {'load':>8} {'run':>8} {'cleanup':>8} {'overhead':>9}")
    for seconds in (0.0, compute):
        script = f"sleep {seconds:g}\nfor f in /input/*.png; do cp $f /output/; done\n"
        archive = write_image_archive(work / f"model-{seconds:g}.tar", script)
        scratch = Path(tempfile.mkdtemp(dir=work))
        t0 = time.perf_counter()
        image = validate_archive(archive, scratch)
        reference = load_image(client, image)
        t1 = time.perf_counter()
        outcome = run_container(
            client,
            reference,
            input_dir,
            work / f"out-{seconds:g}",
            run_as=image.run_as,
            limits=limits,
            scratch_dir=work,
        )
        t2 = time.perf_counter()
        remove_image(client, reference)
        t3 = time.perf_counter()
        assert outcome.ok, outcome.to_dict()
        overhead = (t3 - t0) - seconds
        print(
            f"{seconds:>13.2f}s {t1 - t0:>7.2f}s {t2 - t1:>7.2f}s {t3 - t2:>7.2f}s "
            f"{overhead:>8.2f}s"
        )


def _models(work: Path, size: int) -> dict[str, Path]:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 1, 1),
    ).eval()
    example = torch.zeros(1, 1, size, size)
    onnx_path = work / "net.onnx"
    buffer = io.BytesIO()
    torch.onnx.export(net, example, buffer, dynamo=False, opset_version=17)
    onnx_path.write_bytes(buffer.getvalue())
    pt2 = work / "net.pt2"
    with torch.no_grad():
        torch.export.save(torch.export.export(net, (example,)), str(pt2))
    ts = work / "net.pt"
    torch.jit.save(torch.jit.script(net), str(ts))
    return {"onnx": onnx_path, "pt2": pt2, "torchscript": ts}


def bench_model_files(work: Path, cases: list, size: int, threads: int, gpu: bool) -> None:
    from sandbox.inputs import prepare_input
    from sandbox.model_files.process import ModelLimits, run_model_file

    input_dir = prepare_input(cases, work / "model-input")
    spec = {"input_size": [size, size]}
    limits = ModelLimits(wall_seconds=600, threads=threads, use_gpu=gpu)
    print(f"\n(2) model files, {len(cases)} cases at {size}x{size}, {threads} thread(s)")
    print(
        f"{'format':>12} {'params':>8} {'GFLOPs':>7} {'img/s e2e':>10} {'img/s fwd':>10} "
        f"{'fwd/e2e':>8} {'e2e/onnx':>9}"
    )
    anchor = None
    for name, path in _models(work, size).items():
        outcome = run_model_file(name, path, spec, input_dir, work / f"out-{name}", limits)
        assert outcome.ok, outcome.to_dict()
        d = outcome.details
        e2e = len(cases) / outcome.wall_seconds
        fwd = 1000 / d["median_latency_ms"]
        anchor = anchor or e2e  # ONNX comes first
        print(
            f"{name:>12} {d['parameters']:>8} {(d['flops'] or 0) / 1e9:>7.2f} {e2e:>10.1f} "
            f"{fwd:>10.1f} {fwd / e2e:>8.1f} {e2e / anchor:>9.2f}"
        )
    print(json.dumps({"device": "cuda" if gpu else "cpu"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--compute", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--skip-containers", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fetalbench-bench-") as tmp:
        work = Path(tmp)
        cases = _cases(work / "images", args.cases)
        if not args.skip_containers:
            bench_containers(work, cases, args.compute)
        bench_model_files(work, cases, args.size, args.threads, args.gpu)


if __name__ == "__main__":
    main()
