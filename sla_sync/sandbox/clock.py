"""A clock the emulators read instead of the system time, so tests and demos can move it.

The sandbox stands in for a vendor, and vendors stamp records with *their* time; being able to
freeze, set and advance that time is what makes lifecycle dates, ``lastmodifieddate`` windows and
session expiry testable. By default it follows real time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Thread-safe settable clock. ``now()`` is always an aware UTC datetime.

    Running mode (default): real time plus an offset. Frozen mode: a fixed instant that moves only
    through :meth:`set` or :meth:`advance`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        """The emulated current instant (UTC)."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.fromtimestamp(time.time(), UTC) + self._offset

    def set(self, instant: datetime, *, frozen: bool | None = None) -> None:
        """Jump to ``instant``; ``frozen`` switches mode (``None`` keeps the current one).

        Raises:
            ValueError: ``instant`` has no time zone.
        """
        if instant.tzinfo is None:
            raise ValueError("the sandbox clock takes aware datetimes only")
        instant = instant.astimezone(UTC)
        with self._lock:
            keep_frozen = self._frozen_at is not None if frozen is None else frozen
            if keep_frozen:
                self._frozen_at = instant
            else:
                self._frozen_at = None
                self._offset = instant - datetime.fromtimestamp(time.time(), UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (either mode); returns the new instant."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
                return self._frozen_at
            self._offset += delta
            return datetime.fromtimestamp(time.time(), UTC) + self._offset

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        with self._lock:
            return self._frozen_at is not None


def iso_millis(instant: datetime) -> str:
    """``2026-11-20T18:00:00.123Z``: the timestamp format both vendors' JSON uses."""
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
