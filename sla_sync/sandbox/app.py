"""The application shell every emulator runs in: vendor routes, fault injection, request log, and
the ``/__sandbox/`` control API.

An emulator implements :class:`Emulator` (its vendor routes, its own control routes, reset, seed,
rate-limit settings and the vendor's error shape for injected faults); :func:`build_app` wraps it.

Generic control API (JSON; never authenticated, logged, counted or faulted):

- ``POST /__sandbox/reset``: empty every store; clear faults, log, counters; clock to real time.
- ``POST /__sandbox/seed``: load data, ``{"generator": {...}}`` or the emulator's JSON shape.
- ``GET|POST /__sandbox/clock``: read, or set ``{"now": iso, "frozen": bool}`` or
  ``{"advance_seconds": n}``.
- ``GET|POST|DELETE /__sandbox/faults``: list, add a rule (:mod:`sla_sync.sandbox.faults`), clear.
- ``GET /__sandbox/requests?limit=N``: the most recent requests (method, path, endpoint, status).
- ``GET|DELETE /__sandbox/counters``: per-endpoint and per-status counts; reset them.
- ``GET|POST /__sandbox/ratelimits``: the emulator's rate-limit settings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from sla_sync.sandbox.clock import SandboxClock, iso_millis
from sla_sync.sandbox.faults import FaultKind, FaultPlan, FaultRule, FaultRuleError, parse_rule
from sla_sync.sandbox.requestlog import LoggedRequest, RequestLog

CONTROL_PREFIX = "/__sandbox"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Emulator(Protocol):
    """What an emulator gives the shell."""

    name: str

    def routes(self) -> Sequence[BaseRoute]:
        """The vendor API routes."""

    def control_routes(self) -> Sequence[BaseRoute]:
        """Emulator-specific control routes, mounted under ``/__sandbox/``."""

    def reset(self) -> None:
        """Empty every store (the clock, faults and log are reset by the shell)."""

    def seed(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Load data; returns counts. Raises ``ValueError`` for a malformed payload."""

    def rate_limits(self) -> Mapping[str, Any]:
        """Current rate-limit settings."""

    def set_rate_limits(self, settings: Mapping[str, Any]) -> Mapping[str, Any]:
        """Change rate-limit settings; returns the new ones. Raises ``ValueError`` if invalid."""

    def fault_response(self, rule: FaultRule) -> Response:
        """The vendor's answer for an injected error (its error body and headers)."""


def error(status: int, message: str) -> JSONResponse:
    """A control-API error."""
    return JSONResponse({"error": message}, status_code=status)


async def json_body(request: Request) -> Any:
    """The request's JSON body (``{}`` when empty).

    Raises:
        ValueError: the body is not JSON.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc.msg}") from None


def _control_routes(
    emulator: Emulator, clock: SandboxClock, faults: FaultPlan, log: RequestLog
) -> list[BaseRoute]:
    async def reset(request: Request) -> Response:
        emulator.reset()
        faults.clear()
        log.clear()
        clock.reset()
        return JSONResponse({"reset": emulator.name})

    async def seed(request: Request) -> Response:
        try:
            payload = await json_body(request)
            if not isinstance(payload, dict):
                raise ValueError("expected a JSON object")
            counts = await asyncio.to_thread(emulator.seed, payload)
        except ValueError as exc:
            return error(400, str(exc))
        return JSONResponse({"seeded": dict(counts)})

    async def clock_view(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await json_body(request)
                if "now" in body:
                    instant = datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00"))
                    clock.set(instant, frozen=body.get("frozen"))
                elif "frozen" in body:
                    clock.set(clock.now(), frozen=bool(body["frozen"]))
                if "advance_seconds" in body:
                    clock.advance(timedelta(seconds=float(body["advance_seconds"])))
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
        return JSONResponse({"now": iso_millis(clock.now()), "frozen": clock.frozen})

    async def faults_view(request: Request) -> Response:
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                body = await json_body(request)
                rules = body if isinstance(body, list) else [body]
                for rule in rules:
                    faults.add(parse_rule(rule))
            except (FaultRuleError, ValueError, AttributeError) as exc:
                return error(400, str(exc))
        return JSONResponse({"faults": faults.describe()})

    async def requests_view(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse({"requests": log.recent(limit)})

    async def counters_view(request: Request) -> Response:
        if request.method == "DELETE":
            log.clear()
        return JSONResponse(log.counters())

    async def ratelimits_view(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await json_body(request)
                return JSONResponse(dict(emulator.set_rate_limits(body)))
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
        return JSONResponse(dict(emulator.rate_limits()))

    return [
        Route("/reset", reset, methods=["POST"]),
        Route("/seed", seed, methods=["POST"]),
        Route("/clock", clock_view, methods=["GET", "POST"]),
        Route("/faults", faults_view, methods=["GET", "POST", "DELETE"]),
        Route("/requests", requests_view, methods=["GET"]),
        Route("/counters", counters_view, methods=["GET", "DELETE"]),
        Route("/ratelimits", ratelimits_view, methods=["GET", "POST"]),
    ]


class _SandboxMiddleware:
    """Applies injected faults and logs every vendor request under its route template."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        emulator: Emulator,
        routes: Sequence[BaseRoute],
        faults: FaultPlan,
        log: RequestLog,
        clock: SandboxClock,
    ) -> None:
        self.app = app
        self.emulator = emulator
        self.routes = routes
        self.faults = faults
        self.log = log
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        status_seen: list[int] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(int(message["status"]))
            await send(message)

        rule = self.faults.take(method, path)
        if rule is not None and rule.kind is FaultKind.LATENCY:
            await asyncio.sleep(rule.latency_ms / 1000)
            rule = None
        if rule is not None and rule.kind is FaultKind.STATUS:
            await self.emulator.fault_response(rule)(scope, receive, capture)
        elif rule is not None and rule.kind is FaultKind.REWRITE_STATUS:
            new_status = rule.status

            async def rewrite(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "status": new_status}
                await capture(message)

            await self.app(scope, receive, rewrite)
        elif rule is not None:  # commit-then-fail: the write happens, the client sees an error

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await self.emulator.fault_response(rule)(scope, receive, capture)
        else:
            await self.app(scope, receive, capture)
        self.log.record(
            LoggedRequest(
                at=self.clock.now(),
                method=method,
                path=path,
                endpoint=f"{method} {self._template(scope)}",
                status=status_seen[0] if status_seen else 0,
                token=None,
            )
        )

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL and isinstance(route, Route):
                return route.path
        return str(scope["path"])


def build_app(
    emulator: Emulator,
    *,
    clock: SandboxClock,
    faults: FaultPlan | None = None,
    log: RequestLog | None = None,
) -> Starlette:
    """The Starlette app serving ``emulator`` with the control API and fault/log middleware."""
    faults = faults or FaultPlan()
    log = log or RequestLog()
    vendor_routes = list(emulator.routes())
    control = _control_routes(emulator, clock, faults, log) + list(emulator.control_routes())
    app = Starlette(routes=[Mount(CONTROL_PREFIX, routes=control), *vendor_routes])
    app.state.emulator = emulator
    app.state.faults = faults
    app.state.log = log
    app.state.clock = clock
    app.add_middleware(
        _SandboxMiddleware,
        emulator=emulator,
        routes=vendor_routes,
        faults=faults,
        log=log,
        clock=clock,
    )
    return app
