"""The ``contacts`` stream: leads with their lifecycle, status, owner and tier-field histories.

Per search page (up to 200 contacts changed in the window, key-set paged on ``lastmodifieddate``
as :mod:`._window` explains) one batch read per 100 contacts fetches the current values *and*
``propertiesWithHistory`` (search cannot return history). The search asks for ids only; the
batch read, a POST, carries the long property list (a search body over 3,000 characters is
refused). Merges show up here: a merge bumps the survivor's ``lastmodifieddate``, and its
``hs_merged_object_ids`` names the losers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from sla_sync.connectors.base import PullPage, PullRequest, Quarantined
from sla_sync.connectors.hubspot._apis import Apis
from sla_sync.connectors.hubspot._cursor import Cursor
from sla_sync.connectors.hubspot._settings import PullSettings
from sla_sync.connectors.hubspot._window import Window, keyset_pages, plan_windows
from sla_sync.connectors.hubspot.mapping import (
    BadRecord,
    ContactSettings,
    contact_history_properties,
    contact_properties,
    map_contact,
)
from sla_sync.domain import FieldChange, Lead, LifecycleChange, OwnerChange

STREAM = "contacts"
# Contacts are filtered on lastmodifieddate: hs_lastmodifieddate misbehaves in contact search
# (hubspot-api.md section 2.7, amp-labs/connectors#45).
TIME_PROPERTY = "lastmodifieddate"
DEFAULT_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)


def excerpt(props: Mapping[str, object], limit: int = 300) -> str:
    """A short JSON excerpt of a record's properties for the quarantine (no credentials are
    ever in CRM records' properties)."""
    text = json.dumps({k: v for k, v in props.items() if v not in (None, "")}, default=str)
    return text[:limit]


def pull_contacts(
    apis: Apis, request: PullRequest, settings: PullSettings, cursor: Cursor | None
) -> Iterator[PullPage]:
    """Pages of the ``contacts`` stream; see the module doc and :func:`._window.plan_windows`."""
    base = Cursor() if cursor is None or request.full else cursor
    windows = plan_windows(
        None if request.full else cursor,
        full=request.full,
        started_at=request.started_at,
        lookback=settings.lookback,
        safety_lag=settings.safety_lag,
    )
    mapping: ContactSettings | None = None  # built at the first page with records
    done = 0
    for window in windows:
        yielded = False
        for page in keyset_pages(
            apis.search,
            STREAM,
            TIME_PROPERTY,
            window,
            ["hs_object_id"],
            page_size=settings.page_size,
        ):
            if mapping is None:
                stages = settings.stages
                if stages is None:
                    stages = tuple(apis.stage_ids()) or DEFAULT_STAGES
                mapping = settings.contact_settings(stages)
            base = _next(base, window, page.last_id, page.more)
            done += len(page.results)
            progress = (done, done + max(0, (page.total or 0) - len(page.results)))
            ids = [str(r.id) for r in page.results]
            yield _page(apis, ids, mapping, base, progress)
            yielded = True
        if not yielded:  # nothing changed: still move the window on
            base = base.done(window.hi)
            yield PullPage(stream=STREAM, cursor=base.encode())


def _next(base: Cursor, window: Window, last_id: int, more: bool) -> Cursor:
    return base.inside(window.lo, window.hi, last_id) if more else base.done(window.hi)


def _page(
    apis: Apis,
    ids: list[str],
    mapping: ContactSettings,
    cursor: Cursor,
    progress: tuple[int, int | None],
) -> PullPage:
    rows = apis.batch_read(
        STREAM, ids, contact_properties(mapping), contact_history_properties(mapping)
    )
    leads: list[Lead] = []
    lifecycle: list[LifecycleChange] = []
    owners: list[OwnerChange] = []
    fields: list[FieldChange] = []
    merges: dict[str, str] = {}
    bad: list[Quarantined] = []
    for contact_id, props, history in rows:
        try:
            rec = map_contact(contact_id, props, history, mapping)
        except BadRecord as exc:
            bad.append(
                Quarantined(
                    stream=STREAM, record_id=contact_id, reason=str(exc), excerpt=excerpt(props)
                )
            )
            continue
        leads.append(rec.lead)
        lifecycle += rec.lifecycle
        owners += rec.owner_changes
        fields += rec.field_changes
        merges.update(dict.fromkeys(rec.merged_ids, contact_id))
    return PullPage(
        stream=STREAM,
        cursor=cursor.encode(),
        leads=tuple(leads),
        lifecycle=tuple(lifecycle),
        owner_changes=tuple(owners),
        field_changes=tuple(fields),
        merges=merges,
        quarantined=tuple(bad),
        progress=progress,
    )
