"""Prometheus metrics of the worker: :class:`Metrics`, on a registry of its own.

Counters and the cycle gauges come from each finished cycle's
:class:`~sla_sync.pipeline.cycle.CycleReport` (:meth:`Metrics.observe_cycle`); the attainment
gauges from the figures the evaluate step stored (:meth:`Metrics.observe_attainment`), read
after each cycle rather than at scrape time so a scrape never touches the database.

``sla_sync_cursor_lag_seconds{connection,stream}`` is how far behind the CRM a stream's stored
data may be: the seconds from the start of the last *successful* cycle that read the stream
to the scrape. A successful cycle reads every windowed stream up to its start (minus the
connector's safety lag), so the data is complete up to then; connector cursors themselves stay
opaque. Streams read only every so often (HubSpot's ``associations`` and ``archived``) show
up to that period. After a restart the values are restored from the run ledger
(:meth:`Metrics.restore`), so downtime shows as lag rather than as a gap.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from sla_sync.domain import ScopeKind
from sla_sync.sla.periods import Period
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import RunOutcome, RunRecord

if TYPE_CHECKING:
    from sla_sync.definitions import SlaSyncConfig
    from sla_sync.domain import Attainment
    from sla_sync.pipeline.cycle import CycleReport

#: Run kind of a sync cycle in the ledger (``sla_sync.pipeline.cycle.RUN_KIND``; runtime reads
#: the ledger with it rather than importing the pipeline at module load).
SYNC_RUN_KIND = "sync"

#: Cycle durations: a quiet incremental cycle takes seconds, a first full sync of a large portal
#: tens of minutes.
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

#: The attainment ratios exported per agreement (``metric`` label).
ATTAINMENT_METRICS = ("speed", "depth", "acceptance", "marketing")


class Metrics:
    """The worker's metrics (see the README's observability section for the list).

    Args:
        registry: where to register (default: a new :class:`CollectorRegistry`; never the
            global one, so tests and several workers in one process do not collide).
        clock: aware UTC now, for the cursor lag at scrape time.

    Thread-safe: prometheus-client's metrics are, and the lag bookkeeping takes a lock.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cycles = Counter(
            "sla_sync_cycles",
            "Sync cycles finished, by outcome.",
            ["connection", "outcome"],
            registry=r,
        )
        self.records_pulled = Counter(
            "sla_sync_records_pulled",
            "Records read from the CRM and stored, by pull stream.",
            ["connection", "stream"],
            registry=r,
        )
        self.fields_written = Counter(
            "sla_sync_fields_written",
            "Leads whose SLA fields the CRM confirmed writing (one per lead and cycle).",
            ["connection"],
            registry=r,
        )
        self.api_calls = Counter(
            "sla_sync_api_calls",
            "CRM API requests sent (retries included), by endpoint class.",
            ["connection", "endpoint"],
            registry=r,
        )
        self.rate_limited = Counter(
            "sla_sync_rate_limited",
            "CRM answers that were rate limits (HTTP 429).",
            ["connection"],
            registry=r,
        )
        self.quarantined = Counter(
            "sla_sync_quarantined",
            "Records set aside (quarantined) by the pull or the push.",
            ["connection"],
            registry=r,
        )
        self.last_cycle = Gauge(
            "sla_sync_last_cycle_timestamp_seconds",
            "When the last cycle with this outcome ended (Unix time).",
            ["connection", "outcome"],
            registry=r,
        )
        self.cycle_duration = Histogram(
            "sla_sync_cycle_duration_seconds",
            "Duration of finished sync cycles.",
            ["connection"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.attainment = Gauge(
            "sla_sync_attainment_ratio",
            "Attainment of the current period (0..1; marketing: delivered / goal, may pass 1).",
            ["agreement", "metric"],
            registry=r,
        )
        self.pace = Gauge(
            "sla_sync_pace_index",
            "Marketing's pace in the current period: delivered / expected to date.",
            ["agreement"],
            registry=r,
        )
        self._lag = _CursorLag(clock or _now)
        r.register(self._lag)

    # ------------------------------------------------------------------ cycles

    def observe_cycle(self, report: CycleReport) -> None:
        """Count one finished cycle (any outcome; a dry run too, though the worker runs none).

        Raises:
            ValueError: the report has not finished (``running`` or no ``ended_at``).
        """
        if report.outcome is RunOutcome.RUNNING or report.ended_at is None:
            raise ValueError(f"run {report.run_id} has not finished")
        name = report.connection
        counts = report.counts()
        self.cycles.labels(name, report.outcome.value).inc()
        for stream, records in counts["records"].items():
            self.records_pulled.labels(name, stream).inc(records)
        self.fields_written.labels(name).inc(counts["records_written"])
        for endpoint, calls in report.api_calls.items():
            self.api_calls.labels(name, endpoint).inc(calls)
        self.rate_limited.labels(name).inc(report.rate_limited)
        self.quarantined.labels(name).inc(counts["quarantined"])
        self.last_cycle.labels(name, report.outcome.value).set(report.ended_at.timestamp())
        duration = (report.ended_at - report.started_at).total_seconds()
        self.cycle_duration.labels(name).observe(max(0.0, duration))
        if report.outcome is RunOutcome.SUCCESS:
            streams = [s for s, pages in counts["pages"].items() if pages]
            self._lag.read(name, streams, report.started_at)

    def observe_raised(self, connection: str, at: datetime) -> None:
        """Count a cycle that raised instead of returning a report (a bug ``run_cycle``
        recorded as failed, then re-raised) as a failed cycle ending ``at``."""
        outcome = RunOutcome.FAILED.value
        self.cycles.labels(connection, outcome).inc()
        self.last_cycle.labels(connection, outcome).set(at.timestamp())

    def restore(self, engine: Engine, *, limit: int = 500) -> None:
        """Set the cursor lag and last-cycle gauges from the run ledger (at worker start).

        Reads each connection's latest ``limit`` sync runs; counters stay at zero (Prometheus'
        ``rate()`` and ``increase()`` handle a restart's reset).
        """
        with session_factory(engine)() as session:
            for name, connection_id in repo.connection_ids(session).items():
                runs = repo.recent_runs(
                    session, limit=limit, connection_id=connection_id, kind=SYNC_RUN_KIND
                )
                self._restore_connection(name, runs)

    def _restore_connection(self, name: str, runs: Iterable[RunRecord]) -> None:
        seen_outcomes: set[RunOutcome] = set()
        for run in runs:  # newest first
            if run.ended_at is None or run.outcome is RunOutcome.RUNNING:
                continue
            if run.outcome not in seen_outcomes:
                seen_outcomes.add(run.outcome)
                self.last_cycle.labels(name, run.outcome.value).set(run.ended_at.timestamp())
            if run.outcome is RunOutcome.SUCCESS:
                pages = run.counts.get("pages") or {}
                streams = [s for s, n in pages.items() if n]
                self._lag.read(name, streams, run.started_at, only_newer=True)

    # ------------------------------------------------------------------ attainment

    def observe_attainment(self, engine: Engine, config: SlaSyncConfig, now: datetime) -> None:
        """Set the attainment gauges of every agreement from its stored figures for the period
        holding ``now`` (the agreement-scope row the evaluate step stored; nothing recomputed).

        A ratio with nothing decided yet (or a marketing goal not set), and every gauge of an
        agreement with no stored row for the period, is removed rather than shown as 0.
        """
        with session_factory(engine)() as session:
            for policy in config.agreement_policies():
                period = Period.containing(now, policy.period, policy.timezone)
                records = repo.load_attainments(
                    session, policy.id, period.label, scope=ScopeKind.AGREEMENT
                )
                total = records[0].current if records else None
                self._set_attainment(policy.id, total)

    def _set_attainment(self, agreement: str, total: Attainment | None) -> None:
        ratios = _ratios(total)
        for metric in ATTAINMENT_METRICS:
            value = ratios.get(metric)
            if value is None:
                _remove(self.attainment, agreement, metric)
            else:
                self.attainment.labels(agreement, metric).set(value)
        if total is None or total.pace_index is None:
            _remove(self.pace, agreement)
        else:
            self.pace.labels(agreement).set(total.pace_index)


def _ratios(total: Attainment | None) -> dict[str, float | None]:
    if total is None:
        return {}
    marketing = total.marketing_pct
    out: dict[str, float | None] = {
        name: (None if pct is None else pct / 100.0)
        for name, pct in (
            ("speed", total.speed.pct),
            ("depth", total.depth.pct),
            ("acceptance", total.acceptance.pct),
        )
    }
    out["marketing"] = None if marketing is None else marketing / 100.0
    return out


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set: nothing to remove
        metric.remove(*labels)


class _CursorLag(Collector):
    """``sla_sync_cursor_lag_seconds``, computed at scrape time from the start of the last
    successful cycle that read each stream."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: dict[tuple[str, str], datetime] = {}

    def read(
        self,
        connection: str,
        streams: Iterable[str],
        started_at: datetime,
        *,
        only_newer: bool = False,
    ) -> None:
        with self._lock:
            for stream in streams:
                key = (connection, stream)
                known = self._read_at.get(key)
                if only_newer and known is not None and known >= started_at:
                    continue
                self._read_at[key] = started_at

    def describe(self) -> Iterator[Any]:
        yield self._family()

    def collect(self) -> Iterator[Any]:
        now = self._clock()
        family = self._family()
        with self._lock:
            items = sorted(self._read_at.items())
        for (connection, stream), read_at in items:
            family.add_metric([connection, stream], max(0.0, (now - read_at).total_seconds()))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "sla_sync_cursor_lag_seconds",
            "Seconds since the start of the last successful cycle that read the stream.",
            labels=["connection", "stream"],
        )


def _now() -> datetime:
    return datetime.now(UTC)
