"""The small helpers the evaluator keeps for the whole project (issue 11): the one file hash,
the JSON-safe walk with the platform's text rule, and the counting reader that also caps and
hashes a container image archive in the sandbox."""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path

import numpy as np
import pytest

from evaluator.io.archives import CountingReader, ReadLimitExceeded
from evaluator.results import json_safe, sha256_file


def test_sha256_file_takes_a_path_or_an_open_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == sha256_file(str(path)) == expected
    with path.open("rb") as fh:
        assert sha256_file(fh) == expected
    stream = io.BytesIO(b"head" + data)
    stream.seek(4)  # from where it stands
    assert sha256_file(stream) == expected


def test_json_safe_with_a_text_rule_rewrites_every_string_and_unknown_value() -> None:
    def shout(value: object) -> str:
        return str(value).upper()

    doc = {"a": "x\x00y", 1: [1.5, math.nan, np.int64(3), True, None], "p": Path("/srv/f")}
    assert json_safe(doc, text=shout) == {
        "a": "X\x00Y",
        "1": [1.5, None, 3, True, None],
        "p": "/SRV/F",
    }
    assert json_safe(doc)["p"] == "/srv/f" and json_safe(doc)["a"] == "x\x00y"


def test_counting_reader_counts_hashes_and_stops_at_its_limit() -> None:
    hasher = hashlib.sha256()
    reader = CountingReader(io.BytesIO(b"a" * 100), hasher=hasher)
    assert reader.read(30) + reader.read() == b"a" * 100
    assert reader.count == 100 and hasher.hexdigest() == hashlib.sha256(b"a" * 100).hexdigest()
    capped = CountingReader(io.BytesIO(b"b" * 100), limit=64)
    buffer = bytearray(50)
    assert capped.readinto(buffer) == 50
    with pytest.raises(ReadLimitExceeded):
        capped.readinto(buffer)
