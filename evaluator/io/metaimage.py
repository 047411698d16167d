"""A MetaImage (`.mha`) decoder that reads nothing but the file it is given.

Why not ITK: a MetaImage header names where its pixels are (`ElementDataFile`), and ITK's
MetaIO follows any path there (`ElementDataFile = /srv/truth/.../001.nii` with
`HeaderSize = -1` reads the last bytes of that file). A participant's 3.5 KB archive of such
headers made the scoring worker read the hidden labels as its predictions and score Dice 1.0
(issue 9). Submissions, and whatever a model container writes to `/output`, are untrusted, so
they are decoded here, where only `ElementDataFile = LOCAL` exists: the pixels are the bytes
after the header, in this same file. `.mhd`/`.raw` pairs, file lists and patterns are refused
by construction.

The format follows MetaIO's own reader (Kitware, `metaImage.cxx`/`metaUtils.cxx`,
https://itk.org/Wiki/ITK/MetaIO/Documentation): `Key = Value` text lines, the header ending
with the `ElementDataFile` line, then the pixels, raw or zlib-compressed (`CompressedData`),
x varying fastest, channels interleaved. Element sizes are MetaIO's (`MET_LONG` is 4 bytes,
`MET_LONG_LONG` 8). The array comes back in the order ITK's `GetArrayFromImage` gives
(slices, rows, cols[, channels]), so results equal ITK's decoding of the same file.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.io.names import quoted, shortened

#: Longest header we read before giving up: real headers are a few hundred bytes.
MAX_HEADER_BYTES = 64 * 1024

#: MetaIO element types -> NumPy scalar types (little-endian; byte order set per header).
ELEMENT_TYPES: dict[str, str] = {
    "MET_CHAR": "i1",
    "MET_UCHAR": "u1",
    "MET_SHORT": "i2",
    "MET_USHORT": "u2",
    "MET_INT": "i4",
    "MET_UINT": "u4",
    "MET_LONG": "i4",
    "MET_ULONG": "u4",
    "MET_LONG_LONG": "i8",
    "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4",
    "MET_DOUBLE": "f8",
}


class MetaImageError(ValueError):
    """The file is not a self-contained MetaImage we can decode; the message is for humans
    and names no server path. `code` matches the validation codes of docs/formats.md."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MetaHeader:
    """What the header says, once checked: sizes in ITK order (x, y[, z])."""

    size: tuple[int, ...]
    dtype: np.dtype
    channels: int
    compressed: bool
    compressed_size: int | None
    data_offset: int  # byte offset of the pixel data in the file
    from_end: bool  # HeaderSize = -1: the pixels are the file's last bytes
    spacing: tuple[float, ...]

    @property
    def voxels(self) -> int:
        return math.prod(self.size)

    @property
    def nbytes(self) -> int:
        return self.voxels * self.channels * self.dtype.itemsize


