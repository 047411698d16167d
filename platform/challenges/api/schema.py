"""OpenAPI pieces shared by the views: the error shape and the responses the views really
give (drf-spectacular documents only 200 unless told; schemathesis checks the rest)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetail(serializers.Serializer):
    """DRF's error answer (and the middleware's: hardening/responses.py)."""

    detail = serializers.CharField()


BAD_REQUEST = OpenApiResponse(
    ErrorDetail, description="A parameter is invalid (the detail says which)"
)
NOT_FOUND = OpenApiResponse(
    ErrorDetail, description="No such object, or one you may not see (never 403: ids do not leak)"
)
CONFLICT = OpenApiResponse(
    ErrorDetail,
    description="Not now: the object is not in a state that allows it (the detail says why)",
)
TOO_LARGE = OpenApiResponse(
    ErrorDetail, description="The upload is over the submission size limit (the detail says it)"
)
THROTTLED = OpenApiResponse(
    ErrorDetail, description="Too many requests or failed log-ins; wait Retry-After seconds"
)
BOARD = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The leaderboard: phase, site, ranking_method, entry_selection, columns, rows",
)
CSV_FILE = OpenApiResponse(OpenApiTypes.STR, description="The leaderboard as a CSV download")
JSON_FILE = OpenApiResponse(OpenApiTypes.OBJECT, description="The leaderboard as a JSON download")
