"""The org's daily API request allocation: a rolling 24-hour window on the sandbox clock.

Every authenticated REST call counts (the version list and logins do not). Past the budget the
service answers 403 ``REQUEST_LIMIT_EXCEEDED``; every counted response carries
``Sforce-Limit-Info: api-usage=N/M``.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(hours=24)
DEFAULT_DAILY_MAX = 100_000


class ApiLimits:
    """Rolling daily usage. Callers serialise access."""

    def __init__(self, daily_max: int = DEFAULT_DAILY_MAX) -> None:
        self.daily_max = daily_max
        self._calls: deque[datetime] = deque()

    def reset(self) -> None:
        self.daily_max = DEFAULT_DAILY_MAX
        self._calls.clear()

    def used(self, now: datetime) -> int:
        """Calls in the last 24 hours."""
        while self._calls and now - self._calls[0] >= WINDOW:
            self._calls.popleft()
        return len(self._calls)

    def consume(self, now: datetime) -> bool:
        """Count one call; ``False`` (and not counted) when the budget is spent."""
        if self.used(now) >= self.daily_max:
            return False
        self._calls.append(now)
        return True

    def header(self, now: datetime) -> str:
        """The ``Sforce-Limit-Info`` value."""
        return f"api-usage={self.used(now)}/{self.daily_max}"

    def set_used(self, used: int, now: datetime) -> None:
        """Pretend ``used`` calls were made just now (tests of the limit path)."""
        self._calls = deque([now] * max(0, used))

    def resource(self, now: datetime) -> dict[str, Any]:
        """``GET /limits`` body."""
        used = self.used(now)
        return {
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DailyApiRequests": {"Max": self.daily_max, "Remaining": max(0, self.daily_max - used)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
        }