def read_header(path: Path) -> MetaHeader:
    """Parse and check the header of `path`; raises `MetaImageError` for anything that
    points outside the file or that we would misread."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES)
    fields: dict[str, str] = {}
    offset = 0
    data_file = None
    while offset < len(head):
        end = head.find(b"\n", offset)
        if end < 0:
            break
        raw = head[offset:end]
        offset = end + 1
        line = raw.decode("latin-1").strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise MetaImageError(f"{path.name}: header line without '=': {_shown(line)}")
        key, value = key.strip().lower(), value.strip()
        if key in fields:
            raise MetaImageError(f"{path.name}: header field {key!r} appears twice")
        fields[key] = value
        if key == "elementdatafile":
            data_file = value
            break
    if data_file is None:
        if len(head) >= MAX_HEADER_BYTES:
            raise MetaImageError(
                f"{path.name}: no ElementDataFile line in the first {MAX_HEADER_BYTES // 1024} KiB;"
                " not a MetaImage file, or its header is implausibly long"
            )
        raise MetaImageError(
            f"cannot decode {path.name}: not a valid MetaImage file "
            "(its header has no ElementDataFile line), or it is truncated or corrupt"
        )
    if data_file != "LOCAL":
        raise MetaImageError(
            f"{path.name}: its pixels must be inside the file (ElementDataFile = LOCAL); it "
            f"names another file ({_shown(_last_part(data_file))}) instead. Save the mask as a "
            "single .mha file; headers that point at other files (.mhd/.raw pairs, file lists) "
            "are not accepted",
            code="external_data",
        )
    return _checked(path, fields, data_offset=offset)


def _checked(path: Path, fields: dict[str, str], *, data_offset: int) -> MetaHeader:
    name = path.name
    object_type = fields.get("objecttype", "Image")
    if object_type.lower() != "image":
        raise MetaImageError(f"{name}: ObjectType is {_shown(object_type)}, not Image")
    if fields.get("binarydata", "True").lower() not in ("true", "1"):
        raise MetaImageError(f"{name}: text (BinaryData = False) MetaImage is not supported")
    ndims = _int(name, fields, "ndims")
    size = tuple(_ints(name, fields, "dimsize"))
    if not 1 <= ndims <= 4 or len(size) != ndims or any(s < 1 for s in size):
        raise MetaImageError(
            f"{name}: NDims {ndims} does not match DimSize {_shown(fields.get('dimsize', ''))}",
            "wrong_shape",
        )
    element = fields.get("elementtype", "").upper()
    if element not in ELEMENT_TYPES:
        raise MetaImageError(f"{name}: unsupported ElementType {_shown(element or '(none)')}")
    msb = fields.get("binarydatabyteordermsb", fields.get("elementbyteordermsb", "False"))
    order = ">" if msb.lower() in ("true", "1") else "<"
    dtype = np.dtype(ELEMENT_TYPES[element]).newbyteorder(order)
    channels_text = fields.get("elementnumberofchannels", "1")
    channels = int(channels_text) if channels_text.isdigit() else 0
    if not 1 <= channels <= 16:
        raise MetaImageError(f"{name}: ElementNumberOfChannels must be an integer from 1 to 16")
    header_size = fields.get("headersize", "0").strip()
    if header_size not in ("0", "-1"):
        raise MetaImageError(
            f"{name}: HeaderSize = {_shown(header_size)} is not supported (use 0 or -1)"
        )
    compressed = fields.get("compresseddata", "False").lower() in ("true", "1")
    compressed_size = None
    if compressed and "compresseddatasize" in fields:
        compressed_size = _int(name, fields, "compresseddatasize")
    spacing_text = fields.get("elementspacing") or fields.get("elementsize") or ""
    try:
        spacing = tuple(float(v) for v in spacing_text.split()) or (1.0,) * ndims
    except ValueError:
        spacing = (1.0,) * ndims
    return MetaHeader(
        size=size,
        dtype=dtype,
        channels=channels,
        compressed=compressed,
        compressed_size=compressed_size,
        data_offset=data_offset,
        from_end=header_size == "-1",
        spacing=spacing,
    )


def read_array(path: Path, *, max_values: int) -> tuple[np.ndarray, MetaHeader]:
    """The pixels of a self-contained MetaImage, shaped as ITK's `GetArrayFromImage` would:
    (…, rows, cols) with a trailing channel axis when there is more than one channel, and
    the header they were read with.

    `max_values` bounds voxels x channels before anything is decompressed (a tiny
    compressed file can declare a huge image).
    """
    header = read_header(path)
    if header.voxels * header.channels > max_values:
        raise MetaImageError(
            f"{path.name} declares an image of size {header.size}, far larger than a 2-D "
            "ultrasound frame",
            "wrong_shape",
        )
    with open(path, "rb") as fh:
        file_size = fh.seek(0, 2)
        if header.compressed:
            fh.seek(header.data_offset)
            limit = header.compressed_size if header.compressed_size is not None else -1
            payload = fh.read(limit)
            data = _inflate(path, payload, header.nbytes)
        else:
            start = file_size - header.nbytes if header.from_end else header.data_offset
            if start < header.data_offset or file_size - start < header.nbytes:
                raise MetaImageError(
                    f"{path.name}: the file is truncated ({max(file_size - header.data_offset, 0)}"
                    f" of {header.nbytes} bytes of pixel data)"
                )
            fh.seek(start)
            data = fh.read(header.nbytes)
    array = np.frombuffer(data, dtype=header.dtype)
    shape = tuple(reversed(header.size)) + ((header.channels,) if header.channels > 1 else ())
    return array.reshape(shape).astype(header.dtype.newbyteorder("="), copy=False), header


def _inflate(path: Path, payload: bytes, expected: int) -> bytes:
    """zlib-decompress at most `expected` bytes (MetaIO writes a zlib stream)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(payload, expected)
    except zlib.error as exc:
        raise MetaImageError(
            f"{path.name}: the compressed pixel data is corrupt ({str(exc)[:80]})"
        ) from None
    if len(data) < expected:
        raise MetaImageError(
            f"{path.name}: the compressed pixel data is truncated ({len(data)} of {expected} bytes)"
        )
    return data


def _int(name: str, fields: dict[str, str], key: str) -> int:
    values = _ints(name, fields, key)
    if len(values) != 1:
        raise MetaImageError(f"{name}: {key} must be one integer")
    return values[0]


def _ints(name: str, fields: dict[str, str], key: str) -> list[int]:
    text = fields.get(key)
    if text is None:
        raise MetaImageError(f"{name}: the header has no {key} field")
    try:
        return [int(v) for v in text.split()]
    except ValueError:
        raise MetaImageError(f"{name}: {key} is not a list of integers: {_shown(text)}") from None


def _last_part(reference: str) -> str:
    """The file name a header points at, without its folders: the message should say which
    file, never echo a server path back (the worker's layout is nobody's business)."""
    return reference.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "?"


def _shown(text: str, limit: int = 60) -> str:
    """Header text quoted for a message, printable and short (headers are attacker-written):
    the rule every untrusted name follows (`evaluator.io.names`)."""
    return quoted(shortened(text, limit))
