"""The HubSpot emulator: :class:`HubSpotEmulator` (the shell's ``Emulator``) and :func:`create_app`.

Point the real client at it with ``HubSpot(access_token="pat-sandbox-demo", host=url,
base_url=url)``. Seed with ``POST /__sandbox/seed`` (``{"generator": {...}}`` or
``{"owners": [...], "leads": [...], "touches": [...]}``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import BaseRoute

from sla_sync.sandbox.app import build_app
from sla_sync.sandbox.clock import SandboxClock
from sla_sync.sandbox.faults import FaultRule
from sla_sync.sandbox.hubspot import control, routes_meta, routes_objects
from sla_sync.sandbox.hubspot.portal import DEMO_TOKEN, Portal, Token
from sla_sync.sandbox.hubspot.search import SearchLimits
from sla_sync.sandbox.hubspot.seeding import load
from sla_sync.sandbox.hubspot.wire import (
    error_response,
    generic_error,
    json_response,
    rate_limit_body,
)

__all__ = ["DEMO_TOKEN", "HubSpotEmulator", "create_app"]


class HubSpotEmulator:
    """One emulated HubSpot portal (state, tokens, limits) behind the sandbox shell."""

    name = "hubspot"

    def __init__(self, clock: SandboxClock) -> None:
        self.portal = Portal(clock=clock)

    def routes(self) -> Sequence[BaseRoute]:
        """CRM objects, properties, owners, associations."""
        return [*routes_objects.routes(self.portal), *routes_meta.routes(self.portal)]

    def control_routes(self) -> Sequence[BaseRoute]:
        """Tokens, bulk-touch, merge, archive, options under ``/__sandbox/hubspot/``."""
        return control.routes(self.portal)

    def reset(self) -> None:
        """Empty the portal; only the demo token remains; default limits and options."""
        p = self.portal
        p.store.reset()
        p.store.lenient_engagements = False
        p.store.legacy_lifecycle_dates = True
        p.limiter.reset()
        p.limits = SearchLimits()
        p.tokens.clear()
        p.tokens[DEMO_TOKEN] = Token()

    def seed(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Ingest seed records (streamed from the generator, or JSON lists).

        Raises:
            ValueError: malformed payload or record.
        """
        records: Iterator[tuple[str, Mapping[str, Any]]]
        if "generator" in payload:
            from sla_sync.sandbox.seed import SeedSpec, iter_seed

            params = payload["generator"]
            if not isinstance(params, dict):
                raise ValueError("generator must be an object of SeedSpec fields")
            params = dict(params)
            if isinstance(params.get("start"), str):  # JSON carries instants as ISO strings
                params["start"] = datetime.fromisoformat(params["start"].replace("Z", "+00:00"))
            if isinstance(params.get("teams"), list):
                params["teams"] = tuple(params["teams"])
            try:
                spec = SeedSpec(**params)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            records = iter(iter_seed(spec))
        else:
            unknown = set(payload) - {"owners", "leads", "touches"}
            if unknown:
                raise ValueError(f"unknown seed keys: {sorted(unknown)}")
            records = self._json_records(payload)
        return load(self.portal.store, self.portal.now(), records)

    @staticmethod
    def _json_records(payload: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for key, kind in (("owners", "owner"), ("leads", "lead"), ("touches", "touch")):
            items = payload.get(key) or []
            if not isinstance(items, list):
                raise ValueError(f"{key} must be a list")
            for item in items:
                if not isinstance(item, dict):
                    raise ValueError(f"{key} entries must be objects")
                yield kind, item

    def rate_limits(self) -> Mapping[str, Any]:
        """Tier, daily budget, search rate and usage."""
        return self.portal.limiter.settings()

    def set_rate_limits(self, settings: Mapping[str, Any]) -> Mapping[str, Any]:
        """See :meth:`limits.RateLimiter.configure`."""
        return self.portal.limiter.configure(settings)

    def fault_response(self, rule: FaultRule) -> Response:
        """HubSpot's error answer for ``rule.status`` (429: the ten-secondly policy body;
        ``Retry-After`` in whole seconds only when the rule sets ``retry_after``).
        """
        status = rule.status or 500
        headers: dict[str, str] = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(rule.retry_after))
        if rule.body is not None:
            return json_response(rule.body, status, headers)
        if status == 429:
            return json_response(rate_limit_body("TEN_SECONDLY_ROLLING"), 429, headers)
        exc = generic_error(status)
        exc.headers.update(headers)
        return error_response(exc)


def create_app(clock: SandboxClock | None = None) -> Starlette:
    """A ready-to-serve HubSpot emulator app (its emulator is ``app.state.emulator``)."""
    clock = clock or SandboxClock()
    return build_app(HubSpotEmulator(clock), clock=clock)
