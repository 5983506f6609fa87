"""Rate limits as HubSpot applies them to a private-app token.

- A rolling 10-second window per token (tier 100 / 190 / 250, or ``"off"`` for benchmarks):
  429 ``TEN_SECONDLY_ROLLING``.
- Search: 5 requests per rolling second for the account: 429 "You have reached your secondly
  limit." (policy ``SECONDLY``). Search requests do not count against the 10-second window and
  their responses carry no rate-limit headers.
- A daily budget for the account, reset at midnight UTC: 429 ``DAILY``.

Time comes from the sandbox clock, so a frozen clock makes limits testable without sleeping.
Rejected requests are not counted.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

TIERS = {100: 250_000, 190: 625_000, 250: 1_000_000}
WINDOW_S = 10.0


class RateLimited(Exception):
    """A request over a limit; ``policy`` names the 429 body to send."""

    def __init__(self, policy: str) -> None:
        super().__init__(policy)
        self.policy = policy


class RateLimiter:
    """Per-token window, account search and daily counters; thread-safe."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Default settings (tier 190, 5 searches/s) and empty counters."""
        with self._lock:
            self.enabled = True
            self.tier = 190
            self.daily = TIERS[190]
            self.search_per_second = 5
            self._windows: dict[str, deque[float]] = {}
            self._search: deque[float] = deque()
            self._day: str = ""
            self._day_count = 0

    def settings(self) -> dict[str, Any]:
        """The current settings and usage."""
        with self._lock:
            return {
                "tier": self.tier if self.enabled else "off",
                "ten_second_max": self.tier,
                "daily": self.daily,
                "daily_used": self._day_count,
                "search_per_second": self.search_per_second,
            }

    def configure(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``{"tier": 100|190|250|"off", "daily": n, "search_per_second": n}``.

        Choosing a tier also sets its documented daily budget unless ``daily`` is given.
        ``"reset_counters": true`` forgets usage.

        Raises:
            ValueError: an unknown tier or a non-positive number.
        """
        with self._lock:
            if "tier" in body:
                tier = body["tier"]
                if tier == "off":
                    self.enabled = False
                elif tier in TIERS:
                    self.enabled, self.tier, self.daily = True, int(tier), TIERS[int(tier)]
                else:
                    raise ValueError(f"tier must be one of 100, 190, 250 or 'off', got {tier!r}")
            for key in ("daily", "search_per_second"):
                if key in body:
                    value = body[key]
                    if not isinstance(value, int) or value < 1:
                        raise ValueError(f"{key} must be a positive integer")
                    setattr(self, key, value)
            if body.get("reset_counters"):
                self._windows.clear()
                self._search.clear()
                self._day_count = 0
        return self.settings()

    def check(self, token: str, *, search: bool) -> dict[str, str]:
        """Count one request; returns the ``X-HubSpot-RateLimit-*`` headers to send (none for
        search or when limits are off).

        Raises:
            RateLimited: the request is over a limit (and is not counted).
        """
        if not self.enabled:
            return {}
        instant = self._now()
        t = instant.timestamp()
        day = instant.strftime("%Y-%m-%d")
        with self._lock:
            if day != self._day:
                self._day, self._day_count = day, 0
            if self._day_count >= self.daily:
                raise RateLimited("DAILY")
            if search:
                while self._search and self._search[0] <= t - 1.0:
                    self._search.popleft()
                if len(self._search) >= self.search_per_second:
                    raise RateLimited("SECONDLY")
                self._search.append(t)
                self._day_count += 1
                return {}
            window = self._windows.setdefault(token, deque())
            while window and window[0] <= t - WINDOW_S:
                window.popleft()
            if len(window) >= self.tier:
                raise RateLimited("TEN_SECONDLY_ROLLING")
            window.append(t)
            self._day_count += 1
            secondly = max(1, self.tier // 10)
            recent = sum(1 for x in window if x > t - 1.0)
            return {
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(self.daily - self._day_count),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_S * 1000)),
                "X-HubSpot-RateLimit-Max": str(self.tier),
                "X-HubSpot-RateLimit-Remaining": str(self.tier - len(window)),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - recent)),
            }
