"""MetaImage and NIfTI files read only their own bytes (issue 9, items 1, 15 and 20).

A `.mha` header may name any file as its pixel data (`ElementDataFile = /path`, with
`HeaderSize = -1` for "the last bytes of it"); ITK follows it, which let an upload of headers
read the hidden labels and score Dice 1.0. These tests hold the decoder to "only data inside
the file itself": pointers are refused with a message, and a FIFO proves that nothing even
opens the target (opening a FIFO for reading blocks until a writer comes).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from evaluator.io.masks import MaskReadError, read_image, read_label_map, read_label_shape

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _header(data_file: str, *, header_size: str | None = "-1", dims: str = "8 8") -> bytes:
    lines = [
        "ObjectType = Image",
        "NDims = 2",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        "CompressedData = False",
        f"DimSize = {dims}",
        "ElementType = MET_UCHAR",
    ]
    if header_size is not None:
        lines.append(f"HeaderSize = {header_size}")
    lines.append(f"ElementDataFile = {data_file}")
    return ("\n".join(lines) + "\n").encode()


def _read_within(path: Path, seconds: float = 10.0):
    """read_label_map(path) in a thread: a hang (an opened FIFO) fails instead of blocking."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = read_label_map(path)
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"reading {path.name} opened the file its header names"
    return outcome


@pytest.mark.parametrize(
    "target",
    ["/dev/zero", "/dev/urandom", "/proc/self/environ", "/etc/passwd", "LIST", "other.raw"],
)
def test_pointer_headers_are_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "other.raw").write_bytes(bytes(64))
    path = tmp_path / "001_HC.mha"
    path.write_bytes(_header(target))
    outcome = _read_within(path)
    error = outcome.get("error")
    assert isinstance(error, MaskReadError), outcome
    assert error.code == "external_data"
    assert "ElementDataFile = LOCAL" in str(error) and "001_HC.mha" in str(error)


def test_pointer_at_the_hidden_label_is_refused_without_opening_it(tmp_path: Path) -> None:
    truth = tmp_path / "truth"
    truth.mkdir()
    label = np.zeros((8, 8), np.uint8)
    label[2:6, 2:6] = 1
    sitk.WriteImage(sitk.GetImageFromArray(label), str(truth / "001_HC.nii"))
    # What the attack scored with: the last 64 bytes of the truth file are its pixels.
    attack = tmp_path / "upload" / "001_HC.mha"
    attack.parent.mkdir()
    attack.write_bytes(_header(str(truth / "001_HC.nii")))
    with pytest.raises(MaskReadError) as info:
        read_label_map(attack)
    assert info.value.code == "external_data"
    assert str(truth) not in str(info.value)  # the message never echoes a server path
    # The proof that nothing opens the target: a FIFO in its place would block any reader.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    attack.write_bytes(_header(str(fifo)))
    assert isinstance(_read_within(attack).get("error"), MaskReadError)
    with pytest.raises(MaskReadError):
        read_label_shape(attack)


def test_pointer_header_in_a_three_d_or_image_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "img.mha"
    path.write_bytes(_header("/dev/zero", dims="8 8"))
    with pytest.raises(MaskReadError) as info:
        read_image(path)
    assert info.value.code == "external_data"


def test_local_data_at_the_end_of_the_file_is_read(tmp_path: Path) -> None:
    values = (np.arange(64) % 3).astype(np.uint8).reshape(8, 8)
    path = tmp_path / "001_HC.mha"
    path.write_bytes(_header("LOCAL") + values.tobytes())
    assert np.array_equal(read_label_map(path), values)


