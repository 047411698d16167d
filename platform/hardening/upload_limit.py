"""Refuse uploads over `SUBMISSION_MAX_BYTES` with 413 before the body is read.

Without this, Django spooled the whole body to a temporary file and only then did the
submission service compare the file's size with the limit: a 50 GiB upload filled the disk
first. Two checks, both answered "413 Payload Too Large" (RFC 9110 §15.5.14) with the limit
in words:

* `UploadLimitMiddleware` compares the request's Content-Length with the limit (plus a
  little room for the form fields and multipart boundaries) before anything reads the body.
* `SizeLimitUploadHandler` (first of FILE_UPLOAD_HANDLERS) counts the bytes of each uploaded
  file as Django's multipart parser streams it, and stops at the limit: a body within the
  Content-Length allowance but with a file just over the limit never reaches the disk either.
  The middleware parses multipart bodies in `process_view` so that this stop becomes a 413
  whatever view (DRF's or Django's) asked for the data.

Django reads no body without Content-Length (a chunked request arrives empty), so a body
with no length cannot slip past either check. gunicorn has no body limit of its own; with a
reverse proxy in front, set its limit too (nginx `client_max_body_size`), see
docs/security.md. Django's check here is the authority.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from hardening.responses import error_response

#: Room in a request body for the form fields and multipart framing around the file.
FORM_ALLOWANCE_BYTES = 1024 * 1024
_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def human_bytes(size: int) -> str:
    """`size` in the largest binary unit it fills, e.g. "1 GiB", "1.5 GiB", "1000 bytes"."""
    for unit, factor in _UNITS:
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} byte" + ("" if size == 1 else "s")


def limit_message(size: int | None = None) -> str:
    """What the participant reads: the limit, and how large the upload was when known."""
    limit = human_bytes(settings.SUBMISSION_MAX_BYTES)
    if size is None:
        return f"The upload is larger than the limit of {limit} for a submission."
    return f"The upload is {human_bytes(size)}; the limit for a submission is {limit}."


class UploadTooLarge(Exception):
    """Raised by `SizeLimitUploadHandler` once a file passes the limit."""


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they stream in and stops at SUBMISSION_MAX_BYTES."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.SUBMISSION_MAX_BYTES:
            raise UploadTooLarge(limit_message())
        return raw_data  # handed on to the next handler, which stores it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class UploadLimitMiddleware:
    """413 for bodies over the limit, from Content-Length or while the files stream in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = content_length(request)
        if length and length > settings.SUBMISSION_MAX_BYTES + FORM_ALLOWANCE_BYTES:
            return self.too_large(request, limit_message(length))
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args) -> HttpResponse | None:
        """Parse a multipart body here (Django keeps the result for the view), so that
        UploadTooLarge is answered 413 instead of escaping from another middleware."""
        if request.method != "POST" or request.content_type != "multipart/form-data":
            return None
        try:
            request.POST  # noqa: B018 - parses the body, running the upload handlers
        except UploadTooLarge as exc:
            return self.too_large(request, str(exc))
        except MultiPartParserError:
            return None  # the view reports a malformed body as it always did
        return None

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, UploadTooLarge):
            return self.too_large(request, str(exc))
        return None

    @staticmethod
    def too_large(request: HttpRequest, message: str) -> HttpResponse:
        # No "Connection: close" here: WSGI forbids hop-by-hop headers from the application;
        # the server closes a connection whose body it has not read.
        return error_response(request, 413, message)
