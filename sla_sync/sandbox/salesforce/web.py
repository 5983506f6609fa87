"""HTTP helpers shared by the route modules: Salesforce's error bodies and the authenticated-call
wrapper (session check -> 401, daily budget -> 403, ``Sforce-Limit-Info`` on every answer)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sla_sync.sandbox.salesforce.auth import Session, bearer

if TYPE_CHECKING:
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> JSONResponse:
    """A REST top-level error: always a JSON list ``[{"message","errorCode"(,"fields")}]``."""
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return JSONResponse([item], status_code=status)


def invalid_session() -> JSONResponse:
    """The 401 the client re-logs in on (it reads ``[0]["errorCode"]``)."""
    return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")


@dataclass(frozen=True, slots=True)
class Call:
    """An authenticated REST call: its session and the API version from the path."""

    request: Request
    session: Session
    version: str

    @property
    def base(self) -> str:
        """``/services/data/vXX.X``."""
        return f"/services/data/v{self.version}"

    def auto_assign(self) -> bool:
        """``Sforce-Auto-Assign``: TRUE unless the header says FALSE (REST's default)."""
        value = self.request.headers.get("sforce-auto-assign", "TRUE").strip().upper()
        return value not in ("FALSE", "0", "F", "NO")

    async def json(self) -> Any:
        """The JSON body. Raises ``ValueError`` when it is not JSON."""
        raw = await self.request.body()
        try:
            return json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Unexpected character at [line:{exc.lineno}, column:{exc.colno}]"
            ) from None


Handler = Callable[[Call], Awaitable[Response]]


def api(emulator: SalesforceEmulator, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``handler`` with session auth, the daily budget and the usage header."""

    async def endpoint(request: Request) -> Response:
        now = emulator.clock.now()
        with emulator.lock:
            session = emulator.auth.check(bearer(request.headers.get("authorization")), now)
            if session is None:
                return invalid_session()
            if not emulator.limits.consume(now):
                response: Response = sf_error(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                )
                response.headers["Sforce-Limit-Info"] = emulator.limits.header(now)
                return response
        version = request.path_params.get("version", "59.0")
        try:
            response = await handler(Call(request, session, version))
        except ValueError as exc:
            response = sf_error(400, "JSON_PARSER_ERROR", str(exc))
        with emulator.lock:
            response.headers["Sforce-Limit-Info"] = emulator.limits.header(now)
        return response

    return endpoint
