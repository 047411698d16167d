"""Reading and writing 2-D label maps and greyscale images (PNG, MetaImage, NIfTI).

Submissions arrive in whatever format a participant's pipeline writes, so every decoding
failure becomes a `MaskReadError` whose message a participant can act on ("RGB image where a
label map is expected"), never a library stack trace. Each error carries a short `code` that
the validation report uses (see docs/formats.md).
"""

from __future__ import annotations

import functools
import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image, UnidentifiedImageError

from evaluator.io.metaimage import MetaImageError, read_header
from evaluator.io.metaimage import read_array as read_metaimage

SUPPORTED_SUFFIXES = (".nii.gz", ".png", ".mha", ".nii")

# Decompression-bomb guard for PNGs: a 2-D ultrasound frame is far below this many pixels.
MAX_PIXELS = 64_000_000

sitk.ProcessObject.SetGlobalWarningDisplay(False)


class MaskReadError(ValueError):
    """A file that cannot be used as a label map or image; the message is for humans."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code


def suffix_of(path: Path) -> str | None:
    """The supported suffix `path` ends with (case-insensitive), or None."""
    name = path.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def case_id_from_path(path: Path) -> str | None:
    """Case id of a label-map file: "012_HC" for ".../012_HC.nii.gz"; None if unsupported."""
    suffix = suffix_of(Path(path))
    if suffix is None:
        return None
    return Path(path).name[: -len(suffix)]


def _require_suffix(path: Path) -> str:
    suffix = suffix_of(path)
    if suffix is None:
        raise MaskReadError(
            f"unsupported file type {path.name!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            code="unsupported_format",
        )
    return suffix


# --------------------------------------------------------------------------- decoding


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Leading bytes of formats people save by mistake under a .png name.
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "WebP"),
    (b"ObjectType", "MetaImage"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "gzip data"),
)


def _png_array(path: Path, *, for_label: bool) -> np.ndarray:
    """Decode a PNG, rejecting colour where a label map is expected.

    Only Pillow's PNG plugin is ever asked (`formats=["PNG"]`): other plugins parse formats
    nobody submits as masks, and EPS would even start Ghostscript.
    """
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head.startswith(PNG_SIGNATURE):
        looks = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
        if looks:
            raise MaskReadError(f"not a PNG file (looks like {looks})", "unreadable")
        what = "the file is empty" if not head else "it does not start with the PNG signature"
        raise MaskReadError(f"cannot decode PNG: {what}", "unreadable")
    try:
        # Checksums of every chunk, pixel data included (decoding alone skips IDAT's, so a
        # damaged mask would be scored as whatever its bytes inflate to); <1% of a decode.
        with Image.open(path, formats=["PNG"]) as check:
            check.verify()
        with Image.open(path, formats=["PNG"]) as im:
            if getattr(im, "n_frames", 1) > 1:
                raise MaskReadError(
                    f"animated PNG with {im.n_frames} frames; save each mask as a single "
                    "still image",
                    "unreadable",
                )
            if im.format != "PNG":
                raise MaskReadError(
                    f"not a PNG file (looks like {im.format or 'unknown'})", "unreadable"
                )
            if im.width * im.height > MAX_PIXELS:
                raise MaskReadError(
                    f"image of {im.width}x{im.height} pixels is too large", "wrong_shape"
                )
            mode = im.mode
            if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV") or mode.startswith("RGB"):
                if for_label:
                    raise MaskReadError(
                        f"{_colour_name(mode)} image where a label map is expected: "
                        "save the mask as a single-channel (greyscale) PNG whose pixel "
                        "values are the class values",
                        code="rgb",
                    )
                im = im.convert("L")
                mode = "L"
            if mode == "1":
                return np.asarray(im, dtype=np.uint8)
            if mode == "P":
                if not for_label:
                    return np.asarray(im.convert("L"))
                # A palette PNG stores class indices; the palette only colours them.
                return np.asarray(im, dtype=np.uint8)
            if mode == "F":
                return np.asarray(im, dtype=np.float32)
            return np.asarray(im)
    except MaskReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MaskReadError(f"cannot decode PNG: {_short(exc)}", "unreadable") from None
    except Image.DecompressionBombError:  # pragma: no cover - subclass of Exception
        raise MaskReadError("PNG is implausibly large (decompression bomb)", "unreadable") from None


def _colour_name(mode: str) -> str:
    return {"LA": "greyscale+alpha", "RGBA": "RGBA"}.get(mode, "RGB")


def _nifti_reader(path: Path) -> sitk.ImageFileReader:
    """The only way ITK opens a participant's file: single-file NIfTI only (checked first),
    with ITK's NIfTI reader named, not guessed from the suffix or the content, so no other
    ITK reader (some of which follow file names written in their headers) ever sees it."""
    _check_nifti_single_file(path)
    reader = sitk.ImageFileReader()
    reader.SetImageIO("NiftiImageIO")
    reader.SetFileName(str(path))
    return reader


def _sitk_image(path: Path) -> sitk.Image:
    """Decode a NIfTI file with ITK after checking the header: a tiny compressed file can
    declare a huge image, and ITK would allocate all of it before we could look at the
    pixels. MetaImage never comes here (see `_metaimage_array`)."""
    reader = _nifti_reader(path)
    try:
        reader.ReadImageInformation()
        voxels = math.prod(int(s) for s in reader.GetSize())
        if voxels * reader.GetNumberOfComponents() > MAX_PIXELS:
            raise MaskReadError(
                f"{path.name} declares an image of size {tuple(reader.GetSize())}, far larger "
                "than a 2-D ultrasound frame",
                "wrong_shape",
            )
        _check_nifti_complete(path)
        return reader.Execute()
    except RuntimeError:
        # ITK's text is a C++ trace naming server paths; it helps no participant.
        raise MaskReadError(
            f"cannot decode {path.name}: not a valid {_format_name(path)} file, "
            "or it is truncated or corrupt",
            "unreadable",
        ) from None


def _metaimage_array(path: Path) -> tuple[np.ndarray, int]:
    """A MetaImage's pixels and channels per pixel, read from the file itself only
    (`evaluator.io.metaimage`): ITK's MetaIO follows `ElementDataFile = <any path>`, which
    let a header read the hidden labels (issue 9)."""
    try:
        array, header = read_metaimage(path, max_values=MAX_PIXELS)
        return array, header.channels
    except MetaImageError as exc:
        raise MaskReadError(str(exc), exc.code) from None
    except OSError as exc:
        raise MaskReadError(f"cannot read {path.name}: {_short(exc)}", "unreadable") from None


def _truncated(path: Path, exc: BaseException) -> MaskReadError:
    """What a participant reads when a (gzip) file ends or breaks before its data does."""
    return MaskReadError(
        f"cannot decode {path.name}: the compressed data is truncated or corrupt ({_short(exc)})",
        "unreadable",
    )


def _check_nifti_single_file(path: Path) -> None:
    """Accept only single-file NIfTI (magic `n+1` / `n+2`): a `ni1`/`ni2` header, or an
    Analyze header with no magic, makes the NIfTI library read the pixels from a companion
    `.img` file, which is not the participant's file to name."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            header = fh.read(352)
    except (OSError, EOFError, zlib.error) as exc:
        raise _truncated(path, exc) from None
    single_file = (len(header) >= 348 and header[344:348] == b"n+1\0") or header[4:8] == b"n+2\0"
    if single_file:
        return
    if (len(header) >= 348 and header[344:347] == b"ni1") or header[4:7] == b"ni2":
        raise MaskReadError(
            f"{path.name} is the header of a .hdr/.img NIfTI pair; save each mask as a single "
            ".nii or .nii.gz file",
            "external_data",
        )
    raise MaskReadError(f"cannot decode {path.name}: not a NIfTI file", "unreadable")


