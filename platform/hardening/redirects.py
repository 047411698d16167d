"""Where to send a user after signing up or logging in: only to this site.

A `?next=https://evil.example` that is followed blindly makes the site an open redirect
(OWASP "Unvalidated Redirects and Forwards"); Django's `url_has_allowed_host_and_scheme` is
the check its own LoginView uses, so sign-up uses it too.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, default: str) -> str:
    """The request's `next` (query or form) if it stays on this host, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
