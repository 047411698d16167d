"""Error answers: the site's own 404 and 500 pages, JSON for the API, and a database that is
away answered as "try again shortly" (503), not a crash.

Django calls `handler500` inside the `except` block of the failing request
(`django.core.handlers.exception.response_for_exception`), so `sys.exc_info()` names the
exception. An `OperationalError` or `InterfaceError` from the database (a restart, a failover,
connections exhausted) is the service being briefly unavailable, which RFC 9110 section 15.6.4
spells 503 with a `Retry-After`; clients such as `fetalbench` retry on it. The 500 page
(`500.html`) is rendered without the request, so no context processor runs: nothing here
touches the database or a template that might. 403 and 404 use Django's own views with the
site's `403.html` and `404.html`.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.html import escape
from django.views import defaults

RETRY_AFTER_S = 30
UNAVAILABLE = "The service is briefly unavailable (its database is not answering); try again shortly."
SERVER_ERROR = "Server error: the organisers have been told."


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`{"detail": "Not found."}` under /api/ (the API's one error shape), else 404.html."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def _page(status: int, title: str, text: str) -> str:
    """500.html, or a bare page if even the template cannot be rendered."""
    try:
        return loader.get_template("500.html").render(
            {"status": status, "title": title, "text": text}
        )
    except Exception:  # noqa: BLE001 - the error page must not fail in its turn
        return f"<!doctype html><title>{status}</title><h1>{escape(text)}</h1>"


def server_error(request: HttpRequest) -> HttpResponse:
    """503 for a database outage, otherwise a plain 500 (both without the database)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        status, title, text = 503, "Briefly unavailable", UNAVAILABLE
    else:
        status, title, text = 500, "Server error", SERVER_ERROR
    if _is_api(request):
        response: HttpResponse = JsonResponse({"detail": text}, status=status)
    else:
        response = HttpResponse(_page(status, title, text), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