def _format_name(path: Path) -> str:
    return "MetaImage" if suffix_of(path) == ".mha" else "NIfTI"


#: NIfTI float datatypes (nifti1.h DT_FLOAT32, DT_FLOAT64) -> NumPy types.
_NIFTI_FLOATS = {16: "f4", 64: "f8"}


def _check_nifti_complete(path: Path) -> None:
    """Refuse truncated NIfTI files, which ITK silently pads with garbage, and float voxels
    that are NaN or infinite, which ITK's NIfTI reader silently turns into 0 (a NaN mask
    would otherwise score as background).

    The header gives the data offset and size; the (decompressed) file must reach its end.
    Masks are small 2-D images (and the caller has bounded their size), so reading the file
    once more costs little.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            header = fh.read(544)
            layout = _nifti_layout(header)
            if layout is None:
                raise MaskReadError(f"cannot decode {path.name}: not a NIfTI file", "unreadable")
            offset, nbytes, datatype, endian = layout
            float_type = _NIFTI_FLOATS.get(datatype)
            have = len(header)
            kept = [header[offset:]] if float_type else []
            while have < offset + nbytes:
                chunk = fh.read(min(1 << 20, offset + nbytes - have))
                if not chunk:
                    break
                if float_type:
                    kept.append(chunk[max(offset - have, 0) :])
                have += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise _truncated(path, exc) from None
    if have < offset + nbytes:
        raise MaskReadError(
            f"cannot decode {path.name}: the file is truncated ({have} of {offset + nbytes} bytes)",
            "unreadable",
        )
    if float_type:
        values = np.frombuffer(b"".join(kept)[:nbytes], dtype=np.dtype(endian + float_type))
        if not np.all(np.isfinite(values)):
            raise MaskReadError(
                f"{path.name}: label map contains NaN or infinite values", code="not_integer"
            )


def _nifti_layout(data: bytes) -> tuple[int, int, int, str] | None:
    """(data offset, data bytes, datatype code, byte order) of a NIfTI-1/2 header, or None if
    it is not NIfTI (NIfTI-1: nifti1.h; NIfTI-2: nifti2.h)."""
    if len(data) < 348:
        return None
    for endian in ("<", ">"):
        (size,) = struct.unpack(endian + "i", data[:4])
        if size == 348:
            dims = struct.unpack(endian + "8h", data[40:56])
            datatype, bitpix = struct.unpack(endian + "hh", data[70:74])
            (offset,) = struct.unpack(endian + "f", data[108:112])
            break
        if size == 540 and len(data) >= 540:
            datatype, bitpix = struct.unpack(endian + "hh", data[12:16])
            dims = struct.unpack(endian + "8q", data[16:80])
            (offset,) = struct.unpack(endian + "q", data[168:176])
            break
    else:
        return None
    ndim = dims[0]
    if not 1 <= ndim <= 7 or bitpix <= 0 or not math.isfinite(offset) or offset < 0:
        return None
    voxels = 1
    for d in dims[1 : ndim + 1]:
        voxels *= max(int(d), 1)
    return int(offset), voxels * bitpix // 8, int(datatype), endian


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _squeeze_to_2d(array: np.ndarray, what: str) -> np.ndarray:
    """Drop singleton axes; anything still not 2-D is not a 2-D label map."""
    squeezed = np.squeeze(array)
    if squeezed.ndim == 2 and array.ndim >= 2:
        return squeezed
    if squeezed.ndim < 2:
        raise MaskReadError(
            f"{what} has shape {array.shape}; expected a 2-D image", code="wrong_shape"
        )
    raise MaskReadError(
        f"{what} is a {array.ndim}-D volume of shape {tuple(array.shape)}; "
        "expected a single 2-D slice",
        code="wrong_shape",
    )


def _check_integer(array: np.ndarray) -> np.ndarray:
    """Return an integer array; floats are accepted only when every value is whole."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise MaskReadError("label map contains NaN or infinite values", code="not_integer")
        if not np.all(array == np.round(array)):
            sample = np.unique(array[array != np.round(array)])[:3]
            shown = ", ".join(f"{v:g}" for v in sample)
            raise MaskReadError(
                f"label map has non-integer values (e.g. {shown}); "
                "save class values as integers, not probabilities",
                code="not_integer",
            )
        lo, hi = float(array.min(initial=0)), float(array.max(initial=0))
        if lo >= 0 and hi <= 255:
            return array.astype(np.uint8)
        if lo >= -(2**31) and hi < 2**31:
            return array.astype(np.int32)
        raise MaskReadError("label map values are out of range", code="wrong_values")
    raise MaskReadError(f"unsupported pixel type {array.dtype}", code="not_integer")


