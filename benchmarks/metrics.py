"""Benchmark: fetalbench's score_class against medpy 0.5.2 on real HC18 and PSFHS cases.

    python benchmarks/metrics.py [--n 50] [--repeat 3]

Each case's reference (HC18: the filled annotation ellipse; PSFHS: classes 1 and 2) is scored
against a perturbed copy (shifts, dilation, erosion, holes, stray blobs, border cuts, in turn).
medpy computes dc + hd + hd95 + assd per class, fetalbench all seven metrics per class. Times are
the best of `--repeat` passes over the same cases, reported per case (all classes of a case),
with the time to merely decode the case's image and label files for comparison. The largest
difference between the two engines on the shared metrics is printed as a correctness check.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import SimpleITK as sitk  # noqa: E402
from medpy.metric import binary as medpy_binary  # noqa: E402
from PIL import Image  # noqa: E402

from evaluator.metrics.perturbations import PERTURBATIONS  # noqa: E402
from evaluator.metrics.segmentation import score_class  # noqa: E402
from tests.evaluator.conftest import (  # noqa: E402
    DATA_ROOT,
    HC18_CSV,
    hc18_head_mask,
    psfhs_label_paths,
    read_hc18_cases,
    read_psfhs_label,
)

# (prediction, reference, spacing) triples of one case, one per class.
Case = list[tuple[np.ndarray, np.ndarray, tuple[float, float]]]


def evenly_spaced(items: list, count: int) -> list:
    step = max(1, len(items) // count)
    return items[::step][:count]


def perturb(reference: np.ndarray, index: int) -> np.ndarray:
    """The index-th perturbation in turn, so every kind of error is in the mix."""
    perturbations = list(PERTURBATIONS.values())[1:]  # leave out identity: too easy
    return perturbations[index % len(perturbations)](reference)


def hc18_cases(n: int) -> tuple[list[Case], list[tuple[Path, ...]]]:
    cases, files = [], []
    for index, case in enumerate(evenly_spaced(read_hc18_cases(), n)):
        reference = hc18_head_mask(case)
        spacing = (case.pixel_mm, case.pixel_mm)
        cases.append([(perturb(reference, index), reference, spacing)])
        image = case.annotation_path.with_name(case.name)
        files.append((image, case.annotation_path))
    return cases, files


def psfhs_cases(n: int) -> tuple[list[Case], list[tuple[Path, ...]]]:
    cases, files = [], []
    for index, path in enumerate(evenly_spaced(psfhs_label_paths(), n)):
        label = read_psfhs_label(path)
        classes = []
        for class_id in (1, 2):
            reference = label == class_id
            classes.append((perturb(reference, index + class_id), reference, (1.0, 1.0)))
        cases.append(classes)
        files.append((path.parent.parent / "image_mha" / path.name, path))
    return cases, files


def medpy_case(case: Case) -> list[dict[str, float]]:
    return [
        {
            "dice": medpy_binary.dc(pred, ref),
            "hd": medpy_binary.hd(pred, ref, spacing),
            "hd95": medpy_binary.hd95(pred, ref, spacing),
            "assd": medpy_binary.assd(pred, ref, spacing),
        }
        for pred, ref, spacing in case
    ]


def fetalbench_case(case: Case) -> list[dict[str, float]]:
    return [score_class(pred, ref, spacing).metrics for pred, ref, spacing in case]


def decode_files(files: tuple[Path, ...]) -> None:
    for path in files:
        if path.suffix == ".png":
            np.asarray(Image.open(path))
        else:
            sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def best_ms_per_case(function: Callable, items: list, repeat: int) -> tuple[float, list]:
    """Best-of-`repeat` wall time of one pass over the items, in ms per item; last results."""
    best, results = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        results = [function(item) for item in items]
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1000.0, results


def largest_difference(medpy_results: list, fast_results: list) -> float:
    return max(
        abs(expected[name] - got[name])
        for medpy_case_scores, fast_case_scores in zip(medpy_results, fast_results, strict=True)
        for expected, got in zip(medpy_case_scores, fast_case_scores, strict=True)
        for name in expected
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="cases per dataset (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best counts")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    if not HC18_CSV.exists() or not psfhs_label_paths():
        print(f"error: HC18/PSFHS data not found under {DATA_ROOT}", file=sys.stderr)
        return 2

    header = (
        f"{'dataset':<8} {'cases':>5} {'classes':>7} {'decode ms':>10} "
        f"{'medpy ms':>10} {'fetalbench ms':>14} {'speed-up':>9} {'max |diff|':>11}"
    )
    print(header)
    print("-" * len(header))
    for dataset, loader in (("HC18", hc18_cases), ("PSFHS", psfhs_cases)):
        cases, files = loader(args.n)
        decode_ms, _ = best_ms_per_case(decode_files, files, args.repeat)
        medpy_ms, medpy_results = best_ms_per_case(medpy_case, cases, args.repeat)
        fast_ms, fast_results = best_ms_per_case(fetalbench_case, cases, args.repeat)
        difference = largest_difference(medpy_results, fast_results)
        print(
            f"{dataset:<8} {len(cases):>5} {len(cases[0]):>7} {decode_ms:>10.3f} "
            f"{medpy_ms:>10.3f} {fast_ms:>14.3f} {medpy_ms / fast_ms:>8.1f}x {difference:>11.1e}"
        )
    print("\nms per case (all classes of a case); medpy: dc+hd+hd95+assd, fetalbench: 7 metrics")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