def test_huge_declared_sizes_and_truncations_are_refused(tmp_path: Path) -> None:
    huge = tmp_path / "huge.mha"
    huge.write_bytes(_header("LOCAL", dims="1000000000 1000000000") + bytes(10))
    with pytest.raises(MaskReadError) as info:
        read_label_map(huge)
    assert info.value.code == "wrong_shape"
    short = tmp_path / "short.mha"
    short.write_bytes(_header("LOCAL", header_size=None) + bytes(10))
    with pytest.raises(MaskReadError, match="truncated"):
        read_label_map(short)
    endless = tmp_path / "endless.mha"
    endless.write_bytes(b"ObjectType = Image\n" + b"Comment = " + b"x" * 200_000 + b"\n")
    with pytest.raises(MaskReadError, match="not a MetaImage file"):
        read_label_map(endless)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.float32]
)
def test_decoding_equals_itk_on_files_itk_writes(tmp_path: Path, dtype, compress: bool) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 4, size=(37, 53)).astype(dtype)
    path = tmp_path / "m.mha"
    sitk.WriteImage(sitk.GetImageFromArray(values), str(path), useCompression=compress)
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    got = read_label_map(path)
    assert np.array_equal(got, expected)


def test_upper_case_suffixes_decode(tmp_path: Path) -> None:
    values = (np.arange(12 * 9) % 2).astype(np.uint8).reshape(12, 9)
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / "a.mha"))
    shutil.copy(tmp_path / "a.mha", tmp_path / "001_HC.MHA")
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / "b.nii.gz"))
    shutil.copy(tmp_path / "b.nii.gz", tmp_path / "002_HC.NII.GZ")
    assert np.array_equal(read_label_map(tmp_path / "001_HC.MHA"), values)
    assert np.array_equal(read_label_map(tmp_path / "002_HC.NII.GZ"), values)
    assert read_label_shape(tmp_path / "001_HC.MHA") == (12, 9)


def test_colour_metaimage_is_refused_as_a_label_and_greyed_as_an_image(tmp_path: Path) -> None:
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = 200
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(tmp_path / "c.mha"))
    with pytest.raises(MaskReadError) as info:
        read_label_map(tmp_path / "c.mha")
    assert info.value.code == "rgb"
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "c.mha")))
    assert read_image(tmp_path / "c.mha").shape == expected.shape[:2]


def test_real_psfhs_files_decode_as_itk_does() -> None:
    labels = sorted((DATA / "psfhs" / "label_mha").glob("*.mha"))[:5]
    images = sorted((DATA / "psfhs" / "image_mha").glob("*.mha"))[:5]
    if not labels or not images:
        pytest.skip(f"real PSFHS data not found under {DATA}")
    for path in labels:
        expected = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).squeeze()
        assert np.array_equal(read_label_map(path), expected)
    for path in images:
        planes = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
        assert np.array_equal(read_image(path), planes[0])


def test_nifti_pairs_and_analyze_headers_are_refused(tmp_path: Path) -> None:
    values = np.ones((8, 8), np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / "one.nii"))
    data = bytearray((tmp_path / "one.nii").read_bytes())
    data[344:348] = b"ni1\0"  # "my pixels are in one.img"
    (tmp_path / "one.img").write_bytes(bytes(64))
    (tmp_path / "001_HC.nii").write_bytes(bytes(data))
    with pytest.raises(MaskReadError) as info:
        read_label_map(tmp_path / "001_HC.nii")
    assert info.value.code == "external_data"
    data[344:348] = b"\0\0\0\0"  # Analyze 7.5: no magic at all, pixels in a .img
    (tmp_path / "002_HC.nii").write_bytes(bytes(data))
    with pytest.raises(MaskReadError):
        read_label_map(tmp_path / "002_HC.nii")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_non_finite_nifti_voxels_are_refused(tmp_path: Path, bad: float, suffix: str) -> None:
    for dtype in (np.float32, np.float64):
        values = np.zeros((8, 8), dtype)
        values[4, 4] = bad
        path = tmp_path / f"001_HC{suffix}"
        sitk.WriteImage(sitk.GetImageFromArray(values), str(path))
        with pytest.raises(MaskReadError) as info:
            read_label_map(path)
        assert info.value.code == "not_integer"
        assert "NaN or infinite" in str(info.value)
