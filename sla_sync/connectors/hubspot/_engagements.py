"""Engagement streams (``calls``, ``emails``, ``meetings``, ``tasks``, ``notes``) and the
``associations`` re-check.

An engagement stream key-set pages its type on ``hs_lastmodifieddate`` (:mod:`._window`) and
reads the contacts linked to each engagement with the v4 associations batch read: one
associations call per ``association_batch`` engagements (up to 1,000, i.e. five search pages),
so a page of the stream holds up to that many engagements. Every (engagement, contact) pair is
one :class:`Touch`; every mapped engagement id is listed in ``activity_ids`` so the store
replaces its whole link set (an engagement linked to nobody drops its stale links).

Re-associating an engagement does not bump ``hs_lastmodifieddate``; the ``associations``
stream therefore re-reads, at most once per ``association_recheck_every``, every engagement
*created* within ``association_recheck`` (filtered on ``hs_createdate``), all five types in
turn, with the same mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sla_sync.connectors.base import PullPage, PullRequest, Quarantined, touch_id
from sla_sync.connectors.hubspot._apis import Apis
from sla_sync.connectors.hubspot._contacts import excerpt
from sla_sync.connectors.hubspot._cursor import Cursor
from sla_sync.connectors.hubspot._settings import PullSettings
from sla_sync.connectors.hubspot._window import Window, keyset_pages, plan_windows
from sla_sync.connectors.hubspot.mapping import (
    BadRecord,
    Engagement,
    engagement_properties,
    map_engagement,
)
from sla_sync.domain import Touch

log = logging.getLogger(__name__)

ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "tasks", "notes")
ASSOCIATIONS = "associations"
# Engagements (like every object but contacts) are filtered on hs_lastmodifieddate.
MODIFIED = "hs_lastmodifieddate"
CREATED = "hs_createdate"

CursorAt = Callable[[int, bool], Cursor]  # (last id read, more in the window?) -> cursor


def pull_engagements(
    apis: Apis,
    request: PullRequest,
    settings: PullSettings,
    cursor: Cursor | None,
    object_type: str,
) -> Iterator[PullPage]:
    """Pages of one engagement stream (``object_type`` is also the stream name)."""
    base = Cursor() if cursor is None or request.full else cursor
    windows = plan_windows(
        None if request.full else cursor,
        full=request.full,
        started_at=request.started_at,
        lookback=settings.lookback,
        safety_lag=settings.safety_lag,
    )
    for window in windows:
        start = base

        def at(last_id: int, more: bool, w: Window = window, b: Cursor = start) -> Cursor:
            return b.inside(w.lo, w.hi, last_id) if more else b.done(w.hi)

        yield from window_pages(apis, settings, object_type, object_type, MODIFIED, window, at)
        base = start.done(window.hi)


def pull_associations(
    apis: Apis, request: PullRequest, settings: PullSettings, cursor: Cursor | None
) -> Iterator[PullPage]:
    """Pages of the ``associations`` stream, run now (the caller decided it is due)."""
    ran = None if cursor is None else cursor.ran
    first = 0
    lo, hi = request.started_at - settings.association_recheck, request.started_at
    resume = 0
    resuming = cursor is not None and not request.full and cursor.in_window
    if resuming and cursor is not None and cursor.phase in ENGAGEMENT_TYPES:
        assert cursor.phase is not None and cursor.lo is not None and cursor.hi is not None
        first = ENGAGEMENT_TYPES.index(cursor.phase)
        lo, hi, resume = cursor.lo, cursor.hi, cursor.after
    base = Cursor(ran=ran)
    for i in range(first, len(ENGAGEMENT_TYPES)):
        object_type = ENGAGEMENT_TYPES[i]
        window = Window(lo, hi, resume if i == first else 0)
        following = ENGAGEMENT_TYPES[i + 1] if i + 1 < len(ENGAGEMENT_TYPES) else None

        def at(
            last_id: int,
            more: bool,
            t: str = object_type,
            nxt: str | None = following,
        ) -> Cursor:
            if more:
                return base.inside(lo, hi, last_id, phase=t)
            if nxt is None:  # the whole re-check is done: remember when it started
                return Cursor(ran=request.started_at)
            return base.inside(lo, hi, 0, phase=nxt)

        yield from window_pages(apis, settings, ASSOCIATIONS, object_type, CREATED, window, at)


def window_pages(
    apis: Apis,
    settings: PullSettings,
    stream: str,
    object_type: str,
    time_prop: str,
    window: Window,
    cursor_at: CursorAt,
) -> Iterator[PullPage]:
    """The pages of one window: search pages gathered up to ``association_batch`` engagements,
    then one associations read. An empty window yields one empty page (the cursor moves on)."""
    properties = engagement_properties(object_type, settings.automation)
    buffer: list[Any] = []
    done = 0
    yielded = False
    for page in keyset_pages(
        apis.search, object_type, time_prop, window, properties, page_size=settings.page_size
    ):
        buffer += page.results
        if len(buffer) + settings.page_size > settings.association_batch or not page.more:
            done += len(buffer)
            progress = (done, done + max(0, (page.total or 0) - len(page.results)))
            cursor = cursor_at(page.last_id, page.more)
            yield _touch_page(apis, settings, stream, object_type, buffer, cursor, progress)
            buffer, yielded = [], True
    if not yielded:
        yield PullPage(stream=stream, cursor=cursor_at(window.after, False).encode())


def _touch_page(
    apis: Apis,
    settings: PullSettings,
    stream: str,
    object_type: str,
    results: list[Any],
    cursor: Cursor,
    progress: tuple[int, int | None],
) -> PullPage:
    mapped: list[Engagement] = []
    bad: list[Quarantined] = []
    for rec in results:
        props = dict(rec.properties or {})
        try:
            mapped.append(map_engagement(object_type, str(rec.id), props, settings.automation))
        except BadRecord as exc:
            # Not listed in activity_ids: the store keeps what it had for it.
            bad.append(
                Quarantined(
                    stream=stream, record_id=str(rec.id), reason=str(exc), excerpt=excerpt(props)
                )
            )
    links = apis.contacts_of(object_type, [e.id for e in mapped]) if mapped else {}
    touches = [_touch(e, contact_id) for e in mapped for contact_id in links.get(e.id, ())]
    _log_backdated(stream, mapped, settings.backdated_after.total_seconds())
    return PullPage(
        stream=stream,
        cursor=cursor.encode(),
        touches=tuple(touches),
        activity_ids=tuple(e.id for e in mapped),
        quarantined=tuple(bad),
        progress=progress,
    )


def _touch(e: Engagement, contact_id: str) -> Touch:
    return Touch(
        id=touch_id(e.id, contact_id),
        lead_id=contact_id,
        kind=e.kind,
        occurred_at=e.occurred_at,
        owner_id=e.owner_id,
        direction=e.direction,
        automated=e.automated,
        by_sla_sync=e.by_sla_sync,
        created_at=e.created_at,
    )


def _log_backdated(stream: str, mapped: list[Engagement], limit_s: float) -> None:
    """Back-dated activities (logged well after they happened) are kept as they are: the
    engine takes them at ``occurred_at`` and the pipeline can flag them from ``created_at``."""
    late = [e.id for e in mapped if _late(e.occurred_at, e.created_at) > limit_s]
    if late:
        log.info("hubspot %s: %d back-dated activities, e.g. %s", stream, len(late), late[:5])


def _late(occurred: datetime, created: datetime | None) -> float:
    return 0.0 if created is None else (created - occurred).total_seconds()
