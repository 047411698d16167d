"""The admin's log-in page under the same password-guessing limits as the site's.

`/admin/login/` is a third door that takes a password, and the one to the most powerful
accounts; Django's `AdminSite.login` knows nothing of `login_limits`. `AdminSite.get_urls`
routes "login/" to the site's bound `login` attribute, so wrapping that attribute on the
site instance (in `config/urls.py`, before the URLs are built) puts the door behind the
shared counters without replacing Django's admin: refused while throttled (429 with
Retry-After, the password not checked), a failed attempt counted, a success resetting the
username's counter.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hardening import login_limits


def throttled_login(site: admin.AdminSite) -> Callable[..., HttpResponse]:
    """`site.login`, refusing and counting as the site's log-in page does."""
    original = site.login

    def login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method != "POST":
            return original(request, extra_context)
        username = str(request.POST.get("username") or "")
        wait = login_limits.retry_after(request, username)
        if wait:
            messages.error(request, login_limits.throttled_message(wait))
            context = {
                **site.each_context(request),
                "title": "Log in",
                "app_path": request.get_full_path(),
                "form": AdminAuthenticationForm(request, initial={"username": username}),
                "username": username,
            }
            response = TemplateResponse(request, "admin/login.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        response = original(request, extra_context)
        if response.status_code in (301, 302, 303):
            login_limits.record_success(username)
        elif username and request.POST.get("password"):
            login_limits.record_failure(request, username)
        return response

    return login
