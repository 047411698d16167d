"""Segmentation metrics (exact against medpy 0.5.2), surface distances and biometry.

The distance and outline kernels are compiled with numba and cached on disk; `warm_up`
loads them (or compiles them, the first time on a machine) so that a process can pay that
once before it forks scoring workers, which then inherit the compiled code.

May import: `evaluator.geometry` and its own modules; nothing else of the evaluator.
"""

from __future__ import annotations


def warm_up() -> None:
    """Load (or compile) every compiled kernel by scoring and measuring a tiny mask.

    About 0.3-0.5 s from numba's on-disk cache, several seconds when nothing is cached yet.
    NSD and Boundary IoU are warmed too, although only tasks that list them use them: a worker
    serves every task, and their first call would otherwise load (or compile, about 14 s)
    their kernels in the middle of a submission.
    """
    import numpy as np

    # Deferred: this package's __init__ runs for every `evaluator.metrics.<module>` import, and
    # these would load numba and OpenCV there (segmentation.py alone needs only NumPy).
    from evaluator.metrics import biometry, boundary_iou, segmentation, surface_dice

    mask = np.zeros((12, 12), dtype=bool)
    mask[3:9, 2:10] = True
    segmentation.score_class(mask, np.roll(mask, 1, axis=0), (1.0, 1.0))
    biometry.head_circumference_mm(mask, (1.0, 1.0))
    biometry.femur_length_mm(mask, (1.0, 1.0))
    surface_dice.surface_dice(mask, np.roll(mask, 1, axis=1), (1.0, 1.0), 1.0)
    boundary_iou.boundary_iou(mask, np.roll(mask, 1, axis=1), (1.0, 1.0), 1.0)
