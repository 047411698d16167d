"""Label-map and image reading/writing on real files in every supported format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from evaluator.io.masks import (
    SUPPORTED_SUFFIXES,
    MaskReadError,
    case_id_from_path,
    read_image,
    read_label_map,
    read_label_shape,
    write_label_map,
)


def _labels(shape=(37, 53)) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 3, size=shape).astype(np.uint8)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("012_HC.nii.gz", "012_HC"),
        ("a/b/012_HC.png", "012_HC"),
        ("03744.mha", "03744"),
        ("x.y.nii", "x.y"),
        ("CASE.PNG", "CASE"),
        ("012_HC.jpg", None),
        ("notes.txt", None),
        (".nii.gz", None),
    ],
)
def test_case_id_from_path(name: str, expected: str | None) -> None:
    assert case_id_from_path(Path(name)) == expected


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_every_format_round_trips(tmp_path: Path, suffix: str) -> None:
    labels = _labels()
    path = tmp_path / f"case{suffix}"
    write_label_map(path, labels, spacing=(0.5, 0.25))
    back = read_label_map(path)
    assert back.shape == labels.shape
    assert np.issubdtype(back.dtype, np.integer)
    assert np.array_equal(back, labels)
    assert read_label_shape(path) == labels.shape


def test_itk_formats_keep_spacing_in_xy_order(tmp_path: Path) -> None:
    path = tmp_path / "case.mha"
    write_label_map(path, _labels(), spacing=(0.5, 0.25))  # (row_mm, col_mm)
    assert sitk.ReadImage(str(path)).GetSpacing() == (0.25, 0.5)


def test_wide_values_round_trip_as_16_bit_png(tmp_path: Path) -> None:
    labels = np.array([[0, 300], [1000, 2]], dtype=np.uint16)
    write_label_map(tmp_path / "w.png", labels)
    assert np.array_equal(read_label_map(tmp_path / "w.png"), labels)


def test_singleton_axes_are_squeezed(tmp_path: Path) -> None:
    labels = _labels()
    sitk.WriteImage(sitk.GetImageFromArray(labels[None]), str(tmp_path / "one.nii.gz"))
    assert np.array_equal(read_label_map(tmp_path / "one.nii.gz"), labels)
    assert read_label_shape(tmp_path / "one.nii.gz") == labels.shape


def test_palette_png_gives_class_indices(tmp_path: Path) -> None:
    labels = _labels()
    im = Image.fromarray(labels, mode="P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])  # black, red, green
    im.save(tmp_path / "p.png")
    assert np.array_equal(read_label_map(tmp_path / "p.png"), labels)


def test_whole_float_values_are_accepted(tmp_path: Path) -> None:
    labels = _labels().astype(np.float32)
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(tmp_path / "f.nii.gz"))
    back = read_label_map(tmp_path / "f.nii.gz")
    assert back.dtype == np.uint8 and np.array_equal(back, labels)


def _expect(path: Path, code: str, words: str) -> None:
    with pytest.raises(MaskReadError) as info:
        read_label_map(path)
    assert info.value.code == code
    assert words in str(info.value)
    assert "Traceback" not in str(info.value) and "itk::" not in str(info.value)


def test_rgb_png_is_rejected(tmp_path: Path) -> None:
    rgb = np.stack([_labels()] * 3, axis=-1)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "rgb.png")
    _expect(tmp_path / "rgb.png", "rgb", "RGB image where a label map is expected")


def test_rgba_and_grey_alpha_pngs_are_rejected(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4, 4), np.uint8), mode="RGBA").save(tmp_path / "a.png")
    _expect(tmp_path / "a.png", "rgb", "label map is expected")
    Image.fromarray(np.zeros((4, 4), np.uint8), mode="L").convert("LA").save(tmp_path / "la.png")
    _expect(tmp_path / "la.png", "rgb", "label map is expected")


def test_16_bit_rgb_png_is_rejected(tmp_path: Path) -> None:
    # A 16-bit-per-channel colour PNG, written by OpenCV (Pillow cannot write one).
    import cv2

    cv2.imwrite(str(tmp_path / "rgb16.png"), np.zeros((5, 6, 3), np.uint16))
    with pytest.raises(MaskReadError) as info:
        read_label_map(tmp_path / "rgb16.png")
    assert info.value.code in ("rgb", "unreadable")


def test_non_integer_mha_is_rejected(tmp_path: Path) -> None:
    probs = np.full((8, 8), 0.25, dtype=np.float32)
    sitk.WriteImage(sitk.GetImageFromArray(probs), str(tmp_path / "p.mha"))
    _expect(tmp_path / "p.mha", "not_integer", "non-integer values (e.g. 0.25)")


def test_nan_is_rejected(tmp_path: Path) -> None:
    values = np.zeros((8, 8), dtype=np.float64)
    values[0, 0] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / "n.mha"))
    _expect(tmp_path / "n.mha", "not_integer", "NaN")


def test_3d_volume_is_rejected(tmp_path: Path) -> None:
    volume = np.zeros((4, 8, 8), dtype=np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(volume), str(tmp_path / "v.nii.gz"))
    _expect(tmp_path / "v.nii.gz", "wrong_shape", "3-D volume of shape (4, 8, 8)")
    with pytest.raises(MaskReadError):
        read_label_shape(tmp_path / "v.nii.gz")


def test_vector_mha_is_rejected(tmp_path: Path) -> None:
    vec = sitk.GetImageFromArray(np.zeros((8, 8, 3), np.uint8), isVector=True)
    sitk.WriteImage(vec, str(tmp_path / "vec.mha"))
    _expect(tmp_path / "vec.mha", "rgb", "3 components per pixel")


def test_truncated_png_is_rejected(tmp_path: Path) -> None:
    write_label_map(tmp_path / "full.png", np.random.default_rng(1).integers(0, 255, (200, 200)))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _expect(tmp_path / "cut.png", "unreadable", "cannot decode PNG")


def test_garbage_and_wrong_content_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "junk.png").write_bytes(b"this is not a png")
    _expect(tmp_path / "junk.png", "unreadable", "cannot decode PNG")
    (tmp_path / "junk.nii.gz").write_bytes(b"\x1f\x8b garbage")
    _expect(tmp_path / "junk.nii.gz", "unreadable", "cannot decode junk.nii.gz")
    (tmp_path / "junk.mha").write_bytes(b"ObjectType = Image\nNDims = 2\n")
    _expect(tmp_path / "junk.mha", "unreadable", "not a valid MetaImage file")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "jpeg.png", format="JPEG")
    _expect(tmp_path / "jpeg.png", "unreadable", "not a PNG file (looks like JPEG)")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mha"])
def test_truncated_itk_files_are_rejected(tmp_path: Path, suffix: str) -> None:
    # ITK reads truncated NIfTI without complaint, padding the missing voxels.
    labels = np.random.default_rng(2).integers(0, 3, (300, 300)).astype(np.uint8)
    write_label_map(tmp_path / f"full{suffix}", labels)
    data = (tmp_path / f"full{suffix}").read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MaskReadError) as info:
        read_label_map(tmp_path / f"cut{suffix}")
    assert info.value.code == "unreadable"
    assert "truncated" in str(info.value)
    assert str(tmp_path) not in str(info.value)


def test_unsupported_suffix(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"")
    _expect(tmp_path / "x.jpg", "unsupported_format", "unsupported file type")


def test_psfhs_image_reads_as_2d_grey(shared_data: Path) -> None:
    image_path = shared_data / "psfhs" / "image_mha" / "03744.mha"
    image = read_image(image_path)
    assert image.shape == (256, 256) and image.dtype == np.uint8
    with pytest.raises(MaskReadError) as info:
        read_label_map(image_path)  # identical planes are an image, not a label map
    assert info.value.code == "wrong_shape"
    label = read_label_map(shared_data / "psfhs" / "label_mha" / "03744.mha")
    assert set(np.unique(label)) == {0, 1, 2}


def test_read_image_converts_colour_png(tmp_path: Path) -> None:
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 1] = 200
    Image.fromarray(rgb).save(tmp_path / "c.png")
    grey = read_image(tmp_path / "c.png")
    assert grey.shape == (6, 7) and grey.dtype == np.uint8 and 100 < grey[0, 0] < 130


def test_huge_declared_image_is_refused_before_decoding(tmp_path: Path) -> None:
    """A small gzip that declares a 9000 x 9000 x 1 NIfTI: refused from the header."""
    labels = np.zeros((1, 9000, 9000), np.uint8)  # 81 MB of zeros, written once
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(tmp_path / "big.nii.gz"), True)
    del labels
    assert (tmp_path / "big.nii.gz").stat().st_size < 2_000_000
    _expect(tmp_path / "big.nii.gz", "wrong_shape", "far larger than a 2-D ultrasound frame")


def test_png_with_a_damaged_pixel_chunk_is_refused(tmp_path: Path) -> None:
    """Pillow decodes IDAT without its checksum; the mask must not be scored as whatever
    the damaged bytes inflate to."""
    import io
    import struct

    buffer = io.BytesIO()
    Image.fromarray(_labels()).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at + 4 + length] ^= 0xFF  # the chunk's CRC
    (tmp_path / "crc.png").write_bytes(bytes(data))
    _expect(tmp_path / "crc.png", "unreadable", "checksum")


def test_animated_png_is_refused(tmp_path: Path) -> None:
    frames = [Image.fromarray(_labels()), Image.fromarray(np.zeros_like(_labels()))]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:])
    _expect(tmp_path / "a.png", "unreadable", "animated PNG with 2 frames")
