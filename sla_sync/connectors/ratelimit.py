"""Call budgets and the retry policy of the CRM connectors (CRM-neutral).

- :class:`SlidingWindow` / :class:`RateLimiter`: at most ``limit`` calls in any rolling
  ``seconds`` window, per endpoint class; several classes may share a window (HubSpot's
  10-second window covers reads and writes alike). A caller *reserves* the earliest free slot
  under a lock and sleeps outside it, so threads never overrun a window and never busy-wait.
  The clock and the sleep are injectable: a fake clock makes the limiter testable without time
  passing.
- :class:`DailyBudget`: the share of a CRM's daily quota one connection may spend; refuses a
  call *before* it is made once the share is spent.
- :class:`RetryPolicy` and :func:`run_with_retries`: bounded attempts and bounded total wait,
  exponential backoff with jitter, a server's ``Retry-After`` honoured; built on tenacity. This
  is the connectors' only retry layer (the vendor SDKs' own retries are switched off).
- :class:`UsageCounter`: calls, retries and rate-limit answers per endpoint class.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from sla_sync.connectors.base import QuotaExhaustedError

T = TypeVar("T")

Clock = Callable[[], float]
"""Monotonic seconds (``time.monotonic``)."""
Sleep = Callable[[float], None]
"""Blocks for that many seconds (``time.sleep``)."""


# --------------------------------------------------------------------------- windows


class SlidingWindow:
    """At most ``limit`` calls in any rolling ``seconds``; thread-safe only under the lock of the
    :class:`RateLimiter` that owns it.

    The window keeps the instants of the last ``limit`` calls (reserved ones may lie in the
    future). A new call may start once the ``limit``-th most recent one is ``seconds`` old:
    the same rolling rule the CRMs apply, so honouring it never earns a 429.
    """

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"a window needs limit >= 1 and seconds > 0, got {limit}/{seconds}")
        self.limit = limit
        self.seconds = seconds
        self._starts: deque[float] = deque(maxlen=limit)

    def earliest(self, now: float) -> float:
        """The earliest instant (>= ``now``) a new call may start."""
        if len(self._starts) < self.limit:
            return now
        return max(now, self._starts[0] + self.seconds)

    def take(self, at: float) -> None:
        """Record a call starting at ``at`` (not before any recorded start)."""
        self._starts.append(at)


class RateLimiter:
    """Budgets per endpoint class: ``windows`` maps a class (e.g. ``"search"``) to the windows
    every call of that class must fit (the same :class:`SlidingWindow` object may appear under
    several classes: they then share it). A class that is not listed is not limited.

    :meth:`acquire` blocks until the call may start and returns the seconds it waited.
    Thread-safe.
    """

    def __init__(
        self,
        windows: Mapping[str, Iterable[SlidingWindow]],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._windows = {key: tuple(ws) for key, ws in windows.items()}
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    @classmethod
    def unlimited(cls) -> RateLimiter:
        """A limiter that never waits (benchmarks, ``rate_limits=False``)."""
        return cls({})

    def acquire(self, key: str) -> float:
        """Wait for a slot of ``key`` in all its windows; returns the seconds waited."""
        windows = self._windows.get(key, ())
        if not windows:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(w.earliest(now) for w in windows)
            for w in windows:
                w.take(start)
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)


# --------------------------------------------------------------------------- daily budget


class DailyBudget:
    """The share of a CRM's daily API quota this connection may spend today.

    ``spent_before``: calls sla-sync already made today for this connection (earlier runs).
    ``limit``: the daily quota, as configured (the tier's documented figure) until the CRM
    reports its own (:meth:`observe`). :meth:`reserve` counts one call, or raises
    :class:`QuotaExhaustedError` without counting when that call would exceed
    ``share x limit``, or when the CRM said nothing remains. Thread-safe.
    """

    def __init__(
        self,
        *,
        share: float = 1.0,
        spent_before: int = 0,
        limit: int | None = None,
        connection: str = "",
    ) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"daily quota share must be within 0..1, got {share}")
        if spent_before < 0:
            raise ValueError(f"spent_before must be >= 0, got {spent_before}")
        self.share = share
        self.spent_before = spent_before
        self.limit = limit
        self.remaining: int | None = None
        self.reported_limit: int | None = None
        self.used = 0
        self._connection = connection
        self._lock = threading.Lock()

    @property
    def allowance(self) -> int | None:
        """Calls allowed today (``share x limit``, rounded down), or None when unknown."""
        return None if self.limit is None else math.floor(self.share * self.limit)

    def reserve(self) -> None:
        """Count one call about to be made.

        Raises:
            QuotaExhaustedError: the call would exceed the share, or the CRM has none left.
        """
        with self._lock:
            allowance = self.allowance
            where = f"{self._connection}: " if self._connection else ""
            if allowance is not None and self.spent_before + self.used + 1 > allowance:
                raise QuotaExhaustedError(
                    f"{where}daily API budget spent: {self.spent_before} calls earlier today + "
                    f"{self.used} this run reach {self.share:.0%} of the daily limit "
                    f"{self.limit}"
                )
            if self.remaining is not None and self.remaining <= 0:
                raise QuotaExhaustedError(f"{where}the CRM reports no daily API calls left")
            self.used += 1

    def observe(self, *, limit: int | None, remaining: int | None) -> None:
        """Take the CRM's own figures from a response (either may be missing); a reported
        limit replaces the configured one (``reported_limit`` keeps it apart)."""
        with self._lock:
            if limit is not None and limit > 0:
                self.limit = self.reported_limit = limit
            if remaining is not None:
                self.remaining = remaining


# --------------------------------------------------------------------------- usage


class UsageCounter:
    """Calls, retries and rate-limit answers per endpoint class; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.rate_limited = 0

    def call(self, key: str) -> None:
        """One request sent (first attempt or retry)."""
        with self._lock:
            self.calls[key] += 1

    def retry(self, key: str) -> None:
        """One retry decided."""
        with self._lock:
            self.retries[key] += 1

    def limited(self) -> None:
        """One 429 received."""
        with self._lock:
            self.rate_limited += 1


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What the connector's error classifier says about one failed attempt.

    ``retry``: try again. ``scale``: multiplies the policy's backoff base (a rate-limit window
    needs longer pauses than a 502). ``retry_after``: seconds the server asked for (used as the
    wait, never shortened by jitter).
    """

    retry: bool
    scale: float = 1.0
    retry_after: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` attempts in all, and never more than
    ``max_wait`` seconds spent sleeping between them; a wait that would cross ``max_wait``
    ends the retries at once (the caller gets the error, not a late success).

    Backoff before retry *n* (1-based): ``min(cap, base x scale x 2**(n-1))`` with equal
    jitter (half fixed, half random), so a crowd of workers does not retry in lockstep.
    ``Retry-After`` replaces the backoff (when it alone exceeds ``max_wait`` nothing is slept).
    """

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_wait: float = 120.0

    def backoff(self, retry_number: int, *, scale: float = 1.0, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        full = min(self.backoff_cap, self.backoff_base * scale * 2.0 ** (retry_number - 1))
        return float(full / 2 + rng.uniform(0, full / 2))


class RetriesExhausted(Exception):
    """Internal: raised by :func:`run_with_retries` when the policy gives up on a retriable
    failure; ``__cause__`` is the last failure, ``waited`` the seconds slept."""

    def __init__(self, last: BaseException, waited: float) -> None:
        super().__init__(str(last))
        self.last = last
        self.waited = waited


def run_with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    decide: Callable[[BaseException], RetryDecision],
    sleep: Sleep = time.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``attempt`` until it returns, retrying what ``decide`` calls retriable.

    A failure ``decide`` does not retry propagates unchanged. A retriable failure that
    outlives the policy raises :class:`RetriesExhausted` (from that failure).
    ``on_retry(failure, wait)`` is called before each sleep (counters, logs).
    """
    rng = rng or random.Random()
    pending: dict[str, RetryDecision] = {}

    def failure(state: tenacity.RetryCallState) -> BaseException | None:
        outcome = state.outcome
        return outcome.exception() if outcome is not None and outcome.failed else None

    def retry_if(state: tenacity.RetryCallState) -> bool:
        exc = failure(state)
        if exc is None:
            return False
        decision = decide(exc)
        pending["last"] = decision
        return decision.retry

    def wait(state: tenacity.RetryCallState) -> float:
        decision = pending.get("last", RetryDecision(retry=True))
        if decision.retry_after is not None:
            return max(0.0, decision.retry_after)
        return policy.backoff(state.attempt_number, scale=decision.scale, rng=rng)

    def stop(state: tenacity.RetryCallState) -> bool:
        upcoming = state.upcoming_sleep or 0.0
        return state.attempt_number >= policy.max_attempts or (
            state.idle_for + upcoming > policy.max_wait
        )

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = failure(state)
        if on_retry is not None and exc is not None:
            on_retry(exc, state.upcoming_sleep or 0.0)

    def give_up(state: tenacity.RetryCallState) -> T:
        last = failure(state)
        assert last is not None  # tenacity gives up only after a failed attempt
        raise RetriesExhausted(last, state.idle_for) from last

    retrying = tenacity.Retrying(
        retry=retry_if,
        wait=wait,
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    try:
        return retrying(attempt)
    except tenacity.RetryError as exc:  # pragma: no cover - give_up always raises first
        raise RetriesExhausted(exc, 0.0) from exc
