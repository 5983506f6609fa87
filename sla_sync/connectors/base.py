"""The contract every CRM connector keeps: pull streams, push field differences, error tiers.

A connector is the only code that sees a vendor's payloads. Everything that leaves it is a
domain value (:mod:`sla_sync.domain`) or one of the small records below; the pipeline, the store
and the engine never learn which CRM they talk to except through :class:`Capabilities`.

Pull
    :meth:`CrmConnector.pull` pages through one of the connector's streams
    (:meth:`CrmConnector.streams`: e.g. owners, contacts, calls, ...) from an opaque cursor.
    Each :class:`PullPage` carries the domain records of one page *and* the cursor to save once
    those records are stored; the pipeline stores both in one transaction, so a run killed
    between pages resumes from the last stored page and re-reads at most one page. Streams are
    at-least-once: a record may come twice (lookback windows overlap on purpose); the store's
    upserts make repeats harmless. A cursor never moves past ``PullRequest.started_at`` minus the
    connector's safety lag.

Push
    :meth:`CrmConnector.push_fields` takes per-record field differences and returns one
    :class:`PushResult` per record. A value counts as written only when its result says
    ``ok``; a record-level failure is reported in its result (never raised) so the pipeline can
    keep it and retry it alone later.

Tasks
    :meth:`CrmConnector.create_task` creates an alert task (non-idempotent: never blindly
    retried) carrying a marker; :meth:`CrmConnector.find_tasks` finds tasks by marker, so a run
    that crashed between creating a task and recording it is resolved without a second task.

Errors (three tiers, mapped from HTTP in one place per connector)
    :class:`FatalConnectorError` (bad credentials, missing permission, a schema the CRM
    refuses: retrying cannot help; the run fails, state kept), :class:`RetriableConnectorError`
    (429, 5xx, timeouts, with an optional ``retry_after``; raised only once the connector's own
    single retry layer has given up) and :class:`SkippableRecordError` (one record cannot be read
    or written; the pipeline quarantines it and goes on). :class:`QuotaExhaustedError` is the
    daily budget: the run stops early and ends *partial*.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from sla_sync.domain import (
    CrmKind,
    FieldChange,
    Lead,
    LifecycleChange,
    Owner,
    OwnerChange,
    Touch,
)

# --------------------------------------------------------------------------- errors


class ConnectorError(Exception):
    """Base of every error a connector raises. Messages never contain a credential."""


class FatalConnectorError(ConnectorError):
    """Retrying cannot help (401 after the credential was re-read, 403, a refused schema).

    ``status`` is the HTTP status when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(FatalConnectorError):
    """The CRM refused the credential (expired, revoked or wrong)."""


class RetriableConnectorError(ConnectorError):
    """A transient failure that outlived the connector's retries (429, 5xx, timeout).

    ``retry_after``: seconds the CRM asked to wait, when it said.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class QuotaExhaustedError(ConnectorError):
    """The run has spent its configured share of the CRM's daily API quota (or the CRM said the
    daily limit is reached). The run ends *partial*: what was stored stays, cursors stay where
    the last stored page left them."""


class SkippableRecordError(ConnectorError):
    """One record cannot be read or written; everything else goes on.

    ``record_id`` names it in the CRM; ``reason`` is the message ops reads in the quarantine.
    """

    def __init__(self, record_id: str, reason: str, *, stream: str | None = None) -> None:
        super().__init__(f"{stream + ' ' if stream else ''}record {record_id}: {reason}")
        self.record_id = record_id
        self.reason = reason
        self.stream = stream


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What a CRM supports, for the pipeline's decisions.

    ``association_changes_bump_modified``: False when re-associating an activity does not
    change its modification date (HubSpot), so recent activities' links must be re-read.
    ``max_batch_write``: records per write call. ``lifecycle_history``: the CRM reports when a
    lead entered each stage (not just the current value). ``creates_tasks``: the connector can
    create a follow-up task for a rep (alerts).
    """

    crm: CrmKind
    lifecycle_history: bool
    association_changes_bump_modified: bool
    reports_merges: bool
    reports_deletions: bool
    max_batch_write: int
    creates_tasks: bool = False


