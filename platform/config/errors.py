"""Server-error answers: a database that is away is "try again shortly" (503), not a crash.

Django calls `handler500` inside the `except` block of the failing request
(`django.core.handlers.exception.response_for_exception`), so `sys.exc_info()` names the
exception. An `OperationalError` or `InterfaceError` from the database (a restart, a failover,
connections exhausted) is the service being briefly unavailable, which RFC 9110 section 15.6.4
spells 503 with a `Retry-After`; clients such as `fetalbench` retry on it. Nothing here
touches the database or a template that might.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

RETRY_AFTER_S = 30
UNAVAILABLE = "The service is briefly unavailable (its database is not answering); try again shortly."


def server_error(request: HttpRequest) -> HttpResponse:
    """503 for a database outage, otherwise a plain 500 (both without the database)."""
    exc = sys.exc_info()[1]
    wants_json = request.path.startswith("/api/")
    if isinstance(exc, OperationalError | InterfaceError):
        status, text = 503, UNAVAILABLE
    else:
        status, text = 500, "Server error: the organisers have been told."
    if wants_json:
        response: HttpResponse = JsonResponse({"detail": text}, status=status)
    else:
        response = HttpResponse(
            f"<!doctype html><title>{status}</title><h1>{text}</h1>", status=status
        )
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
