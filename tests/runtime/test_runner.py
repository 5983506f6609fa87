"""The APScheduler runner for real: jobs run, never two instances of one job at once, pause and
shutdown(wait) behave as the worker's stop needs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from sla_sync.runtime.runner import APSchedulerRunner, JobSpec
from tests.runtime import jobs_support

JOB = "tests.runtime.jobs_support:tracked_job"


def spec(name: str, every: float, seconds: float = 0, *, now: bool = True) -> JobSpec:
    return JobSpec(
        id=f"test:{name}",
        func=JOB,
        kwargs={"name": name, "seconds": str(seconds)},
        trigger=IntervalTrigger(seconds=every, timezone=UTC),
        description=name,
        run_at=datetime.now(UTC) if now else None,
    )


def wait_for(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def runner() -> Iterator[APSchedulerRunner]:
    jobs_support.reset()
    runner = APSchedulerRunner(max_workers=4)
    yield runner
    runner.shutdown(wait=True)


def test_a_job_runs_at_start_then_every_interval(runner: APSchedulerRunner) -> None:
    runner.add(spec("quick", every=0.2))
    assert runner.job_ids() == ["test:quick"]
    started = time.monotonic()
    runner.start()
    assert runner.running
    wait_for(lambda: jobs_support.runs.get("quick", 0) >= 1, timeout=1.0)
    assert time.monotonic() - started < 0.5  # the first run is at start, not one interval on
    wait_for(lambda: jobs_support.runs.get("quick", 0) >= 4)
    assert runner.next_run("test:quick") is not None


def test_a_job_never_runs_twice_at_once(runner: APSchedulerRunner) -> None:
    # Fires every 0.05 s, each run takes 0.3 s: the ticks that come while it runs are skipped.
    runner.add(spec("slow", every=0.05, seconds=0.3))
    runner.add(spec("other", every=0.05, seconds=0.3))
    runner.start()
    wait_for(lambda: jobs_support.runs.get("slow", 0) >= 3)
    runner.shutdown(wait=True)
    assert jobs_support.peak == {"slow": 1, "other": 1}
    # ... while two different jobs did run side by side on the pool.
    assert jobs_support.runs["other"] >= 2


def test_pause_takes_no_new_job_and_shutdown_waits_for_the_running_one(
    runner: APSchedulerRunner,
) -> None:
    runner.add(spec("long", every=0.1, seconds=0.6))
    runner.start()
    wait_for(lambda: jobs_support.running.get("long", 0) == 1)
    runner.pause()
    runner.shutdown(wait=True)
    assert jobs_support.running["long"] == 0  # shutdown returned after the run ended
    assert jobs_support.runs["long"] == 1
    assert not runner.running


def test_a_job_added_without_a_first_run_waits_for_its_trigger(runner: APSchedulerRunner) -> None:
    runner.add(spec("later", every=30, now=False))
    runner.start()
    time.sleep(0.3)
    assert jobs_support.runs.get("later", 0) == 0
    when = runner.next_run("test:later")
    assert when is not None and when > datetime.now(UTC)
    runner.remove("test:later")
    assert runner.job_ids() == []