# --------------------------------------------------------------------------- pull


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequest:
    """One stream read: from ``cursor`` (``None`` or ``full``: from the beginning) up to
    ``started_at`` (the run's start; no cursor moves past it). ``stream`` is one of
    :meth:`CrmConnector.streams`."""

    stream: str
    cursor: str | None
    started_at: datetime
    full: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantined:
    """A record the connector could not map: ``record_id`` in ``stream``, with ``reason`` and a
    short ``excerpt`` of the raw payload (never a credential) for ops to look at."""

    stream: str
    record_id: str
    reason: str
    excerpt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PullPage:
    """One page of a stream, ready to store in one transaction.

    ``cursor`` is the cursor to save *after* this page's records are stored (``None``: keep the
    previous one). ``activity_ids`` lists activities whose complete set of lead links is the
    ``touches`` of this page with that activity id (see :attr:`Touch.id`, ``activity/lead``):
    the store drops their other links, so a re-associated or unlinked activity stops counting.
    ``removed_activity_ids``: activities deleted in the CRM. ``deleted_leads`` / ``merges``
    mark records archived or merged away (``merges`` maps loser id -> survivor id).
    ``progress``: (records done, records expected or ``None``) for progress bars.
    """

    stream: str
    cursor: str | None = None
    owners: tuple[Owner, ...] = ()
    leads: tuple[Lead, ...] = ()
    lifecycle: tuple[LifecycleChange, ...] = ()
    owner_changes: tuple[OwnerChange, ...] = ()
    field_changes: tuple[FieldChange, ...] = ()
    touches: tuple[Touch, ...] = ()
    activity_ids: tuple[str, ...] = ()
    removed_activity_ids: tuple[str, ...] = ()
    deleted_leads: Mapping[str, datetime] = field(default_factory=dict)
    merges: Mapping[str, str] = field(default_factory=dict)
    quarantined: tuple[Quarantined, ...] = ()
    progress: tuple[int, int | None] | None = None


def touch_id(activity_id: str, lead_id: str) -> str:
    """The id of the touch an activity makes on one lead: an activity linked to several leads
    (a meeting with three contacts) is one touch per lead."""
    return f"{activity_id}/{lead_id}"


# --------------------------------------------------------------------------- push


class SlaStatus(StrEnum):
    """The SLA status a rep sees on a lead (the value of :attr:`SlaField.STATUS`)."""

    ON_TRACK = "on_track"  # first touch due, not yet at the warning point
    AT_RISK = "at_risk"  # past the warning point, deadline not reached
    BREACHED = "breached"  # deadline passed without the commitment met
    MET = "met"  # every commitment of the current cycle met in time
    PAUSED = "paused"  # the clock is stopped (lead status on hold)
    CLOSED = "closed"  # the cycle ended otherwise (disqualified, recycled, merged)
    NOT_IN_SLA = "not_in_sla"  # no agreement covers the lead (or it never became an MQL)


