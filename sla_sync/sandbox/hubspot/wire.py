"""What goes on the wire: JSON responses and HubSpot's error bodies.

Every JSON answer carries ``Content-Type: application/json;charset=utf-8`` and an
``X-HubSpot-Correlation-Id`` header equal to the body's ``correlationId`` (where there is one).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json;charset=utf-8"
_encode = json.JSONEncoder(separators=(",", ":")).encode
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
TEN_SECONDLY_MESSAGE = "You have reached your ten_secondly_rolling limit."
SECONDLY_MESSAGE = "You have reached your secondly limit."
DAILY_MESSAGE = "You have reached your daily limit."

# Category a generic error of each status carries (what HubSpot's docs show for it).
_CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    414: "VALIDATION_ERROR",
    423: "LOCKED",
    429: "RATE_LIMITS",
}
_MESSAGES = {
    400: "There was a problem with the request.",
    403: "This app hasn't been granted all required scopes to make this call.",
    404: "resource not found",
    423: "Too many writes in a short period of time; retry after at least 2 seconds.",
    477: "This account is being migrated; retry later.",
}


class HubSpotError(Exception):
    """An error answer: raised inside handlers, rendered by :func:`error_response`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category or _CATEGORIES.get(status, "INTERNAL_ERROR")
        self.errors = errors
        self.context = context
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON error body (``status, message, correlationId, category`` + optional parts)."""
        out: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
        }
        if self.errors:
            out["errors"] = self.errors
        if self.context:
            out["context"] = self.context
        return out


def correlation_id() -> str:
    """A fresh correlation id (HubSpot uses UUIDs)."""
    return str(uuid.uuid4())


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as compact JSON with HubSpot's content type."""
    payload = _encode(body).encode()
    out = dict(headers or {})
    if isinstance(body, dict) and "correlationId" in body:
        out["X-HubSpot-Correlation-Id"] = str(body["correlationId"])
    else:
        out.setdefault("X-HubSpot-Correlation-Id", correlation_id())
    return Response(payload, status_code=status, headers=out, media_type=JSON_TYPE)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    """204 with an empty body (archive endpoints)."""
    return Response(b"", status_code=204, headers=dict(headers or {}))


def error_response(exc: HubSpotError) -> Response:
    """Render ``exc`` as HubSpot does."""
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["X-HubSpot-Auth-Failure"] = "401 Unauthorized"
    return json_response(exc.body(), exc.status, headers)


def generic_error(status: int, message: str | None = None) -> HubSpotError:
    """HubSpot's error for ``status`` with its usual category and message."""
    if status == 401:
        return HubSpotError(401, message or AUTH_MESSAGE)
    if status == 429:
        return HubSpotError(429, message or TEN_SECONDLY_MESSAGE)
    default = "internal error" if status >= 500 else "There was a problem with the request."
    return HubSpotError(status, message or _MESSAGES.get(status, default))


def rate_limit_body(policy: str) -> dict[str, Any]:
    """The documented 429 body for ``policy`` (``TEN_SECONDLY_ROLLING``, ``SECONDLY``, ``DAILY``).

    Both ``errorType`` (older captures) and ``category`` (current docs) are emitted.
    """
    message = {
        "TEN_SECONDLY_ROLLING": TEN_SECONDLY_MESSAGE,
        "SECONDLY": SECONDLY_MESSAGE,
        "DAILY": DAILY_MESSAGE,
    }[policy]
    group = {
        "TEN_SECONDLY_ROLLING": "publicapi:private-app-api-calls-ten-secondly:1",
        "SECONDLY": "publicapi:crm-search-secondly:1",
        "DAILY": "publicapi:private-app-api-calls-daily:1",
    }[policy]
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": group,
        "category": "RATE_LIMITS",
    }


def validation_error(message: str, code: str, prop: str | None = None) -> dict[str, Any]:
    """One entry of an error body's ``errors`` list."""
    entry: dict[str, Any] = {"message": message, "code": code}
    if prop is not None:
        entry["context"] = {"propertyName": [prop]}
    return entry
