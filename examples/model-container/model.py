"""A minimal fetalbench model: threshold segmentation, for showing the container contract.

Reads /input/inputs.json, segments every case (pixels brighter than the image's mean plus
one standard deviation become label 1... a toy, not a method), and writes /output/<case_id>.png.
Standard library + numpy + Pillow only. MetaImage (.mha) inputs are read by a tiny reader
below (raw or zlib-compressed, 8-bit), so the image needs no SimpleITK.
"""

import json
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

INPUT = Path("/input")
OUTPUT = Path("/output")


def read_mha(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    header_end = raw.index(b"ElementDataFile")
    line_end = raw.index(b"\n", header_end) + 1
    header = dict(
        line.split(" = ", 1) for line in raw[:line_end].decode().splitlines() if " = " in line
    )
    dims = [int(v) for v in header["DimSize"].split()]
    data = raw[line_end:]
    if header.get("CompressedData", "False") == "True":
        data = zlib.decompress(data)
    if header.get("ElementType") != "MET_UCHAR":
        raise ValueError(f"{path.name}: only 8-bit MetaImages are supported by this example")
    channels = int(header.get("ElementNumberOfChannels", "1"))
    arr = np.frombuffer(data, np.uint8).reshape(
        list(reversed(dims)) + ([channels] if channels > 1 else [])
    )
    while arr.ndim > 2:  # (planes, H, W) or (H, W, channels): keep the first grey plane
        arr = arr[0] if arr.shape[0] <= 4 else arr[..., 0]
    return arr


def read_image(path: Path) -> np.ndarray:
    if path.name.lower().endswith(".mha"):
        return read_mha(path)
    return np.asarray(Image.open(path).convert("L"))


def main() -> int:
    cases = json.loads((INPUT / "inputs.json").read_text())["cases"]
    for case in cases:
        image = read_image(INPUT / case["file"]).astype(np.float32)
        mask = (image > image.mean() + image.std()).astype(np.uint8)
        Image.fromarray(mask).save(OUTPUT / f"{case['case_id']}.png")
        print(f"{case['case_id']}: {int(mask.sum())} foreground pixels", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
