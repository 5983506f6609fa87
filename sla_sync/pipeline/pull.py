"""Pull step: page through every stream of a connector and store each page with its cursor.

One page = one transaction: its owners, leads, history, touches, link replacements, removals,
deletions, merges, quarantined records, the leads it changed (queued for evaluation) and the
page's cursor commit together. A run killed between pages resumes from the last stored page;
re-reading a page changes nothing (the store's upserts are idempotent and report no change).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from sla_sync.connectors.base import CrmConnector, PullPage, PullRequest, SkippableRecordError
from sla_sync.pipeline.progress import Progress, ProgressCallback
from sla_sync.store import repositories as repo


@dataclass(slots=True)
class PullOutcome:
    """What the pull step did: records and pages per stream, leads queued, records quarantined."""

    records: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    changed_leads: int = 0
    quarantined: int = 0
    #: the step stopped early because ``should_stop`` said so (pages stored so far are kept)
    stopped: bool = False


def store_page(session: Session, connection_id: int, page: PullPage, *, at: datetime) -> set[str]:
    """Store one page and its cursor in the caller's transaction; returns the leads whose
    inputs changed (also queued for evaluation in this transaction).

    Order matters only for the lead ids returned: owners first (a changed team moves leads in
    or out of an agreement's scope), then the records, then what removes or replaces them.
    """
    changed: set[str] = set()
    changed_owners = repo.upsert_owners(session, connection_id, page.owners)
    if changed_owners:
        changed |= repo.leads_owned_by(session, connection_id, changed_owners)
    changed |= repo.upsert_leads(session, connection_id, page.leads)
    changed |= repo.add_lifecycle_changes(session, connection_id, page.lifecycle)
    changed |= repo.add_owner_changes(session, connection_id, page.owner_changes)
    changed |= repo.add_field_changes(session, connection_id, page.field_changes)
    # sla-sync's own alert tasks are stored but are never an input: no re-evaluation for them.
    changed |= repo.upsert_touches(
        session, connection_id, [t for t in page.touches if not t.by_sla_sync]
    )
    repo.upsert_touches(session, connection_id, [t for t in page.touches if t.by_sla_sync])
    if page.activity_ids:
        keep = {t.id for t in page.touches}
        changed |= repo.replace_activity_links(session, connection_id, page.activity_ids, keep)
    if page.removed_activity_ids:
        changed |= repo.remove_activities(session, connection_id, page.removed_activity_ids)
    if page.deleted_leads:
        changed |= repo.mark_leads_deleted(session, connection_id, page.deleted_leads)
    if page.merges:
        changed |= repo.mark_leads_merged(session, connection_id, page.merges)
    for item in page.quarantined:
        repo.quarantine(
            session,
            connection_id=connection_id,
            stream=item.stream,
            crm_id=item.record_id,
            reason=item.reason,
            payload={"excerpt": item.excerpt} if item.excerpt else None,
            seen_at=at,
        )
    repo.enqueue_evaluation(session, connection_id, changed, at=at)
    if page.cursor is not None:
        repo.set_cursor(session, connection_id, page.stream, page.cursor, at=at)
    return changed


def page_records(page: PullPage) -> int:
    """Records carried by a page (for the run's counts)."""
    return (
        len(page.owners)
        + len(page.leads)
        + len(page.lifecycle)
        + len(page.owner_changes)
        + len(page.field_changes)
        + len(page.touches)
        + len(page.removed_activity_ids)
        + len(page.deleted_leads)
        + len(page.merges)
    )


def pull_streams(
    sessions: sessionmaker[Session],
    connection_id: int,
    connector: CrmConnector,
    *,
    started_at: datetime,
    now: Callable[[], datetime],
    full: bool = False,
    progress: ProgressCallback | None = None,
    outcome: PullOutcome | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PullOutcome:
    """Read every stream from its stored cursor (``full``: from the beginning) up to
    ``started_at``, storing page by page.

    ``outcome`` (optional) is filled in place, so a caller that catches an exception raised
    mid-pull (a spent quota) still has the counts so far.

    A :class:`~sla_sync.connectors.base.SkippableRecordError` raised by a stream is quarantined
    and ends that stream for this run (its cursor stays at the last stored page: the next run
    re-reads from there); the other streams go on. Every other connector error propagates.

    ``should_stop`` (the worker's SIGTERM flag) is asked before each stream and after each
    stored page: when it answers ``True`` the step returns at once with ``stopped`` set; what
    was stored stays stored with its cursor, so the next run goes on from there.
    """
    result = outcome if outcome is not None else PullOutcome()
    for stream in connector.streams():
        if should_stop is not None and should_stop():
            result.stopped = True
            return result
        with sessions() as session:
            cursor = None if full else repo.get_cursor(session, connection_id, stream)
        request = PullRequest(stream=stream, cursor=cursor, started_at=started_at, full=full)
        result.records.setdefault(stream, 0)
        result.pages.setdefault(stream, 0)
        try:
            for page in connector.pull(request):
                with sessions() as session, session.begin():
                    changed = store_page(session, connection_id, page, at=now())
                result.records[stream] += page_records(page)
                result.pages[stream] += 1
                result.changed_leads += len(changed)
                result.quarantined += len(page.quarantined)
                if progress is not None:
                    done, total = page.progress or (result.records[stream], None)
                    progress(Progress(step="pull", stream=stream, done=done, total=total))
                if should_stop is not None and should_stop():
                    result.stopped = True
                    return result
        except SkippableRecordError as exc:
            with sessions() as session, session.begin():
                repo.quarantine(
                    session,
                    connection_id=connection_id,
                    stream=exc.stream or stream,
                    crm_id=exc.record_id,
                    reason=exc.reason,
                    payload=None,
                    seen_at=now(),
                )
            result.quarantined += 1
    return result
