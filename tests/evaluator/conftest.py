"""Shared fixtures for the evaluator tests (shared file: add fixtures, never remove them)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real HC18/PSFHS data next to the repository; skips when it is absent."""
    if not (DATA / "hc18" / "training_set").is_dir() or not (DATA / "psfhs" / "label_mha").is_dir():
        pytest.skip(f"real data not found at {DATA} (see the project README)")
    return DATA


@pytest.fixture(scope="session")
def hc18_truth(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """All 402 real HC18 cases imported once per session (takes a few seconds)."""
    from evaluator.importers.hc18 import import_hc18

    return import_hc18(shared_data / "hc18", tmp_path_factory.mktemp("hc18"), progress=False)


@pytest.fixture(scope="session")
def psfhs_truth(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """All 300 real PSFHS cases imported once per session."""
    from evaluator.importers.psfhs import import_psfhs

    return import_psfhs(shared_data / "psfhs", tmp_path_factory.mktemp("psfhs"), progress=False)
