"""Fixtures of the sandbox's own tests: a run's cases and a folder it must never reach.

The Docker fixtures these tests share with tests/platform and tests/reference_models (the
daemon, busybox image archives, offline builds) are in tests/docker_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sandbox.inputs import Case


@pytest.fixture
def hidden_truth(tmp_path: Path) -> Path:
    """A labels folder that exists on the host during a run and must stay unreachable."""
    truth = tmp_path / "truth_SECRET_LABELS"
    truth.mkdir()
    (truth / "case1_Annotation.png").write_bytes(b"secret")
    return truth


@pytest.fixture
def sandbox_cases(tmp_path: Path) -> list[Case]:
    """Two tiny greyscale PNG cases for a run's /input."""
    images = tmp_path / "images"
    images.mkdir()
    cases = []
    for i, case_id in enumerate(("case1", "case2")):
        path = images / f"{case_id}.png"
        Image.fromarray((np.arange(64 * 48).reshape(48, 64) % 251 + i).astype("uint8")).save(path)
        cases.append(Case(case_id=case_id, image=path, spacing_mm=(0.1, 0.1)))
    return cases
