"""Sign-up and log-in (log out is Django's own view).

Both send the user on only to a `next` on this site (hardening/redirects.py), and log-in
failures are throttled per username and client address like `/api/token/`
(hardening/login_limits.py).
"""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from hardening import login_limits
from hardening.redirects import safe_next

from web.forms import SignUpForm


def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(safe_next(request, "/"))
    else:
        form = SignUpForm()
    # Carried through the page so that a person who arrived from an invitation link comes
    # back to it after signing up (only a same-site target: safe_next).
    next_url = safe_next(request, "")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


class LoginView(auth_views.LoginView):
    """Django's log-in page, refusing attempts while the username or address is throttled.

    A throttled attempt is answered 429 with Retry-After and a message on the page, without
    checking the password (a correct one too): otherwise guessing could go on and only the
    answer would change. Django's LoginView already keeps `next` on this site.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = str(request.POST.get("username") or "")
        wait = login_limits.retry_after(request, username)
        if wait:
            context = self.get_context_data(
                form=self.form_class(request, initial={"username": username}),
                throttled=login_limits.throttled_message(wait),
            )
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        username = str(self.request.POST.get("username") or "")
        if username and self.request.POST.get("password"):
            login_limits.record_failure(self.request, username)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        login_limits.record_success(form.get_user().get_username())
        return super().form_valid(form)
