"""A streamed multipart/form-data body with upload progress, without requests-toolbelt.

`requests` sends any file-like body with a known length as it reads it, so wrapping the
prologue (form fields), the file itself and the closing boundary in one object with `read()`
and `__len__` streams a multi-gigabyte zip with constant memory and a correct Content-Length
(WSGI servers need it: chunked request bodies are not reliably supported).
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO


def _field(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


class MultipartFileStream:
    """File-like multipart body: form fields, then one file part read in chunks.

    `on_progress(bytes_sent_so_far)` is called after every read, which is what drives the
    upload progress bar.
    """

    def __init__(
        self,
        fields: Mapping[str, str],
        file_field: str,
        path: str | Path,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.boundary = f"fetalbench-{uuid.uuid4().hex}"
        ctype = mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"
        head = b"".join(_field(self.boundary, k, str(v)) for k, v in fields.items())
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{self.path.name}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        self._parts: list[bytes | BinaryIO] = [head, b"", f"\r\n--{self.boundary}--\r\n".encode()]
        self._file_size = os.path.getsize(self.path)
        self._length = len(head) + self._file_size + len(self._parts[2])
        self._file: BinaryIO | None = None
        self._index = 0
        self._offset = 0
        self._sent = 0
        self._on_progress = on_progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        """Return up to `size` bytes (everything left for size < 0) of the body."""
        if size is None or size < 0:
            size = self._length
        out = bytearray()
        while len(out) < size and self._index < 3:
            if self._index == 1:  # the file part
                if self._file is None:
                    self._file = open(self.path, "rb")  # noqa: SIM115 (closed in close())
                chunk = self._file.read(size - len(out))
                if not chunk:
                    self._file.close()
                    self._index += 1
                    continue
                out += chunk
            else:
                part = self._parts[self._index]
                assert isinstance(part, bytes)
                chunk = part[self._offset : self._offset + size - len(out)]
                out += chunk
                self._offset += len(chunk)
                if self._offset >= len(part):
                    self._index += 1
                    self._offset = 0
        self._sent += len(out)
        if self._on_progress is not None and out:
            self._on_progress(self._sent)
        return bytes(out)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> MultipartFileStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
