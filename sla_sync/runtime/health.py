"""Whether the worker is alive (``/healthz``) and ready (``/readyz``): :class:`HealthState`.

A pure, thread-safe record of what the scheduler and the sync cycles of this process did, fed
by the worker (scheduler start and stop, each cycle's start and :class:`CycleReport`) and read
by the HTTP endpoints. It keeps no history of its own beyond the process: a restarted worker
starts with a grace period.

Healthy (``/healthz`` 200) means all of:

* the scheduler is running (started and not stopped: a worker shutting down is unhealthy);
* every watched connection finished a cycle (any outcome) within ``stale_after`` x its sync
  interval. A cycle still running does not count until it finishes, so a hung cycle turns the
  worker unhealthy. Before a connection's first cycle of this process finishes, the grace period
  runs from the scheduler's start for the same ``stale_after`` x interval;
* no connection's last ``stale_after`` finished cycles all *failed* (bad credentials, the SLA
  fields missing in the CRM, a bug: the worker is alive but does nothing useful). A *partial*
  cycle (the daily API quota spent, the CRM down or throttling) breaks such a streak: the worker
  did what the CRM let it and the rest is queued.

Ready (``/readyz`` 200) means the store answers and is migrated to the revision this version
ships (:func:`store_check`), and the scheduler is running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from sla_sync.store.migrate import head_revision
from sla_sync.store.records import RunOutcome

if TYPE_CHECKING:
    from sla_sync.definitions import SlaSyncConfig
    from sla_sync.pipeline.cycle import CycleReport

#: Longest error text shown in a health answer (the run ledger keeps the whole text).
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The store as ``/readyz`` sees it: ``ok`` when it answers and is at ``head``.

    ``revision`` is the database's migration revision (``None``: never migrated, or not
    reachable); ``error`` says why it is not ready.
    """

    ok: bool
    revision: str | None
    head: str
    error: str | None = None


StoreCheck = Callable[[], StoreStatus]


def store_check(engine: Engine) -> StoreCheck:
    """A check of ``engine``'s store for :class:`HealthState` (one short query per call).

    Never raises: an unreachable database is a ``StoreStatus`` with ``ok=False`` and the
    error's class and first line (driver messages name the host and user, not the password).
    """
    head = head_revision()

    def check() -> StoreStatus:
        try:
            with engine.connect() as connection:
                revision = MigrationContext.configure(connection).get_current_revision()
        except Exception as exc:
            return StoreStatus(ok=False, revision=None, head=head, error=_error_line(exc))
        if revision != head:
            reason = "never migrated" if revision is None else f"at revision {revision}"
            return StoreStatus(
                ok=False,
                revision=revision,
                head=head,
                error=f"store {reason}, this version needs {head}: run `sla-sync db upgrade`",
            )
        return StoreStatus(ok=True, revision=revision, head=head)

    return check


@dataclass(slots=True)
class _Connection:
    interval: timedelta | None
    running_since: datetime | None = None
    last_finished_at: datetime | None = None
    last_outcome: RunOutcome | None = None
    last_run_id: str | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0


