"""Time windows and key-set paging over CRM search.

Why key-set paging (hubspot-api.md sections 2.1 and 7, sync-lessons.md section 2.1):

- search refuses to page past 10,000 results, and HubSpot's bulk jobs stamp far more than that
  with one modification time, so "restart from the newest timestamp seen" loops forever;
- search allows one sort only.

So every call asks for ``time_prop`` in a *fixed* window ``[lo, hi]`` **and**
``hs_object_id > last id``, sorted by ``hs_object_id`` ascending, with no ``after`` offset. Each
page is a fresh query: the 10,000 cap never applies, ties on the timestamp cannot loop, and a
record that leaves the window during the run (it was modified again, past ``hi``) shifts no
offsets, so nothing behind it is skipped; the next run's window covers its new time. Ids are
compared as integers (string order puts "9" after "10").

Stopping: on an empty page or a page without ``paging.next`` (HubSpot's "no more results"),
never because a page came back short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sla_sync.connectors.base import ConnectorError
from sla_sync.connectors.hubspot._cursor import Cursor
from sla_sync.connectors.hubspot.mapping import epoch_ms

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEARCH_PAGE_MAX = 200

# (object type, request body) -> SDK response; the caller routes it through client.call.
SearchFn = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Window:
    """Records with ``lo <= time_prop <= hi``, object ids above ``after``."""

    lo: datetime
    hi: datetime
    after: int = 0


def plan_windows(
    cursor: Cursor | None,
    *,
    full: bool,
    started_at: datetime,
    lookback: timedelta,
    safety_lag: timedelta,
) -> list[Window]:
    """The windows one run of a search stream reads, in order.

    ``[hwm - lookback, started_at - safety_lag]`` after a completed window; from the epoch on a
    full sync or without a cursor. A run stopped inside a window first finishes that window
    (same bounds, above its last id) and then reads ``[its hi - lookback, now's hi]``: records
    below the resume id that changed meanwhile are in the second window. No window ends after
    ``started_at - safety_lag``, so the cursor never passes the run's start.
    """
    hi = started_at - safety_lag
    if full or cursor is None:
        return [Window(EPOCH, hi)]
    out: list[Window] = []
    start = EPOCH if cursor.hwm is None else cursor.hwm - lookback
    if cursor.in_window:
        assert cursor.lo is not None and cursor.hi is not None
        out.append(Window(cursor.lo, cursor.hi, cursor.after))
        start = cursor.hi - lookback
    if hi >= start:
        out.append(Window(max(start, EPOCH), hi))
    return out


@dataclass(frozen=True, slots=True)
class KeysetPage:
    """One search page: its raw results, the largest id in it, and whether more may follow."""

    results: Sequence[Any]
    last_id: int
    total: int | None
    more: bool


def keyset_pages(
    search: SearchFn,
    object_type: str,
    time_prop: str,
    window: Window,
    properties: Sequence[str],
    *,
    page_size: int = SEARCH_PAGE_MAX,
) -> Iterator[KeysetPage]:
    """Pages of ``object_type`` records in ``window`` by ascending object id (see module doc).

    Raises:
        ConnectorError: the portal returned ids that do not advance (it ignored the id filter);
            continuing would loop.
    """
    after = window.after
    while True:
        filters = [
            {"propertyName": time_prop, "operator": "GTE", "value": epoch_ms(window.lo)},
            {"propertyName": time_prop, "operator": "LTE", "value": epoch_ms(window.hi)},
        ]
        if after:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(after)})
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": page_size,
        }
        response = search(object_type, body)
        results = list(response.results or [])
        if not results:
            return
        ids = [int(r.id) for r in results]
        last = max(ids)
        if last <= after:
            raise ConnectorError(
                f"hubspot {object_type} search: ids do not advance past {after}; stopping"
            )
        if ids != sorted(ids):
            # Key-set paging relies on numeric id order; say so loudly if the portal differs.
            log.warning("hubspot %s search: ids not in ascending numeric order", object_type)
        paging = getattr(response, "paging", None)
        more = bool(paging is not None and paging.next is not None and paging.next.after)
        yield KeysetPage(results=results, last_id=last, total=response.total, more=more)
        if not more:
            return
        after = last
