"""A strict Content-Security-Policy on every answer (OWASP "Content Security Policy Cheat
Sheet"; MDN "Content-Security-Policy").

Every page loads its scripts and styles from /static/ (no CDN, no inline `<script>`: data
for the Pareto plot travels in a `json_script` block, which browsers never execute, and the
API docs use drf-spectacular's split Swagger view with assets from drf-spectacular-sidecar),
so `'self'` suffices and no `'unsafe-inline'`/`'unsafe-eval'` is needed. Styles set from
scripts through `element.style` are allowed by CSP; only `style="..."` attributes in markup
and `<style>` blocks are not, so the templates have none. `frame-ancestors 'none'` repeats
X-Frame-Options: DENY for browsers that follow CSP only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HEADER = "Content-Security-Policy"


def policy_header(policy: dict[str, str] = POLICY) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds POLICY to every response that has no policy of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = policy_header()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.header
        return response
