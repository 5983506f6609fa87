"""CRM search: ``filterGroups`` (OR of ANDs), the documented operators, one sort, offset paging.

Comparison rules (HubSpot search guide): datetime values compare as instants (filter values in
epoch ms or ISO); numbers numerically; strings case-insensitively except ``IN``/``NOT_IN``, whose
values must be lowercase to match; enumerations case-sensitively. ``BETWEEN`` is inclusive (an
assumption: HubSpot does not document it). A filter on a record without the property matches only
``NEQ``, ``NOT_HAS_PROPERTY``, ``NOT_IN`` and ``NOT_CONTAINS_TOKEN``. Archived records never match.
"""

from __future__ import annotations

import fnmatch
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sla_sync.sandbox.hubspot.records import Record, to_iso
from sla_sync.sandbox.hubspot.schema import (
    ALIASES,
    CONTACT_DEFAULTS,
    ENGAGEMENT_DEFAULTS,
    SEARCHABLE,
    PropertyDef,
)
from sla_sync.sandbox.hubspot.state import Store
from sla_sync.sandbox.hubspot.wire import HubSpotError

MAX_TOTAL = 10_000
MAX_LIMIT = 200
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY"}
OPERATORS |= {"NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
NEGATIVE = {"NEQ", "NOT_HAS_PROPERTY", "NOT_IN", "NOT_CONTAINS_TOKEN"}

Predicate = Callable[[Record], bool]


@dataclass(slots=True)
class SearchLimits:
    """Configurable request limits (the guide says 5 groups x 6 filters, 18 in total)."""

    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    max_body_chars: int = 3000


def _bad(message: str) -> HubSpotError:
    return HubSpotError(400, message, category="VALIDATION_ERROR")


def _coerce(definition: PropertyDef | None, raw: Any) -> Any:
    """A filter value in the form stored values compare against."""
    text = "true" if raw is True else "false" if raw is False else str(raw)
    kind = definition.type if definition else "string"
    try:
        if kind in ("datetime", "date"):
            return to_iso(text, kind)
        if kind == "number":
            return float(text)
    except ValueError:
        raise _bad(f"{text!r} is not a valid value for {kind} property") from None
    return text.lower() if kind in ("string", "bool") else text


def _stored(definition: PropertyDef | None) -> Callable[[str], Any]:
    kind = definition.type if definition else "string"
    if kind == "number":
        return float
    if kind in ("string", "bool"):
        return str.lower
    return str


def _compile_filter(store: Store, object_type: str, spec: Mapping[str, Any]) -> Predicate:
    name = str(spec.get("propertyName", ""))
    op = str(spec.get("operator", "EQ")).upper()
    if op not in OPERATORS:
        raise _bad(f"Invalid operator {op!r}")
    if name.startswith("associations."):
        return _association_filter(store, object_type, name, op, spec)
    definition = store.buckets[object_type].props.get(name)
    conv = _stored(definition)

    def value_of(rec: Record) -> Any:
        raw = rec.props.get(name)
        if raw is None:
            return None
        try:
            return conv(raw)
        except ValueError:
            return None

    if op == "HAS_PROPERTY":
        return lambda rec: rec.props.get(name) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda rec: rec.props.get(name) is None
    if op in ("IN", "NOT_IN"):
        raw_values = spec.get("values") or []
        kind = definition.type if definition else "string"
        if kind == "number":
            values = {_coerce(definition, v) for v in raw_values}
        else:  # the documented lowercase rule: stored strings are lowered, values are not
            values = {str(v) for v in raw_values}
        if op == "IN":
            return lambda rec: value_of(rec) in values
        return lambda rec: value_of(rec) not in values
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(spec.get("value", "")).lower()

        def contains(rec: Record) -> bool:
            raw = rec.props.get(name)
            if raw is None:
                return False
            text = raw.lower()
            tokens = [text, *text.split()]
            return any(fnmatch.fnmatchcase(t, pattern) for t in tokens)

        return contains if op == "CONTAINS_TOKEN" else (lambda rec: not contains(rec))
    low = _coerce(definition, spec.get("value", ""))
    if op == "BETWEEN":
        high = _coerce(definition, spec.get("highValue", ""))

        def between(rec: Record) -> bool:
            v = value_of(rec)
            return v is not None and bool(low <= v <= high)

        return between
    if op == "EQ" and conv is str:
        return lambda rec: rec.props.get(name) == low
    if op == "EQ":
        return lambda rec: value_of(rec) == low
    if op == "NEQ":
        return lambda rec: value_of(rec) != low
    compare: Callable[[Any, Any], bool] = {
        "LT": operator.lt,
        "LTE": operator.le,
        "GT": operator.gt,
        "GTE": operator.ge,
    }[op]
    if conv is str:  # datetimes (ISO millis), dates and enumerations compare as stored

        def native(rec: Record) -> bool:
            v = rec.props.get(name)
            return v is not None and compare(v, low)

        return native

    def ordered(rec: Record) -> bool:
        v = value_of(rec)
        return v is not None and compare(v, low)

    return ordered


def _association_filter(
    store: Store, object_type: str, name: str, op: str, spec: Mapping[str, Any]
) -> Predicate:
    other = ALIASES.get(name.split(".", 1)[1])
    if other is None or op not in ("EQ", "IN"):
        raise _bad(f"Unsupported association filter {name} {op}")
    wanted = {str(v) for v in (spec.get("values") or [spec.get("value")])}
    ids = {int(v) for v in wanted if v.isdigit()}

    others = store.buckets[other].records  # ids are unique across types

    def linked(rec: Record) -> bool:
        links = store.assoc.get(rec.id)
        return links is not None and any(i in links and i in others for i in ids)

    return linked


def _compile(
    store: Store, object_type: str, body: Mapping[str, Any], lim: SearchLimits
) -> Callable[[list[Record]], list[Record]]:
    groups = body.get("filterGroups") or []
    if len(groups) > lim.max_groups:
        raise _bad(f"Too many filter groups: {len(groups)} (max {lim.max_groups})")
    total = 0
    compiled: list[list[Predicate]] = []
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > lim.max_filters_per_group:
            raise _bad(
                f"Too many filters in a group: {len(filters)} (max {lim.max_filters_per_group})"
            )
        total += len(filters)
        compiled.append([_compile_filter(store, object_type, f) for f in filters])
    if total > lim.max_filters_total:
        raise _bad(f"Too many filters: {total} (max {lim.max_filters_total})")
    query = str(body.get("query") or "").lower().split()
    searchable = SEARCHABLE[object_type]

    def run(records: list[Record]) -> list[Record]:
        if compiled:
            matched: set[int] = set()
            for group in compiled:  # AND inside a group: narrow the candidates filter by filter
                cands = records
                for p in group:
                    cands = [r for r in cands if p(r)]
                matched.update(r.id for r in cands)
            records = [r for r in records if r.id in matched] if len(compiled) > 1 else cands
        if query:

            def hit(rec: Record) -> bool:
                text = " ".join((rec.props.get(n) or "") for n in searchable).lower()
                return all(word in text for word in query)

            records = [r for r in records if hit(r)]
        return records

    return run


def _sort_key(store: Store, object_type: str, sorts: list[Any]) -> tuple[str, bool] | None:
    if len(sorts) > 1:
        raise _bad("Only one sort is allowed per search")
    if not sorts:
        return None
    sort = sorts[0]
    if isinstance(sort, str):
        return sort.lstrip("-"), sort.startswith("-")
    name = str(sort.get("propertyName", "hs_object_id"))
    return name, str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"


def run_search(
    store: Store,
    object_type: str,
    body: Mapping[str, Any],
    lim: SearchLimits,
    now: str | None = None,
) -> dict[str, Any]:
    """The ``CollectionResponseWithTotalSimplePublicObject`` for ``body`` (caller holds the lock).

    With a search delay (``store.search_delay_seconds``) records are matched and rendered as the
    index shows them at ``now``: records written less than the delay ago are missing (created) or
    still carry their earlier values (updated).

    Raises:
        HubSpotError: 400 for limit > 200, paging past 10,000, too many groups/filters/sorts,
            unknown operators or unparseable filter values.
    """
    try:
        limit = int(body.get("limit") or 10)
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise _bad("limit and after must be integers") from None
    if not 0 < limit <= MAX_LIMIT:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}")
    if offset + limit > MAX_TOTAL:
        raise _bad(f"Search results are limited to {MAX_TOTAL} total results; page beyond refused")
    bucket = store.buckets[object_type]
    key = _sort_key(store, object_type, list(body.get("sorts") or []))
    # A paging client repeats one query with a moving ``after``: cache the sorted hits until the
    # next write (``store.version``), so each page costs O(page), not O(portal).
    query = {k: v for k, v in body.items() if k not in ("after", "limit", "properties")}
    cache_key = (object_type, json.dumps(query, sort_keys=True, default=str))
    lagging = now is not None and store.catch_up(now)
    cached = None if lagging else store.search_cache.get(cache_key)
    if cached is not None and cached[0] == store.version:
        return _page(bucket, object_type, body, cached[1], offset, limit)
    run = _compile(store, object_type, body, lim)
    if lagging:
        assert now is not None
        view = store.searchable
        hits = run([v for r in bucket.records.values() if not r.archived and (v := view(r, now))])
    else:
        hits = run([r for r in bucket.records.values() if not r.archived])
    if key is not None and not (key[0] in ("hs_object_id", "id") and not key[1]):
        name, descending = key
        conv = _stored(bucket.props.get(name))

        def sort_value(rec: Record) -> tuple[int, Any]:
            raw = rec.props.get(name)
            try:
                return (0, conv(raw)) if raw is not None else (1, "")
            except ValueError:
                return (1, "")

        present = [r for r in hits if r.props.get(name) is not None]
        missing = [r for r in hits if r.props.get(name) is None]
        present.sort(key=sort_value, reverse=descending)
        hits = present + missing
    if lagging:  # what is visible changes with the clock, not only with writes
        return _page(bucket, object_type, body, hits, offset, limit)
    if len(store.search_cache) > 32:
        store.search_cache.clear()
    store.search_cache[cache_key] = (store.version, hits)
    return _page(bucket, object_type, body, hits, offset, limit)


def _page(
    bucket: Any,
    object_type: str,
    body: Mapping[str, Any],
    hits: list[Record],
    offset: int,
    limit: int,
) -> dict[str, Any]:
    page = hits[offset : offset + limit]
    defaults = CONTACT_DEFAULTS if object_type == "contacts" else ENGAGEMENT_DEFAULTS
    requested = body.get("properties")
    if requested:
        always = ("createdate", "lastmodifieddate") if object_type == "contacts" else ()
        names = list(dict.fromkeys([*requested, *always, *ENGAGEMENT_DEFAULTS[-1:]]))
        if object_type != "contacts":
            names = list(dict.fromkeys([*requested, *ENGAGEMENT_DEFAULTS]))
    else:
        names = list(defaults)
    defined = set(names)
    results = [r.to_json(names, defined) for r in page]
    out: dict[str, Any] = {"total": len(hits), "results": results}
    if offset + limit < len(hits):
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return out
