"""Build the only folder a participant's model ever sees: the test images plus inputs.json.

The runner is handed this folder and nothing else, which is how hidden labels stay hidden:
labels are never passed to `prepare_input`, so they cannot end up in /input by mistake.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INPUTS_JSON = "inputs.json"
IMAGE_SUFFIXES = (".nii.gz", ".png", ".mha", ".nii")
OUTPUT_SUFFIXES = (".png", ".mha", ".nii.gz")


@dataclass(frozen=True)
class Case:
    """One test image: `spacing_mm` is (x, y) = (column, row) pixel size in millimetres."""

    case_id: str
    image: Path
    spacing_mm: tuple[float, float]


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in IMAGE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{path.name}: unsupported image type (use {', '.join(IMAGE_SUFFIXES)})")


def prepare_input(cases: Iterable[Case], dest: Path) -> Path:
    """Copy the case images into a fresh `dest` as `<case_id><suffix>` and write inputs.json.

    Files are made world-readable because the container runs as an arbitrary non-root uid.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    listed = []
    seen: set[str] = set()
    for case in cases:
        if not case.case_id or "/" in case.case_id or case.case_id.startswith("."):
            raise ValueError(f"case id {case.case_id!r} cannot be a file name")
        if case.case_id in seen:
            raise ValueError(f"case id {case.case_id!r} appears twice")
        seen.add(case.case_id)
        name = case.case_id + _suffix(Path(case.image))
        target = dest / name
        shutil.copyfile(case.image, target)
        target.chmod(0o644)
        listed.append(
            {
                "case_id": case.case_id,
                "file": name,
                "spacing_mm": [float(case.spacing_mm[0]), float(case.spacing_mm[1])],
            }
        )
    document = {
        "version": 1,
        "cases": listed,
        "output": {"folder": "/output", "name": "<case_id><suffix>", "suffixes": OUTPUT_SUFFIXES},
    }
    (dest / INPUTS_JSON).write_text(json.dumps(document, indent=2))
    (dest / INPUTS_JSON).chmod(0o644)
    dest.chmod(0o755)
    return dest
