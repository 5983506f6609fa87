"""The request log and per-endpoint counters of one emulator.

Benchmarks and tests read these through the control API to assert how many calls a sync made per
endpoint (e.g. ``POST /crm/v3/objects/{objectType}/search``). Endpoints are keyed by the route
template, not the concrete path, so ids do not split the counts.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sla_sync.sandbox.clock import iso_millis

DEFAULT_CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the emulator answered it."""

    at: datetime
    method: str
    path: str
    endpoint: str
    status: int
    token: str | None


class RequestLog:
    """A bounded log of recent requests plus unbounded per-endpoint counters; thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def record(self, entry: LoggedRequest) -> None:
        """Log ``entry`` and count it under its endpoint and status."""
        with self._lock:
            self._entries.append(entry)
            self._counts[entry.endpoint] += 1
            self._statuses[str(entry.status)] += 1

    def clear(self) -> None:
        """Forget the log and the counters."""
        with self._lock:
            self._entries.clear()
            self._counts.clear()
            self._statuses.clear()

    def counters(self) -> dict[str, Any]:
        """``{"total": n, "by_endpoint": {...}, "by_status": {...}}``."""
        with self._lock:
            return {
                "total": sum(self._counts.values()),
                "by_endpoint": dict(sorted(self._counts.items())),
                "by_status": dict(sorted(self._statuses.items())),
            }

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The ``limit`` most recent requests, oldest first (tokens are never included)."""
        with self._lock:
            entries = list(self._entries)[-limit:] if limit > 0 else []
        return [
            {
                "at": iso_millis(e.at),
                "method": e.method,
                "path": e.path,
                "endpoint": e.endpoint,
                "status": e.status,
            }
            for e in entries
        ]
