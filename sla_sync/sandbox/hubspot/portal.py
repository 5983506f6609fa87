"""The per-app context vendor routes share, and the endpoint wrapper that makes them HubSpot-like.

:func:`endpoint` turns a synchronous handler ``(request, body) -> Response`` into a Starlette
endpoint that checks the Bearer token (401 ``INVALID_AUTHENTICATION``), counts the request against
the rate limits (429 with the policy body), parses the JSON body, runs the handler under the store
lock and adds the ``X-HubSpot-RateLimit-*`` headers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sla_sync.sandbox.clock import SandboxClock
from sla_sync.sandbox.hubspot.limits import RateLimited, RateLimiter
from sla_sync.sandbox.hubspot.records import iso_ms
from sla_sync.sandbox.hubspot.schema import ALIASES
from sla_sync.sandbox.hubspot.search import SearchLimits
from sla_sync.sandbox.hubspot.state import Store
from sla_sync.sandbox.hubspot.wire import (
    AUTH_MESSAGE,
    HubSpotError,
    error_response,
    json_response,
    rate_limit_body,
)

Handler = Callable[[Request, Any], Response]
Endpoint = Callable[[Request], Awaitable[Response]]
DEMO_TOKEN = "pat-sandbox-demo"


@dataclass
class Token:
    """A registered access token."""

    expires_at: datetime | None = None
    revoked: bool = False


@dataclass
class Portal:
    """Everything a vendor route needs."""

    clock: SandboxClock
    store: Store = field(default_factory=Store)
    limits: SearchLimits = field(default_factory=SearchLimits)
    tokens: dict[str, Token] = field(default_factory=dict)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.clock.now)
        self.tokens.setdefault(DEMO_TOKEN, Token())

    def now(self) -> str:
        """The sandbox instant as HubSpot prints it."""
        return iso_ms(self.clock.now())

    def authenticate(self, request: Request) -> str:
        """The request's valid token.

        Raises:
            HubSpotError: 401 when the header is missing, the token unknown, revoked or expired.
        """
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        state = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if state is None or state.revoked:
            raise HubSpotError(401, AUTH_MESSAGE, category="INVALID_AUTHENTICATION")
        if state.expires_at is not None and self.clock.now() >= state.expires_at:
            message = "The OAuth token used to make this call expired."
            raise HubSpotError(401, message, category="INVALID_AUTHENTICATION")
        return token.strip()

    def object_type(self, raw: str) -> str:
        """The canonical object type for a path segment.

        Raises:
            HubSpotError: 400 for a type the portal does not have.
        """
        found = ALIASES.get(raw.lower())
        if found is None:
            raise HubSpotError(400, f"Unable to infer object type from: {raw}")
        return found


def endpoint(portal: Portal, handler: Handler, *, search: bool = False) -> Endpoint:
    """Wrap ``handler`` with auth, rate limits, JSON parsing, locking and error rendering."""

    async def run(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            token = portal.authenticate(request)
            try:
                headers = portal.limiter.check(token, search=search)
            except RateLimited as exc:
                return json_response(rate_limit_body(exc.policy), 429)
            body: Any = None
            if request.method in ("POST", "PATCH", "PUT"):
                raw = await request.body()
                cap = portal.limits.max_body_chars
                if search and len(raw) > cap and len(raw.decode("utf-8", "replace")) > cap:
                    message = f"Search request body exceeds the limit of {cap} characters"
                    raise HubSpotError(400, message, category="VALIDATION_ERROR")
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError:
                    raise HubSpotError(400, "Invalid input JSON on line 1") from None
            with portal.store.lock:
                response = handler(request, body)
        except HubSpotError as exc:
            exc.headers.update(headers)
            return error_response(exc)
        response.headers.update(headers)
        return response

    return run


def multi(request: Request, name: str) -> list[str]:
    """A list query parameter: repeated keys and comma-separated values both work."""
    out: list[str] = []
    for value in request.query_params.getlist(name):
        out.extend(v for v in value.split(",") if v)
    return out


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter, case-insensitive (the client sends ``False``)."""
    return request.query_params.get(name, "false").strip().lower() == "true"


def int_param(request: Request, name: str, default: int, maximum: int) -> int:
    """An integer query parameter in ``1..maximum``.

    Raises:
        HubSpotError: 400 when it is not a number or out of range.
    """
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise HubSpotError(400, f"{name} must be an integer") from None
    if not 0 < value <= maximum:
        raise HubSpotError(400, f"{name} must be between 1 and {maximum}, got {value}")
    return value
