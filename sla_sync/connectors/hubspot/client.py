"""HubSpot SDK wiring: one configured ``hubspot.Client`` and :meth:`HubSpotClient.call`, the one
place every HubSpot call goes through (rate limiter, retries, error mapping, usage counters).

SKELETON (to be completed by the HTTP-layer owner): ``call`` currently calls straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

import hubspot

P = ParamSpec("P")
T = TypeVar("T")


class Endpoint(StrEnum):
    """Endpoint classes with separate budgets and counters."""

    SEARCH = "search"  # POST .../search: 4-5 per second per account, no rate-limit headers
    READ = "read"  # GET lists, batch read, owners, properties read
    WRITE = "write"  # batch update / create, property create
    ASSOCIATIONS = "associations"  # v4 associations batch read


class HubSpotClient:
    """A HubSpot portal: ``sdk`` is the configured SDK client; every call goes through
    :meth:`call`."""

    def __init__(self, *, token: str, base_url: str | None = None) -> None:
        host = {"host": base_url, "base_url": base_url} if base_url else {}
        self.sdk = hubspot.HubSpot(access_token=token, **host)

    def call(
        self, endpoint: Endpoint, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call ``fn(*args, **kwargs)`` under ``endpoint``'s budget and retry policy."""
        return fn(*args, **kwargs)

    def close(self) -> None:
        """Release pooled connections."""