def read_label_map(path: Path) -> np.ndarray:
    """A 2-D integer label map (rows, cols) from PNG, MetaImage or NIfTI.

    Singleton axes are squeezed (a 1 x H x W NIfTI is fine); genuine 3-D volumes, colour
    images and non-integer values raise `MaskReadError` with a human-readable message.
    """
    path = Path(path)
    suffix = _require_suffix(path)
    if suffix == ".png":
        array = _png_array(path, for_label=True)
    elif suffix == ".mha":
        array, components = _metaimage_array(path)
        if components > 1:
            raise MaskReadError(
                f"image with {array.shape[-1]} components per pixel "
                "(colour/vector) where a label map is expected",
                code="rgb",
            )
    else:
        image = _sitk_image(path)
        if image.GetNumberOfComponentsPerPixel() > 1:
            raise MaskReadError(
                f"image with {image.GetNumberOfComponentsPerPixel()} components per pixel "
                "(colour/vector) where a label map is expected",
                code="rgb",
            )
        array = sitk.GetArrayFromImage(image)
    array = _squeeze_to_2d(np.asarray(array), "label map")
    return np.ascontiguousarray(_check_integer(array))


def read_image(path: Path) -> np.ndarray:
    """A 2-D greyscale image; colour or identical-plane stacks (PSFHS 3x256x256) are reduced.

    Identical planes are the PSFHS convention (three copies of the grey image); differing
    planes are treated as colour and converted to luminance.
    """
    path = Path(path)
    suffix = _require_suffix(path)
    if suffix == ".png":
        return _squeeze_to_2d(_png_array(path, for_label=False), "image")
    if suffix == ".mha":
        array, components = _metaimage_array(path)
    else:
        image = _sitk_image(path)
        array = np.asarray(sitk.GetArrayFromImage(image))
        components = image.GetNumberOfComponentsPerPixel()
    if components > 1:  # (..., rows, cols, channels)
        array = _planes_to_grey(np.moveaxis(array, -1, 0))
    array = np.squeeze(array)
    if array.ndim == 3 and array.shape[0] in (3, 4):
        array = _planes_to_grey(array)
    return _squeeze_to_2d(array, "image")


