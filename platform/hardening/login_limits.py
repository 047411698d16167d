"""Limits on password guessing, per username and per client address, for every door that
takes a password (the log-in page and `/api/token/`).

OWASP Authentication Cheat Sheet ("Protect against automated attacks") and ASVS V2.2.1 ask
for throttling of failed log-ins by account and by source. Before this, 30 wrong passwords
took 8.6 s. Each failure adds one to two counters in Django's cache (shared by all web
processes: config/caches.py), each for a fixed window of LOGIN_FAILURE_WINDOW_S from its
first failure:

* per username (case-folded, hashed so no username sits in the cache in clear):
  LOGIN_FAILURES_PER_USERNAME; a correct password before the limit resets it;
* per client address: LOGIN_FAILURES_PER_ADDRESS (guessing many usernames from one place).

Once either counter is full, attempts are refused without checking the password (the
right one too) until the window ends; callers answer 429 with Retry-After.

The client address is REMOTE_ADDR, or the header named by CLIENT_ADDRESS_HEADER (e.g.
HTTP_X_REAL_IP) when a reverse proxy that overwrites it sits in front; never a header a
client can set freely.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

KEY_PREFIX = "login-failures"


@dataclass(frozen=True)
class Counter:
    """One failure counter: its cache key and how many failures it allows."""

    key: str
    limit: int


def client_address(request: HttpRequest) -> str:
    header = getattr(settings, "CLIENT_ADDRESS_HEADER", "")
    value = request.META.get(header, "") if header else ""
    return value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "") or "unknown"


def _username_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:user:{digest}"


def counters(request: HttpRequest, username: str) -> list[Counter]:
    return [
        Counter(_username_key(username), settings.LOGIN_FAILURES_PER_USERNAME),
        Counter(f"{KEY_PREFIX}:addr:{client_address(request)}", settings.LOGIN_FAILURES_PER_ADDRESS),
    ]


def retry_after(request: HttpRequest, username: str) -> int:
    """Seconds to wait before another attempt is allowed; 0 when one is allowed now."""
    wait = 0.0
    now = time.time()
    for counter in counters(request, username):
        count = cache.get(counter.key)
        started = cache.get(counter.key + ":start")
        if count is not None and count >= counter.limit:
            start = started if started is not None else now
            wait = max(wait, start + settings.LOGIN_FAILURE_WINDOW_S - now, 1.0)
    return math.ceil(wait)


def record_failure(request: HttpRequest, username: str) -> None:
    """Count one failed attempt against the username and the client address."""
    window = settings.LOGIN_FAILURE_WINDOW_S
    for counter in counters(request, username):
        if cache.add(counter.key, 0, timeout=window):  # first failure opens the window
            cache.set(counter.key + ":start", time.time(), timeout=window)
        try:
            cache.incr(counter.key)
        except ValueError:  # expired between add and incr
            cache.set(counter.key, 1, timeout=window)


def record_success(username: str) -> None:
    """A correct password: forget the username's earlier failures (not the address's)."""
    key = _username_key(username)
    cache.delete_many([key, key + ":start"])


def throttled_message(wait_s: int) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return (
        "Too many failed log-in attempts for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
