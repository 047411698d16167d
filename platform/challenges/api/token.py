"""`POST /api/token/`: a username and password for an API token, with log-in throttling.

DRF's `obtain_auth_token` checks passwords as fast as they arrive; this view counts
failures per username and per client address (hardening/login_limits.py, shared with the
log-in page) and answers 429 with Retry-After once either limit is reached.
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema, inline_serializer
from hardening import login_limits
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from challenges.api.schema import BAD_REQUEST, THROTTLED

TOKEN = inline_serializer("Token", {"token": serializers.CharField()})


class ThrottledObtainAuthToken(ObtainAuthToken):
    @extend_schema(responses={200: TOKEN, 400: BAD_REQUEST, 429: THROTTLED})
    def post(self, request: Request, *args, **kwargs) -> Response:
        data = request.data if isinstance(request.data, Mapping) else {}
        username = str(data.get("username") or "")
        wait = login_limits.retry_after(request, username)
        if wait:
            return Response(
                {"detail": login_limits.throttled_message(wait)},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        try:
            response = super().post(request, *args, **kwargs)
        except ValidationError:
            if username and data.get("password"):
                login_limits.record_failure(request, username)
            raise
        login_limits.record_success(username)
        return response


obtain_auth_token = ThrottledObtainAuthToken.as_view()