def _planes_to_grey(planes: np.ndarray) -> np.ndarray:
    planes = np.squeeze(planes)
    if planes.ndim != 3:
        return planes
    if all(np.array_equal(planes[0], p) for p in planes[1:]):
        return planes[0]
    rgb = planes[:3].astype(np.float64)
    grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return grey.round().astype(planes.dtype) if planes.dtype == np.uint8 else grey


def read_label_shape(path: Path) -> tuple[int, int]:
    """(rows, cols) of a label map from its header only, without decoding the pixels.

    Validation compares every prediction with its truth label's shape; decoding all truth
    labels just for that would double the cost of a validation run.
    """
    return _read_label_shape_cached(str(Path(path).resolve()), Path(path).stat().st_mtime_ns)


@functools.lru_cache(maxsize=65_536)
def _read_label_shape_cached(path_str: str, _mtime_ns: int) -> tuple[int, int]:
    path = Path(path_str)
    suffix = _require_suffix(path)
    if suffix == ".png":
        try:
            with Image.open(path, formats=["PNG"]) as im:
                return (int(im.height), int(im.width))
        except (UnidentifiedImageError, OSError) as exc:
            raise MaskReadError(f"cannot read PNG header: {_short(exc)}") from None
    if suffix == ".mha":
        try:
            size = list(read_header(path).size)
        except MetaImageError as exc:
            raise MaskReadError(str(exc), exc.code) from None
    else:
        reader = _nifti_reader(path)
        try:
            reader.ReadImageInformation()
        except RuntimeError:
            raise MaskReadError(
                f"cannot read the header of {path.name}: not a valid {_format_name(path)} file"
            ) from None
        size = [int(s) for s in reader.GetSize()]  # (x, y[, z]) = (cols, rows[, slices])
    dims = [s for s in reversed(size) if s != 1]
    if len(dims) != 2:
        raise MaskReadError(
            f"label map of size {tuple(size)} is not 2-D", code="wrong_shape"
        ) from None
    return (dims[0], dims[1])


# --------------------------------------------------------------------------- writing


def write_label_map(path: Path, array: np.ndarray, spacing=(1.0, 1.0)) -> None:
    """Write a 2-D integer array in the format named by the suffix.

    PNG has no reliable spacing field, so spacing is stored only in MetaImage/NIfTI; truth
    sets keep spacing in cases.csv for that reason.
    """
    path = Path(path)
    suffix = _require_suffix(path)
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"label map must be 2-D, got shape {array.shape}")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"label map must be integer, got {array.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        lo, hi = int(array.min(initial=0)), int(array.max(initial=0))
        if lo < 0 or hi > 65535:
            raise ValueError("PNG label maps hold values 0..65535 only")
        if hi <= 255:
            Image.fromarray(array.astype(np.uint8), mode="L").save(path, compress_level=1)
        else:
            Image.fromarray(array.astype(np.uint16)).save(path, compress_level=1)
        return
    if array.dtype == np.int64 or array.dtype == np.uint64:
        array = array.astype(np.int32)
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing((float(spacing[1]), float(spacing[0])))  # ITK order is (x, y)
    sitk.WriteImage(image, str(path), useCompression=suffix != ".nii")


def write_image(path: Path, array: np.ndarray) -> None:
    """Write a 2-D greyscale image as PNG (uint8, or uint16 for wider integer data)."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {array.shape}")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.integer) and array.min() >= 0 and array.max() <= 255:
            array = array.astype(np.uint8)
        elif np.issubdtype(array.dtype, np.integer) and array.min() >= 0:
            array = array.astype(np.uint16)
        else:
            lo, hi = float(array.min()), float(array.max())
            scale = 255.0 / (hi - lo) if hi > lo else 0.0
            array = ((array - lo) * scale).round().astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, compress_level=1)
