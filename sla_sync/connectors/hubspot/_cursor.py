"""The HubSpot pull cursor: a small JSON document, opaque to everything outside the connector.

Fields (all optional; instants as epoch milliseconds, ids as decimal strings)::

    {"v": 1,
     "hwm": 1795176000000,           # end of the last completed window: the next run's window
                                     # starts at hwm - lookback
     "lo": ..., "hi": ...,           # a window in progress (a run stopped inside it) ...
     "after": "10234",               # ... and the last object id stored in it
     "phase": "calls",               # multi-part streams: the part in progress
     "ran": 1795176000000}           # throttled streams: start of the last completed run

Every page yields a cursor, so a run killed after any stored page resumes inside the window it
was in (same bounds, ids above ``after``) instead of starting the window over.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
VERSION = 1


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected epoch milliseconds, got {value!r}")
    return datetime.fromtimestamp(value / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Decoded cursor. ``lo``/``hi``/``after`` are set only while a window is in progress."""

    hwm: datetime | None = None
    lo: datetime | None = None
    hi: datetime | None = None
    after: int = 0
    phase: str | None = None
    ran: datetime | None = None

    @property
    def in_window(self) -> bool:
        """Whether a run stopped inside a window (resume it first)."""
        return self.lo is not None and self.hi is not None

    def inside(self, lo: datetime, hi: datetime, after: int, phase: str | None = None) -> Cursor:
        """This cursor, positioned inside window ``[lo, hi]`` after object id ``after``."""
        return replace(self, lo=lo, hi=hi, after=after, phase=phase)

    def done(self, hwm: datetime) -> Cursor:
        """This cursor with the window ending at ``hwm`` completed."""
        return replace(self, hwm=hwm, lo=None, hi=None, after=0, phase=None)

    def encode(self) -> str:
        """The JSON string to store."""
        raw = asdict(self)
        out: dict[str, Any] = {"v": VERSION}
        for key in ("hwm", "lo", "hi", "ran"):
            if raw[key] is not None:
                out[key] = _ms(raw[key])
        if self.in_window:
            out["after"] = str(self.after)
        if self.phase is not None:
            out["phase"] = self.phase
        return json.dumps(out, separators=(",", ":"), sort_keys=True)


def decode(raw: str | None, *, stream: str) -> Cursor | None:
    """The cursor ``raw`` encodes; ``None`` for no cursor.

    An unreadable cursor (corrupted, or from an incompatible version) is logged and treated as
    none: the stream then re-reads from the beginning, which is slow but loses nothing.
    """
    if raw is None or raw == "":
        return None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError(f"unknown cursor version in {raw[:80]!r}")
        after = int(str(data.get("after", "0")))
        phase = data.get("phase")
        if phase is not None and not isinstance(phase, str):
            raise ValueError(f"bad phase {phase!r}")
        return Cursor(
            hwm=_instant(data.get("hwm")),
            lo=_instant(data.get("lo")),
            hi=_instant(data.get("hi")),
            after=after,
            phase=phase,
            ran=_instant(data.get("ran")),
        )
    except (ValueError, TypeError, OverflowError) as exc:
        log.warning("hubspot %s: unreadable cursor, starting over: %s", stream, exc)
        return None
