"""HubSpot pull streams: :data:`STREAMS`, :class:`PullSettings` and :func:`pull_stream`.

Streams, in the order a cycle reads them (owners first: leads refer to them)::

    owners        every active owner, full list every cycle (one call per 500 owners)
    contacts      leads changed in the window + stage/status/owner/field history, merges
    calls emails meetings tasks notes
                  engagements changed in the window, one Touch per linked contact
    associations  links of engagements created within ``association_recheck``, re-read at most
                  once per ``association_recheck_every`` (re-association bumps no date)
    archived      the recycle bin (archived owners -> ``Owner.active=False``, archived contacts
                  -> ``deleted_leads``, archived engagements -> ``removed_activity_ids``), listed
                  at most once per ``archived_every``

Cursor semantics (see :mod:`._cursor`): opaque JSON, yielded with every page; a window is
``[previous end - lookback, started_at - safety_lag]`` and never ends after the run's start;
a run stopped inside a window resumes inside it. ``PullRequest.full`` (or no cursor) reads from
the epoch. Throttled streams (``associations``, ``archived``) yield nothing when not due, so
they cost no call. ``owners`` has no cursor (pages carry ``cursor=None``).

At-least-once: windows overlap by the lookback, and a record may come twice; the store upserts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sla_sync.connectors.base import PullPage, PullRequest, Quarantined
from sla_sync.connectors.hubspot._apis import Apis, apis_of
from sla_sync.connectors.hubspot._contacts import pull_contacts
from sla_sync.connectors.hubspot._cursor import Cursor, decode
from sla_sync.connectors.hubspot._engagements import (
    ENGAGEMENT_TYPES,
    pull_associations,
    pull_engagements,
)
from sla_sync.connectors.hubspot._settings import DEFAULT_LEAD_FIELDS, PullSettings
from sla_sync.connectors.hubspot.client import HubSpotClient
from sla_sync.connectors.hubspot.mapping import BadRecord, map_owner, parse_instant
from sla_sync.domain import Owner, ensure_utc

__all__ = ["DEFAULT_LEAD_FIELDS", "STREAMS", "PullSettings", "pull_stream"]

log = logging.getLogger(__name__)

STREAMS: tuple[str, ...] = (
    "owners",
    "contacts",
    *ENGAGEMENT_TYPES,
    "associations",
    "archived",
)
# Owners lead the recycle bin: an owner is archived rarely, and listing the archived ones every
# cycle would double the owners stream's cost for news that can wait ``archived_every``.
ARCHIVED_TYPES = ("owners", "contacts", *ENGAGEMENT_TYPES)


def pull_stream(
    client: HubSpotClient, request: PullRequest, settings: PullSettings
) -> Iterator[PullPage]:
    """Pages of ``request.stream`` from its cursor up to ``request.started_at`` (minus the
    safety lag). Each page carries the cursor to store with it.

    Raises:
        ValueError: an unknown stream, or a naive ``started_at``.
        ConnectorError: from the client (its error tiers), or a portal whose search ignores the
            id filter (paging would loop).
    """
    if request.stream not in STREAMS:
        raise ValueError(f"unknown HubSpot stream {request.stream!r}; expected one of {STREAMS}")
    ensure_utc(request.started_at, what="PullRequest.started_at")
    apis = apis_of(client)
    cursor = decode(request.cursor, stream=request.stream)
    stream = request.stream
    if stream == "owners":
        return _owners(apis, archived=False)
    if stream == "contacts":
        return pull_contacts(apis, request, settings, cursor)
    if stream in ENGAGEMENT_TYPES:
        return pull_engagements(apis, request, settings, cursor, stream)
    if stream == "associations":
        if not _due(cursor, request, settings.association_recheck_every):
            return iter(())
        return pull_associations(apis, request, settings, cursor)
    if not _due(cursor, request, settings.archived_every):
        return iter(())
    return _archived(apis, request, cursor)


def _due(cursor: Cursor | None, request: PullRequest, every: timedelta) -> bool:
    """A throttled stream runs on a full pull, without a completed run, to finish a stopped
    run, or once ``every`` has passed since the last run started."""
    if request.full or cursor is None or cursor.ran is None or cursor.phase is not None:
        return True
    return request.started_at - cursor.ran >= every


# --------------------------------------------------------------------------- owners


def _owners(apis: Apis, *, archived: bool) -> Iterator[PullPage]:
    """Active owners (or, with ``archived``, the archived ones, ``active=False``), page by
    page."""
    after: str | None = None
    while True:
        response = apis.owners_page(archived=archived, after=after)
        yield _owners_page(response.results or (), archived=archived, stream="owners")
        after = _next_after(response)
        if after is None:
            break


def _owners_page(
    results: Iterable[Any], *, archived: bool, stream: str, cursor: str | None = None
) -> PullPage:
    owners: list[Owner] = []
    bad: list[Quarantined] = []
    for raw in results:
        data = raw.to_dict()
        data["archived"] = archived or bool(data.get("archived"))
        try:
            owners.append(map_owner(data))
        except BadRecord as exc:
            bad.append(
                Quarantined(
                    stream=stream,
                    record_id=str(data.get("id") or "?"),
                    reason=str(exc),
                    excerpt=str(data.get("email") or "")[:100],
                )
            )
    return PullPage(stream=stream, cursor=cursor, owners=tuple(owners), quarantined=tuple(bad))


def _next_after(response: object) -> str | None:
    paging = getattr(response, "paging", None)
    nxt = None if paging is None else paging.next
    return None if nxt is None or not nxt.after else str(nxt.after)


# --------------------------------------------------------------------------- archived


def _archived(apis: Apis, request: PullRequest, cursor: Cursor | None) -> Iterator[PullPage]:
    """The recycle bin, type by type; a stopped run resumes at its type and page."""
    ran = None if cursor is None else cursor.ran
    first, after = 0, None
    if cursor is not None and not request.full and cursor.phase in ARCHIVED_TYPES:
        first = ARCHIVED_TYPES.index(cursor.phase)
        after = str(cursor.after) if cursor.after else None
    for i in range(first, len(ARCHIVED_TYPES)):
        object_type = ARCHIVED_TYPES[i]
        if i != first:
            after = None
        while True:
            response = (
                apis.owners_page(archived=True, after=after)
                if object_type == "owners"
                else apis.archived_page(object_type, after)
            )
            after = _next_after(response)
            if after is not None and after.isdigit():
                cursor_out = Cursor(ran=ran, after=int(after), phase=object_type)
            elif after is not None:  # a token we cannot keep: resume restarts this type
                cursor_out = Cursor(ran=ran, phase=object_type)
            elif i + 1 < len(ARCHIVED_TYPES):
                cursor_out = Cursor(ran=ran, phase=ARCHIVED_TYPES[i + 1])
            else:
                cursor_out = Cursor(ran=request.started_at)
            if object_type == "owners":
                yield _owners_page(
                    response.results or (),
                    archived=True,
                    stream="archived",
                    cursor=cursor_out.encode(),
                )
            else:
                yield _archived_page(object_type, response.results or (), cursor_out, request)
            if after is None:
                break


def _archived_page(
    object_type: str, results: Iterable[Any], cursor: Cursor, request: PullRequest
) -> PullPage:
    deleted: dict[str, datetime] = {}
    removed: list[str] = []
    bad: list[Quarantined] = []
    for rec in results:
        rid = str(rec.id)
        if object_type != "contacts":
            removed.append(rid)
            continue
        try:
            at = parse_instant(rec.archived_at, what="archivedAt")
        except BadRecord as exc:
            bad.append(Quarantined(stream="archived", record_id=rid, reason=str(exc)))
            continue
        # HubSpot always stamps archivedAt; without it the run's start bounds the deletion.
        deleted[rid] = at or request.started_at
    return PullPage(
        stream="archived",
        cursor=cursor.encode(),
        deleted_leads=deleted,
        removed_activity_ids=tuple(removed),
        quarantined=tuple(bad),
    )