class SlaField(StrEnum):
    """The SLA fields sla-sync keeps on each lead, CRM-neutral; each connector maps them to its
    own property / field names and types."""

    STATUS = "status"
    DUE_AT = "due_at"
    FIRST_TOUCH_AT = "first_touch_at"
    MINUTES_TO_FIRST_TOUCH = "minutes_to_first_touch"
    ATTEMPTS_MADE = "attempts_made"
    ATTEMPTS_REQUIRED = "attempts_required"
    TIER = "tier"
    AGREEMENT = "agreement"
    OWNER_SPEED_MTD = "owner_speed_mtd"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldUpdate:
    """Desired SLA values of one lead: only the fields that differ from what the CRM last
    confirmed. Values are CRM-neutral strings (ISO-8601 UTC instants, decimal numbers, enum
    values of :class:`SlaStatus`); ``None`` clears the field."""

    lead_id: str
    values: Mapping[SlaField, str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class PushResult:
    """The CRM's answer for one record: ``ok`` with the values it confirmed, or the error.

    ``retriable`` tells whether sending the same values again later may succeed (a rate limit,
    a conflict) or not (the record is gone: ``gone``; a value the CRM refuses).
    ``merged_into``: the record was merged; the survivor's id, when the CRM says it.
    ``call_failed``: the call carrying the record failed as a whole (a 5xx or 429 outliving the
    retries, an unreadable answer): the CRM said nothing about this record, so the failure is
    not held against it (an outage never quarantines records).
    """

    lead_id: str
    ok: bool
    confirmed: Mapping[SlaField, str | None] = field(default_factory=dict)
    error: str | None = None
    retriable: bool = False
    gone: bool = False
    merged_into: str | None = None
    call_failed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaChange:
    """One CRM schema object :meth:`CrmConnector.ensure_schema` created, updated or found."""

    kind: str
    name: str
    action: str  # "created" | "updated" | "unchanged" | "would create" | "would update"


# --------------------------------------------------------------------------- tasks


class TaskPriority(StrEnum):
    """How urgent a task is, CRM-neutral."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRequest:
    """A follow-up task sla-sync asks the CRM to create (an alert for a rep or a manager).

    ``marker`` (``[sla-sync:<idempotency key>]``) must appear in the task as the CRM stores it:
    :meth:`CrmConnector.find_tasks` finds the task by it after a crash, and the pull recognises
    the task as sla-sync's own (it never counts as a touch). ``lead_id``: the lead the task is
    associated with. ``owner_id``: the assignee (``None``: unassigned). ``due_at``: aware UTC.
    """

    marker: str
    lead_id: str
    subject: str
    body: str
    due_at: datetime
    owner_id: str | None = None
    priority: TaskPriority = TaskPriority.MEDIUM


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    """The CRM's answer to a :class:`TaskRequest`: the created task's id."""

    task_id: str
    marker: str


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """Calls made so far by endpoint class, and the daily quota as the CRM last reported it."""

    calls: Mapping[str, int]
    retries: Mapping[str, int]
    rate_limited: int
    daily_limit: int | None = None
    daily_remaining: int | None = None


# --------------------------------------------------------------------------- the protocol


@runtime_checkable
class CrmConnector(Protocol):
    """A CRM account as the pipeline sees it. Implementations are not thread-safe; one cycle
    uses one connector."""

    @property
    def capabilities(self) -> Capabilities:
        """What this CRM supports."""
        ...

    def streams(self) -> tuple[str, ...]:
        """The connector's pull streams in the order a cycle reads them (owners first: leads
        refer to them). Stream names are stable: cursors are stored under them."""
        ...

    def pull(self, request: PullRequest) -> Iterator[PullPage]:
        """Pages of ``request.stream`` from its cursor to the run's start (minus the safety
        lag). Ends when the window is exhausted; never relies on a short page to stop."""
        ...

    def push_fields(self, updates: Sequence[FieldUpdate]) -> list[PushResult]:
        """Write ``updates`` in as few calls as the CRM allows; one result per update."""
        ...

    def read_fields(self, lead_ids: Sequence[str]) -> dict[str, dict[SlaField, str | None]]:
        """The SLA fields as the CRM holds them now (normalised like :class:`FieldUpdate`
        values), for records that exist. Used by ``crm init`` checks and the demo."""
        ...

    def ensure_schema(self, *, dry_run: bool = False) -> list[SchemaChange]:
        """Create the SLA fields (and their group) when missing, idempotently."""
        ...

    def create_task(self, request: TaskRequest) -> TaskResult:
        """Create one task (only when ``capabilities.creates_tasks``). Not idempotent: the call
        is never retried once the CRM may have processed it; a failure whose outcome is unknown
        (a 5xx, a read timeout) raises :class:`RetriableConnectorError` and the caller resolves
        it later with :meth:`find_tasks`. A task the CRM refuses (an unknown owner, a gone
        lead) raises :class:`SkippableRecordError`."""
        ...

    def find_tasks(self, markers: Sequence[str]) -> dict[str, str]:
        """``{marker: task id}`` of the tasks (not archived) carrying each of ``markers``;
        markers with no task are left out. The CRM's search may lag a write by seconds: ask
        only about writes made a while ago."""
        ...

    def usage(self) -> ApiUsage:
        """API calls made by this connector so far."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
