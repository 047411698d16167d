"""Refuse NUL characters in the URL (path or query) with 400 before any view sees them.

PostgreSQL text cannot hold NUL, and psycopg raises ValueError ("A string literal cannot
contain NUL (0x00) characters") for any query that carries one, which surfaced as HTTP 500
on `?site=%00` (leaderboard API, CSV and JSON exports). No legitimate URL of this site has
one, so the whole site answers 400 here instead of every view checking (Django's forms and
DRF's CharField already refuse NUL in bodies: ProhibitNullCharactersValidator).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hardening.responses import error_response

NUL = "\x00"
MESSAGE = "The URL contains a NUL character (%00), which no parameter of this site accepts."


def has_nul(request: HttpRequest) -> bool:
    """Whether the decoded path or any query parameter name or value holds a NUL."""
    if NUL in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    return any(
        NUL in key or any(NUL in value for value in values)
        for key, values in request.GET.lists()
    )


class RejectNulMiddleware:
    """400 for a NUL anywhere in the URL (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul(request):
            return error_response(request, 400, MESSAGE)
        return self.get_response(request)