class HealthState:
    """What ``/healthz`` and ``/readyz`` answer (see the module docstring for the rules).

    Args:
        intervals: the sync interval of each connection the scheduler runs; only these are
            watched for staleness (a cycle of another connection is shown but not watched).
        stale_after: ``worker.stale_after``: how many intervals without a finished cycle, and
            how many failed cycles in a row, make the worker unhealthy (at least 1).
        clock: aware UTC now (the worker's clock; tests pass a fake one).
        store: the readiness check of the store (:func:`store_check`); ``None``: not checked
            (``readyz`` then only asks whether the scheduler runs).

    Every method is thread-safe: jobs report from the scheduler's pool, the HTTP server reads
    from its own threads.
    """

    def __init__(
        self,
        intervals: Mapping[str, timedelta],
        *,
        stale_after: int,
        clock: Callable[[], datetime],
        store: StoreCheck | None = None,
    ) -> None:
        if stale_after < 1:
            raise ValueError("stale_after must be at least 1")
        self._lock = threading.Lock()
        self._stale_after = stale_after
        self._clock = clock
        self._store = store
        self._connections = {name: _Connection(interval) for name, interval in intervals.items()}
        self._started_at: datetime | None = None
        self._stopped_at: datetime | None = None

    @classmethod
    def from_config(
        cls,
        config: SlaSyncConfig,
        *,
        clock: Callable[[], datetime],
        store: StoreCheck | None = None,
    ) -> HealthState:
        """Every connection of ``config`` watched at ``worker.sync_every``."""
        worker = config.worker
        return cls(
            {connection.name: worker.sync_every for connection in config.connections},
            stale_after=worker.stale_after,
            clock=clock,
            store=store,
        )

    # ------------------------------------------------------------------ reports

    def scheduler_started(self, at: datetime | None = None) -> None:
        """The scheduler runs (from ``at``, default now): the grace period starts."""
        with self._lock:
            self._started_at = self._instant(at)
            self._stopped_at = None

    def scheduler_stopped(self, at: datetime | None = None) -> None:
        """The scheduler stopped taking jobs (shutdown): unhealthy and not ready from now."""
        with self._lock:
            self._stopped_at = self._instant(at)

    def cycle_started(self, connection: str, at: datetime | None = None) -> None:
        """A cycle of ``connection`` began (shown as ``running_since``)."""
        with self._lock:
            self._entry(connection).running_since = self._instant(at)

    def cycle_finished(self, connection: str, report: CycleReport) -> None:
        """A cycle of ``connection`` ended with ``report`` (its ``outcome`` and ``ended_at``).

        Raises:
            ValueError: the report is still ``running`` or has no ``ended_at``.
        """
        if report.outcome is RunOutcome.RUNNING or report.ended_at is None:
            raise ValueError(f"run {report.run_id} has not finished")
        self._finished(
            connection, report.outcome, _utc(report.ended_at), report.run_id, report.error
        )

    def cycle_raised(self, connection: str, error: str, at: datetime | None = None) -> None:
        """A cycle of ``connection`` raised instead of returning a report (``run_cycle``
        re-raises a bug after recording it as failed): counted as a failed cycle."""
        with self._lock:
            ended_at = self._instant(at)
        self._finished(connection, RunOutcome.FAILED, ended_at, None, error)

    def _finished(
        self,
        connection: str,
        outcome: RunOutcome,
        ended_at: datetime,
        run_id: str | None,
        error: str | None,
    ) -> None:
        with self._lock:
            entry = self._entry(connection)
            entry.running_since = None
            entry.last_finished_at = ended_at
            entry.last_outcome = outcome
            entry.last_run_id = run_id
            entry.last_error = _shorten(error)
            if outcome is RunOutcome.SUCCESS:
                entry.last_success_at = ended_at
            if outcome is RunOutcome.FAILED:
                entry.consecutive_failures += 1
            else:
                entry.consecutive_failures = 0

    # ------------------------------------------------------------------ answers

    def healthz(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, detail)``; ``detail`` is the JSON body of ``/healthz``.

        ``detail["problems"]`` lists, in words, every reason the worker is unhealthy;
        ``detail["connections"]`` shows each connection's last cycle, its failure streak and
        the age limit it is held to.
        """
        now = _utc(self._clock())
        with self._lock:
            problems = self._scheduler_problems()
            connections: dict[str, Any] = {}
            for name in sorted(self._connections):
                entry = self._connections[name]
                problem = self._connection_problem(entry, now)
                if problem is not None:
                    problems.append(f"{name}: {problem}")
                connections[name] = _connection_detail(entry, self._stale_after, problem)
            scheduler = self._scheduler_detail()
        ok = not problems
        detail = {
            "status": "ok" if ok else "unhealthy",
            "checked_at": _iso(now),
            "problems": problems,
            "scheduler": scheduler,
            "connections": connections,
        }
        return ok, detail

    def readyz(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, detail)``; ``detail`` is the JSON body of ``/readyz``.

        The store check runs outside the lock (it is a database round trip).
        """
        with self._lock:
            problems = self._scheduler_problems()
            scheduler = self._scheduler_detail()
        store: dict[str, Any] = {"checked": False}
        if self._store is not None:
            status = self._store()
            store = {
                "checked": True,
                "ok": status.ok,
                "revision": status.revision,
                "head": status.head,
                "error": status.error,
            }
            if not status.ok:
                problems.append(f"store: {status.error}")
        ok = not problems
        return ok, {
            "status": "ready" if ok else "not ready",
            "problems": problems,
            "scheduler": scheduler,
            "store": store,
        }

    # ------------------------------------------------------------------ helpers (under lock)

    def _entry(self, connection: str) -> _Connection:
        entry = self._connections.get(connection)
        if entry is None:  # not scheduled here (a manual cycle): shown, never stale
            entry = self._connections[connection] = _Connection(interval=None)
        return entry

    def _instant(self, at: datetime | None) -> datetime:
        return _utc(self._clock() if at is None else at)

    def _scheduler_problems(self) -> list[str]:
        if self._started_at is None:
            return ["scheduler: not started"]
        if self._stopped_at is not None:
            return [f"scheduler: stopped at {_iso(self._stopped_at)}"]
        return []

    def _scheduler_detail(self) -> dict[str, Any]:
        return {
            "running": self._started_at is not None and self._stopped_at is None,
            "started_at": _iso(self._started_at),
            "stopped_at": _iso(self._stopped_at),
        }

    def _connection_problem(self, entry: _Connection, now: datetime) -> str | None:
        if entry.consecutive_failures >= self._stale_after:
            return (
                f"the last {entry.consecutive_failures} cycles failed "
                f"(last error: {entry.last_error or 'none recorded'})"
            )
        if entry.interval is None or self._started_at is None:
            return None
        limit = entry.interval * self._stale_after
        if entry.last_finished_at is None:
            if now - self._started_at > limit:
                return (
                    f"no cycle finished since the scheduler started at {_iso(self._started_at)} "
                    f"(limit {_duration(limit)})"
                )
            return None
        age = now - entry.last_finished_at
        if age > limit:
            return (
                f"last cycle finished {_duration(age)} ago at {_iso(entry.last_finished_at)} "
                f"(limit {_duration(limit)})"
            )
        return None


def _connection_detail(entry: _Connection, stale_after: int, problem: str | None) -> dict[str, Any]:
    return {
        "ok": problem is None,
        "problem": problem,
        "interval_seconds": None if entry.interval is None else entry.interval.total_seconds(),
        "stale_after_seconds": (
            None if entry.interval is None else (entry.interval * stale_after).total_seconds()
        ),
        "running_since": _iso(entry.running_since),
        "last_finished_at": _iso(entry.last_finished_at),
        "last_outcome": None if entry.last_outcome is None else entry.last_outcome.value,
        "last_run_id": entry.last_run_id,
        "last_error": entry.last_error,
        "last_success_at": _iso(entry.last_success_at),
        "consecutive_failures": entry.consecutive_failures,
    }


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("health instants must be aware datetimes")
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _shorten(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_ERROR_CHARS:
        return text
    return text[: MAX_ERROR_CHARS - 1] + "…"


def _error_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return _shorten(f"{type(exc).__name__}: {first}" if first else type(exc).__name__) or ""
