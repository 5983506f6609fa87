"""The CRM-neutral budgets and retry policy, on a fake clock (a pure component: the clock and
the sleep are its inputs)."""

from __future__ import annotations

import random
import threading

import pytest

from sla_sync.connectors.base import QuotaExhaustedError
from sla_sync.connectors.ratelimit import (
    DailyBudget,
    RateLimiter,
    RetriesExhausted,
    RetryDecision,
    RetryPolicy,
    SlidingWindow,
    run_with_retries,
)


class FakeClock:
    """Monotonic time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def test_window_allows_limit_then_waits_for_the_oldest_to_age_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"read": [SlidingWindow(3, 10.0)]}, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire("read") for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 4.0
    assert limiter.acquire("read") == pytest.approx(6.0)  # first call was at 1000, now 1004
    assert clock.now == pytest.approx(1010.0)
    assert limiter.acquire("read") == pytest.approx(0.0)  # second call (1000) aged out too
    assert limiter.acquire("read") == pytest.approx(0.0)  # third (1000) as well
    assert limiter.acquire("read") == pytest.approx(10.0)  # fourth was at 1010


def test_rolling_window_never_exceeds_its_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"s": [SlidingWindow(4, 1.0)]}, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(40):
        limiter.acquire("s")
        starts.append(clock.now)
    for i, t in enumerate(starts):
        in_window = [u for u in starts[i:] if u < t + 1.0]
        assert len(in_window) <= 4


def test_shared_window_counts_every_class_and_unlisted_classes_are_free() -> None:
    clock = FakeClock()
    general = SlidingWindow(2, 10.0)
    limiter = RateLimiter(
        {"read": [general], "write": [general], "search": [SlidingWindow(1, 1.0)]},
        clock=clock,
        sleep=clock.sleep,
    )
    limiter.acquire("read")
    limiter.acquire("write")
    assert limiter.acquire("search") == 0.0  # its own window
    assert limiter.acquire("other") == 0.0  # not limited
    assert limiter.acquire("read") == pytest.approx(10.0)


def test_unlimited_never_waits() -> None:
    limiter = RateLimiter.unlimited()
    assert all(limiter.acquire("search") == 0.0 for _ in range(1000))


def test_limiter_is_thread_safe() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"r": [SlidingWindow(5, 10.0)]}, clock=clock, sleep=lambda s: None)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            w = limiter.acquire("r")
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 40 reservations without the clock moving: slots at 0,0,0,0,0,10,...,70 seconds ahead.
    assert sorted(waits) == [10.0 * (i // 5) for i in range(40)]


def test_window_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindow(0, 1.0)


def test_daily_budget_refuses_before_exceeding_the_share() -> None:
    budget = DailyBudget(share=0.5, spent_before=8, limit=20, connection="hs-main")
    budget.reserve()
    budget.reserve()  # 8 + 2 = 10 = 50 % of 20
    with pytest.raises(QuotaExhaustedError, match="hs-main"):
        budget.reserve()
    assert budget.used == 2


def test_daily_budget_takes_the_reported_limit_and_remaining() -> None:
    budget = DailyBudget(share=1.0, limit=1_000_000)
    budget.observe(limit=10, remaining=5)
    assert (budget.limit, budget.reported_limit, budget.allowance) == (10, 10, 10)
    budget.observe(limit=None, remaining=0)
    with pytest.raises(QuotaExhaustedError, match="no daily API calls left"):
        budget.reserve()


def test_daily_budget_unknown_limit_is_unbounded() -> None:
    budget = DailyBudget(share=0.1)
    for _ in range(100):
        budget.reserve()
    with pytest.raises(ValueError):
        DailyBudget(share=1.5)


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0)
    rng = random.Random(1)
    for n, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = [policy.backoff(n, rng=rng) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits)
        assert len(set(waits)) > 1  # jittered
    assert policy.backoff(1, scale=10.0, rng=rng) >= 4.0


class Flaky(Exception):
    pass


def test_retries_until_success_and_reports_each_retry() -> None:
    clock = FakeClock()
    calls = iter([Flaky(), Flaky(), "done"])
    seen: list[float] = []

    def attempt() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    out = run_with_retries(
        attempt,
        policy=RetryPolicy(backoff_base=1.0),
        decide=lambda e: RetryDecision(retry=True),
        sleep=clock.sleep,
        on_retry=lambda e, w: seen.append(w),
        rng=random.Random(0),
    )
    assert out == "done"
    assert seen == clock.slept
    assert len(seen) == 2
    assert 0.5 <= seen[0] <= 1.0 and 1.0 <= seen[1] <= 2.0


def test_retry_after_is_used_verbatim() -> None:
    clock = FakeClock()
    outcomes = iter([Flaky(), "ok"])

    def attempt() -> str:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    run_with_retries(
        attempt,
        policy=RetryPolicy(),
        decide=lambda e: RetryDecision(retry=True, retry_after=7.0),
        sleep=clock.sleep,
    )
    assert clock.slept == [7.0]


def test_attempts_and_total_wait_are_bounded() -> None:
    clock = FakeClock()

    def always() -> None:
        raise Flaky()

    with pytest.raises(RetriesExhausted) as caught:
        run_with_retries(
            always,
            policy=RetryPolicy(max_attempts=4, backoff_base=0.1),
            decide=lambda e: RetryDecision(retry=True),
            sleep=clock.sleep,
        )
    assert len(clock.slept) == 3
    assert isinstance(caught.value.last, Flaky)

    clock = FakeClock()
    with pytest.raises(RetriesExhausted):
        run_with_retries(
            always,
            policy=RetryPolicy(max_attempts=100, backoff_base=1.0, backoff_cap=4.0, max_wait=10.0),
            decide=lambda e: RetryDecision(retry=True),
            sleep=clock.sleep,
        )
    assert sum(clock.slept) <= 10.0

    clock = FakeClock()  # a Retry-After beyond the total bound: give up without sleeping
    with pytest.raises(RetriesExhausted):
        run_with_retries(
            always,
            policy=RetryPolicy(max_wait=5.0),
            decide=lambda e: RetryDecision(retry=True, retry_after=60.0),
            sleep=clock.sleep,
        )
    assert clock.slept == []


def test_non_retriable_failures_propagate_unchanged() -> None:
    clock = FakeClock()

    def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_with_retries(
            broken,
            policy=RetryPolicy(),
            decide=lambda e: RetryDecision(retry=False),
            sleep=clock.sleep,
        )
    assert clock.slept == []
