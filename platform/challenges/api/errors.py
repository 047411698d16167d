"""One error shape for the whole API: `{"detail": "<readable sentence>"}` (docs/api.md).

DRF answers a failed serializer with the serializer's own errors, e.g.
`{"params_total": ["Ensure this value is less than or equal to 10000000000000."]}`, which a
client that prints `detail` shows as nothing useful. This handler keeps that per-field
information under `fields` and adds a `detail` that names each field and its problem.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework.views import exception_handler as drf_exception_handler


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [m for item in value for m in _messages(item)]
    return [str(value)]


def readable_detail(data: Any) -> str:
    """"params_total: Ensure this value is ...; file: No file was submitted." for field errors."""
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            for message in _messages(value):
                parts.append(message if key == "non_field_errors" else f"{key}: {message}")
        return "; ".join(parts) or "The request is invalid."
    return "; ".join(_messages(data)) or "The request is invalid."


def exception_handler(exc: Exception, context: dict) -> Any:
    """DRF's handler, with every body reshaped to carry a readable `detail`."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, Http404):
        # Django's own text ("No Submission matches the given query.") speaks of queries;
        # and whether the object exists at all is not everyone's business.
        response.data = {"detail": "Not found (it does not exist, or you may not see it)."}
        return response
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return response
    response.data = {"detail": readable_detail(data)}
    if isinstance(data, dict):
        response.data["fields"] = {k: _messages(v) for k, v in data.items()}
    return response
