"""Operating the worker: who is told (``recipients``), how it runs (``worker``), and per agreement
when reports go out (``reporting.weekly_report``), when a period closes (``reporting.close``) and
how alerts are raised (``alerts``).

A recipient is a name ops chooses (``sales-na-head``) bound to a variable that carries one or
more apprise URLs (``url_env: SLA_SYNC_NOTIFY_SALES_NA_HEAD``). The URLs are secrets (they often
embed a webhook token or a password), so like every credential they are read at send time with
:func:`sla_sync.settings.read_secret` and never written in the file. Every name a consequence
(``notify:``/``escalate:``), a report (``to:``), an alert (``breaches_to:``, ``escalate_to:``) or
the worker (``notify_failures:``) lists must be a recipient: ``config check`` reports the line
otherwise. A recipient whose variable is unset is skipped with a warning when a message is sent
(the demo names recipients it does not configure); it never breaks a run.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator

from sla_sync.definitions.connections import Spec
from sla_sync.definitions.scalars import EnvName, Identifier, parse_duration

_SECONDS = re.compile(r"^\s*(\d+)\s*(seconds?|s)\s*$", re.IGNORECASE)
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names of ``weekly_report.day``, Monday first (APScheduler's ``day_of_week`` names)."""


def parse_interval(value: Any) -> timedelta:
    """A wall-clock interval: ``"5 minutes"``, ``"1 hours"``, ``"1 days"`` (the duration notation
    of the file, without business units) or ``"30 seconds"`` (short intervals for tests and
    demos). A positive ``timedelta`` is taken as it is (settings built in code)."""
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError("an interval must be positive")
        return value
    if isinstance(value, str):
        match = _SECONDS.match(value)
        if match:
            seconds = int(match.group(1))
            if seconds <= 0:
                raise ValueError(f"{value!r}: an interval must be positive")
            return timedelta(seconds=seconds)
    duration = parse_duration(value)
    if duration.unit.is_business:
        raise ValueError(
            f"{value!r}: the worker runs on wall-clock time; use seconds, minutes, hours or days"
        )
    return duration.as_timedelta()


def parse_clock_time(value: Any) -> str:
    """``"08:00"``: a 24-hour ``HH:MM`` local time (kept as written; see :func:`clock_time`)."""
    if isinstance(value, str) and _CLOCK_TIME.match(value.strip()):
        return value.strip()
    raise ValueError('expected a local time "HH:MM" (24-hour), e.g. "08:00"')


def clock_time(text: str) -> time:
    """``"08:00"`` -> ``time(8, 0)`` (``text`` already validated by :func:`parse_clock_time`)."""
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


Interval = Annotated[timedelta, PlainValidator(parse_interval)]
ClockTime = Annotated[str, PlainValidator(parse_clock_time)]
Recipients = tuple[Identifier, ...]


class RecipientSpec(Spec):
    """One recipient: ``url_env`` names the variable carrying its apprise URL(s) (several
    separated by spaces or commas, as apprise reads them)."""

    url_env: EnvName
    description: str | None = None


class WorkerSpec(Spec):
    """How ``sla-sync run`` behaves.

    ``sync_every``: interval of each connection's sync cycle (the first runs at start).
    ``health_host``/``health_port``: where ``/healthz``, ``/readyz`` and ``/metrics`` listen
    (port 0: no HTTP server). ``stale_after``: ``/healthz`` turns unhealthy when a connection's
    last finished cycle is older than ``stale_after`` x ``sync_every``. ``notify_failures``:
    recipients told when a connection's runs failed or went partial twice in a row (once per
    streak).
    """

    sync_every: Interval = timedelta(minutes=5)
    health_host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    health_port: Annotated[int, Field(ge=0, le=65535)] = 9464
    stale_after: Annotated[int, Field(ge=1)] = 3
    notify_failures: Recipients = ()


class WeeklyReportSpec(Spec):
    """The weekly status report: sent on ``day`` at ``at`` (local time of
    ``reporting.timezone``) to the recipients ``to`` (empty: saved under the data dir only)."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    at: ClockTime = "08:00"
    to: Recipients = ()


class CloseSpec(Spec):
    """The period close: monthly (and quarterly) periods close on ``day`` of the month after the
    period at ``at`` (local time of ``reporting.timezone``); week periods close weekly on the
    weekly report's ``day`` at ``at``. Days 29-31 are refused: not every month has them."""

    day: Annotated[int, Field(ge=1, le=28)] = 1
    at: ClockTime = "06:00"


class AlertsSpec(Spec):
    """Alerts of one agreement.

    ``tasks``: at-risk, breach and escalation tasks in the CRM (they never count as touches).
    ``breaches_to``: recipients of the batched breach notification. ``escalate_to``: recipients
    of an escalation when the lead's owner has no manager in the CRM.
    """

    tasks: bool = True
    breaches_to: Recipients = ()
    escalate_to: Recipients = ()


__all__ = [
    "WEEKDAYS",
    "AlertsSpec",
    "ClockTime",
    "CloseSpec",
    "Interval",
    "RecipientSpec",
    "WeeklyReportSpec",
    "WorkerSpec",
    "clock_time",
    "parse_clock_time",
    "parse_interval",
]
