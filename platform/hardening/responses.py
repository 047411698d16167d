"""Error answers given by middleware, before any view runs: JSON `{"detail": ...}` under
/api/ (what DRF and the `fetalbench` client expect), plain text for the web pages."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse


def error_response(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """An error answer in the shape the caller can read."""
    if request.path_info.startswith("/api/"):
        body = json.dumps({"detail": message})
        return HttpResponse(body, status=status, content_type="application/json")
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
