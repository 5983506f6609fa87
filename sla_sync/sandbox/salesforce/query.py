# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Running SOQL against an :class:`~.state.Org`: name resolution, rows, JSON shaping and cursors.

``/query`` hides ``IsDeleted`` rows and archived activities (``IsArchived``: set explicitly or, on
each query, for activities over 365 days old on the sandbox clock); ``/queryAll`` returns them. Results
page at 2,000 (or ``batchSize`` from ``Sforce-Query-Options``, 200..2,000) through query locators
(``01g...-<offset>``); a locator expires after 15 minutes idle on the sandbox clock, and at most
10 stay open per user (opening more drops the oldest), as on the real service.

Speed: :func:`prepare_cached` keeps the compiled query and its matching rows per (query text,
queryAll?, day, org version), so repeated queries are cheap until the next write; pages are JSON
text joined from per-record renderings cached per (object, columns, base) in the org and dropped
record by record on writes (see :meth:`Org.changed`). A record not rendered yet is written by a
row function generated for the column list (:class:`_Renderer`), byte-identical to
``JSONResponse(render(...))``.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from json.encoder import encode_basestring
from operator import methodcaller
from typing import Any

from sla_sync.sandbox.salesforce import soql
from sla_sync.sandbox.salesforce.schema import CHILD_RELATIONSHIPS, ObjectSchema
from sla_sync.sandbox.salesforce.state import Org, Record
from sla_sync.sandbox.salesforce.values import sf_datetime, to_json

DEFAULT_BATCH = 2000
MIN_BATCH = 200
LOCATOR_IDLE = timedelta(minutes=15)
MAX_CURSORS_PER_USER = 10
# The fields of the "Name" pseudo-object that polymorphic relationships (Owner, Who) expose.
NAME_FIELDS = (
    "Id",
    "Name",
    "Type",
    "Email",
    "FirstName",
    "LastName",
    "IsActive",
    "Username",
    "Alias",
    "Phone",
    "Title",
)
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
QUERY_CACHE_SIZE = 32
RENDER_CACHES = 4
RENDER_CACHE_ROWS = 200_000
# Exactly how Starlette's JSONResponse encodes, so cached pages are byte-identical to it.
_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class QueryError(Exception):
    """A query or locator error: ``code`` and ``message`` for the 400 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Column:
    """A selected field: output path (canonical spelling), reader, and relationship info."""

    path: tuple[str, ...]
    getter: Callable[[Record], Any]
    # For each relationship hop: (relationship name, reference field, polymorphic?)
    hops: tuple[tuple[str, str, bool], ...]


@dataclass(frozen=True)
class ChildQuery:
    """A child relationship subquery ``(SELECT ... FROM Tasks)``: rendered per parent row as
    ``{"totalSize","done","records"}`` or ``null`` when the parent has no matching children."""

    name: str  # canonical relationship name (the output key)
    position: int  # plain SELECT fields before it
    schema: ObjectSchema
    parent_field: str  # the child's reference field pointing at the parent
    columns: tuple[Column, ...]
    predicate: Callable[[Record], bool] | None
    order: tuple[tuple[Callable[[Record], Any], soql.OrderItem], ...]
    limit: int | None
    include_deleted: bool
    # What the rendering depends on besides the records: the subquery and the day of ``now``.
    signature: Any = None

    def index(self, org: Org) -> dict[str, list[Record]]:
        """Matching children grouped by parent id (ordered and limited per parent)."""
        archivable = "IsArchived" in self.schema.fields
        groups: dict[str, list[Record]] = {}
        for r in org.records[self.schema.name].values():
            parent = r.get(self.parent_field)
            if parent is None:
                continue
            if not self.include_deleted and (
                r["IsDeleted"] or (archivable and r.get("IsArchived"))
            ):
                continue
            if self.predicate is not None and not self.predicate(r):
                continue
            groups.setdefault(parent, []).append(r)
        for parent, rows in groups.items():
            if self.order:
                rows = soql.sort_rows(rows, list(self.order))
            if self.limit is not None:
                rows = rows[: self.limit]
            groups[parent] = rows
        return groups


@dataclass
class Cursor:
    rows: list[Record]
    sobject: str
    columns: list[Column]
    user_id: str
    last_used: datetime
    children: tuple[ChildQuery, ...] = ()


@dataclass
class PreparedQuery:
    """A compiled query: matching rows (sorted, limited) and the columns to render."""

    schema: ObjectSchema
    rows: list[Record]
    columns: list[Column]
    count_only: bool
    children: tuple[ChildQuery, ...] = ()


def batch_size(header: str | None) -> int:
    """The page size asked for by ``Sforce-Query-Options`` (clamped to 200..2,000)."""
    if not header:
        return DEFAULT_BATCH
    match = _BATCH_RE.search(header)
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match.group(1))))


def _no_column(text: str, ref: soql.FieldRef, entity: str) -> soql.SoqlError:
    if len(ref.path) > 1:
        detail = (
            f"Didn't understand relationship '{ref.path[0]}' in field path. If you are attempting to use a "
            "custom relationship, be sure to append the '__r' after the custom relationship name. Please "
            "reference your WSDL or the describe call for the appropriate names."
        )
    else:
        detail = (
            f"No such column '{ref.text}' on entity '{entity}'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
            "describe call for the appropriate names."
        )
    return soql.error_at(text, ref.pos, "INVALID_FIELD", detail)


class Resolver:
    """Resolves field paths of one query against the org's schemas into :class:`Column` s."""

    def __init__(self, org: Org, schema: ObjectSchema, text: str) -> None:
        self.org, self.schema, self.text = org, schema, text

    def column(self, ref: soql.FieldRef) -> tuple[Column, str, bool]:
        schema: ObjectSchema | None = self.schema
        hops: list[tuple[str, str, bool]] = []
        canonical: list[str] = []
        for depth, part in enumerate(ref.path):
            last = depth == len(ref.path) - 1
            if schema is None:  # polymorphic "Name" pseudo-object
                name = next((n for n in NAME_FIELDS if n.lower() == part.lower()), None)
                if name is None or not last:
                    raise _no_column(self.text, ref, "Name")
                canonical.append(name)
                return (
                    self._build(tuple(canonical), hops, name, None),
                    "id" if name == "Id" else "string",
                    True,
                )
            if last:
                fdef = schema.field(part)
                if fdef is None:
                    raise _no_column(self.text, ref, schema.name)
                canonical.append(fdef.name)
                return (
                    self._build(tuple(canonical), hops, fdef.name, schema),
                    fdef.type,
                    fdef.filterable,
                )
            rel = schema.relationship(part)
            if rel is None:
                raise _no_column(self.text, ref, schema.name)
            canonical.append(rel.relationship_name or part)
            polymorphic = len(rel.reference_to) > 1
            hops.append((rel.relationship_name or part, rel.name, polymorphic))
            schema = None if polymorphic else self.org.schemas.get(rel.reference_to[0])
        raise _no_column(self.text, ref, self.schema.name)  # pragma: no cover - loop always returns

    def _build(
        self,
        path: tuple[str, ...],
        hops: list[tuple[str, str, bool]],
        name: str,
        schema: ObjectSchema | None,
    ) -> Column:
        org = self.org
        ref_fields = [h[1] for h in hops]
        if not ref_fields and schema is not None:
            # A plain field: a C-level ``record.get(name)`` (filters and sorts call it per row).
            return Column(path, methodcaller("get", name), ())

        def getter(record: Record) -> Any:
            current: Record | None = record
            for ref_field in ref_fields:
                current = org.lookup(current.get(ref_field)) if current is not None else None
            if current is None:
                return None
            if schema is None and name == "Type":
                return org.object_of(current["Id"])
            return current.get(name)

        return Column(path, getter, tuple(hops))

    def __call__(self, ref: soql.FieldRef) -> soql.Resolved:
        column, ftype, filterable = self.column(ref)
        return soql.Resolved(column.getter, ftype, filterable)


def prepare(org: Org, text: str, *, include_deleted: bool, now: datetime) -> PreparedQuery:
    """Parse, resolve and run ``text`` (archiving old activities first). Raises
    :class:`soql.SoqlError`."""
    org.archive_activities(now.date())
    parsed = soql.parse(text)
    schema = org.schema(parsed.sobject)
    if schema is None:
        raise soql.error_at(
            text,
            parsed.sobject_pos,
            "INVALID_TYPE",
            f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
        )
    resolver = Resolver(org, schema, text)
    columns: list[Column] = []
    seen: set[str] = set()
    for ref in parsed.fields:
        column, _, _ = resolver.column(ref)
        key = ".".join(column.path).lower()
        if key in seen:
            raise soql.error_at(
                text, ref.pos, "MALFORMED_QUERY", f"duplicate field selected: {ref.text}"
            )
        seen.add(key)
        columns.append(column)
    children = tuple(
        _child_query(org, schema, text, position, sub, include_deleted=include_deleted, now=now)
        for position, sub in parsed.subqueries
    )
    if len({c.name for c in children}) != len(children):
        raise soql.error_at(text, 0, "MALFORMED_QUERY", "duplicate field selected: subquery")
    predicate = soql.compile_where(text, parsed.where, resolver, now) if parsed.where else None
    archivable = "IsArchived" in schema.fields
    rows = [
        r
        for r in org.records[schema.name].values()
        if (include_deleted or (not r["IsDeleted"] and not (archivable and r.get("IsArchived"))))
        and (predicate is None or predicate(r))
    ]
    if parsed.order:
        rows = soql.sort_rows(rows, [(resolver(item.field).getter, item) for item in parsed.order])
    if parsed.offset:
        rows = rows[parsed.offset :]
    if parsed.limit is not None:
        rows = rows[: parsed.limit]
    return PreparedQuery(schema, rows, columns, parsed.count_only, children)


def _child_query(
    org: Org,
    parent: ObjectSchema,
    text: str,
    position: int,
    sub: soql.Query,
    *,
    include_deleted: bool,
    now: datetime,
) -> ChildQuery:
    """Resolve a subquery against the parent's child relationships. Raises :class:`soql.SoqlError`."""
    relations = CHILD_RELATIONSHIPS.get(parent.name, {})
    name = next((n for n in relations if n.lower() == sub.sobject.lower()), None)
    if name is None:
        raise soql.error_at(
            text,
            sub.sobject_pos,
            "INVALID_TYPE",
            f"Didn't understand relationship '{sub.sobject}' in FROM part of query call. If you are "
            "attempting to use a custom relationship, be sure to append the '__r' after the custom "
            "relationship name. Please reference your WSDL or the describe call for the appropriate names.",
        )
    if sub.count_only or sub.offset:
        raise soql.error_at(
            text,
            sub.sobject_pos,
            "MALFORMED_QUERY",
            "COUNT() and OFFSET are not supported in a subquery",
        )
    child_name, parent_field = relations[name]
    child = org.schemas[child_name]
    resolver = Resolver(org, child, text)
    columns = tuple(resolver.column(ref)[0] for ref in sub.fields)
    predicate = soql.compile_where(text, sub.where, resolver, now) if sub.where else None
    order = tuple((resolver(item.field).getter, item) for item in sub.order)
    return ChildQuery(
        name,
        position,
        child,
        parent_field,
        columns,
        predicate,
        order,
        sub.limit,
        include_deleted,
        signature=(sub, include_deleted, now.date()),
    )


def prepare_cached(org: Org, text: str, *, include_deleted: bool, now: datetime) -> PreparedQuery:
    """:func:`prepare`, reused while the org is unchanged (relative dates: on the same day).

    The returned ``rows`` list is shared: callers must not modify it.
    """
    org.archive_activities(now.date())
    key = (text, include_deleted, now.date())
    hit = org.query_cache.get(key)
    if hit is not None and hit[0] == org.version:
        return hit[1]  # type: ignore[no-any-return]
    prepared = prepare(org, text, include_deleted=include_deleted, now=now)
    org.query_cache.pop(key, None)
    org.query_cache[key] = (org.version, prepared)
    while len(org.query_cache) > QUERY_CACHE_SIZE:
        del org.query_cache[next(iter(org.query_cache))]
    return prepared


def _encode_value(value: Any) -> str:
    """A stored plain value as JSON text (what ``render`` + ``JSONResponse`` would write)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is datetime:
        text: str = value.isoformat(timespec="milliseconds")
        if text.endswith("+00:00"):  # stored dateTimes are UTC: skip the slower formatter
            return '"' + text[:23] + '+0000"'
        return '"' + sf_datetime(value) + '"'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    encoded: str = _dumps(to_json(value))
    return encoded


def render_json(
    rows: list[Record],
    sobject: str,
    columns: list[Column],
    base: str,
    org: Org,
    children: tuple[ChildQuery, ...] = (),
) -> list[str]:
    """Each record as the JSON text of :func:`render`'s dict, cached per record in the org.

    With child subqueries a rendering also depends on the child objects (any write to them drops
    the cached renderings of this column list, see :meth:`Org.changed`)."""
    key = (sobject, tuple(c.path for c in columns), base, tuple(c.signature for c in children))
    entry = org.render_caches.get(key)
    if entry is None:
        deps: set[str] = set()
        for col in columns:
            if col.hops:
                deps.update(_hop_targets(org, sobject, col))
        for child in children:
            deps.add(child.schema.name)
            for col in child.columns:
                if col.hops:
                    deps.update(_hop_targets(org, child.schema.name, col))
        entry = (frozenset(deps) if deps else None, {})
        org.render_caches[key] = entry
        while len(org.render_caches) > RENDER_CACHES:
            del org.render_caches[next(iter(org.render_caches))]
    cache = entry[1]
    out: list[str] = []
    missing: list[int] = []
    get = cache.get
    for record in rows:
        text = get(record["Id"])
        if text is None:
            missing.append(len(out))
            out.append("")
        else:
            out.append(text)
    if missing:
        if len(cache) + len(missing) > RENDER_CACHE_ROWS:
            cache.clear()
        todo = [rows[i] for i in missing]
        if children:
            rendered = _render_with_children(todo, sobject, columns, base, org, children)
        else:
            rendered = _Renderer(sobject, columns, base, org).many(todo)
        for i, text in zip(missing, rendered, strict=True):
            out[i] = text
            cache[rows[i]["Id"]] = text
    return out


def _render_with_children(
    rows: list[Record],
    sobject: str,
    columns: list[Column],
    base: str,
    org: Org,
    children: tuple[ChildQuery, ...],
) -> list[str]:
    """JSON texts of parent rows with each subquery's relationship object in SELECT position."""
    indexes = [child.index(org) for child in children]
    keys: list[str] = []
    for i, col in enumerate([*columns, None]):
        keys.extend(c.name for c in children if c.position == i)
        if col is not None and col.path[0] not in keys:
            keys.append(col.path[0])
    out = []
    for item in render(rows, sobject, columns, base, org):
        parent_id = item["attributes"]["url"].rpartition("/")[2]
        for child, index in zip(children, indexes, strict=True):
            found = index.get(parent_id)
            item[child.name] = (
                {
                    "totalSize": len(found),
                    "done": True,
                    "records": render(found, child.schema.name, list(child.columns), base, org),
                }
                if found
                else None
            )
        out.append(_dumps({"attributes": item["attributes"], **{k: item[k] for k in keys}}))
    return out


def _hop_targets(org: Org, sobject: str, col: Column) -> set[str]:
    """The objects a relationship column reads (all targets of polymorphic hops)."""
    targets: set[str] = set()
    schema = org.schemas.get(sobject)
    for _, ref_field, _ in col.hops:
        fdef = schema.fields.get(ref_field) if schema is not None else None
        if fdef is None:  # behind a polymorphic hop: any object may be read
            targets.update(org.schemas)
            return targets
        targets.update(fdef.reference_to)
        schema = org.schemas.get(fdef.reference_to[0]) if len(fdef.reference_to) == 1 else None
    return targets


def _encode_datetime(value: datetime) -> str:
    text: str = value.isoformat(timespec="milliseconds")
    if text.endswith("+00:00"):  # stored dateTimes are UTC: skip the slower formatter
        return '"' + text[:23] + '+0000"'
    return '"' + sf_datetime(value) + '"'


class _Renderer:
    """Renders records of one column list as JSON text without building their dicts: a
    ``%``-template of the constant parts, filled by a row function generated for the columns
    (one inline expression per value, no per-value loop or dispatch)."""

    def __init__(self, sobject: str, columns: list[Column], base: str, org: Org) -> None:
        self.org, self.base = org, base
        schema = org.schemas.get(sobject)
        # Output keys in SELECT order of their first segment, each with its columns.
        groups: dict[str, list[Column]] = {}
        for col in columns:
            groups.setdefault(col.path[0], []).append(col)
        # The constant text around each placeholder: the url, then each slot's value.
        consts = ['{"attributes":{"type":' + encode_basestring(sobject) + ',"url":', "}"]
        exprs = ["enc(url + get('Id'))"]
        rels: list[Callable[[Record], str]] = []
        for name, cols in groups.items():
            consts[-1] += "," + encode_basestring(name) + ":"
            consts.append("")
            if len(cols) == 1 and not cols[0].hops:
                fdef = schema.fields.get(name) if schema is not None else None
                if fdef is not None and fdef.type == "datetime":
                    first, then = (
                        "dt(x) if type(x := get({!r})) is datetime",
                        "enc(x) if type(x) is str",
                    )
                else:
                    first, then = (
                        "enc(x) if type(x := get({!r})) is str",
                        "dt(x) if type(x) is datetime",
                    )
                exprs.append(
                    f"({first.format(name)} else 'null' if x is None else {then} else other(x))"
                )
            else:
                rels.append(self._relationship(name, cols))
                exprs.append(f"rels[{len(rels) - 1}](record)")
        consts[-1] += "}"
        source = (
            f"def row(record):\n    get = record.get\n    return template % ({', '.join(exprs)},)\n"
        )
        scope: dict[str, Any] = {
            "template": "%s".join(part.replace("%", "%%") for part in consts),
            "url": f"{base}/sobjects/{sobject}/",
            "enc": encode_basestring,
            "dt": _encode_datetime,
            "other": _encode_value,
            "datetime": datetime,
            "rels": rels,
        }
        # Only repr()-quoted field names and fixed code reach the source.
        exec(compile(source, f"<soql renderer {sobject}>", "exec"), scope)
        self.row: Callable[[Record], str] = scope["row"]

    def _relationship(self, name: str, cols: list[Column]) -> Callable[[Record], str]:
        """The JSON of relationship object ``name``; it depends only on the first hop's target."""
        ref_field = cols[0].hops[0][1]
        memo: dict[Any, str] = {}
        base, org = self.base, self.org

        def render_relationship(record: Record) -> str:
            target = record.get(ref_field)
            text = memo.get(target)
            if text is None:
                item: dict[str, Any] = {}
                for col in cols:
                    _nest(item, record, col, base, org)
                text = memo[target] = _dumps(item.get(name))
            return text

        return render_relationship

    def many(self, rows: list[Record]) -> list[str]:
        return list(map(self.row, rows))


def page_body(total: int, done: bool, next_url: str | None, records: list[str]) -> bytes:
    """A query page as ``JSONResponse`` would encode ``{"totalSize","done"[,"nextRecordsUrl"],"records"}``."""
    head = f'{{"totalSize":{total},"done":{"true" if done else "false"}'
    if next_url is not None:
        head += ',"nextRecordsUrl":' + encode_basestring(next_url)
    return (head + ',"records":[' + ",".join(records) + "]}").encode()


def render(
    rows: list[Record], sobject: str, columns: list[Column], base: str, org: Org
) -> list[dict[str, Any]]:
    """Records as the REST API shapes them (attributes, nested relationship objects, nulls)."""
    out = []
    plain = [col.path[0] for col in columns if not col.hops]
    nested = [col for col in columns if col.hops]
    url = f"{base}/sobjects/{sobject}/"
    for record in rows:
        item: dict[str, Any] = {"attributes": {"type": sobject, "url": url + record["Id"]}}
        for name in plain:
            value = record.get(name)
            item[name] = (
                value
                if value is None or isinstance(value, str | bool | int | float)
                else to_json(value)
            )
        for col in nested:
            _nest(item, record, col, base, org)
        if nested:
            # Keep the SELECT order of keys (nested objects were appended after plain fields).
            item = {
                "attributes": item["attributes"],
                **{c.path[0]: item[c.path[0]] for c in columns},
            }
        out.append(item)
    return out


def _nest(item: dict[str, Any], record: Record, col: Column, base: str, org: Org) -> None:
    holder: dict[str, Any] | None = item
    current: Record | None = record
    for rel_name, ref_field, polymorphic in col.hops:
        target = org.lookup(current.get(ref_field)) if current is not None else None
        assert holder is not None
        if target is None:
            holder.setdefault(rel_name, None)
            return
        existing = holder.get(rel_name)
        if existing is None:
            obj = org.object_of(target["Id"]) or "Name"
            existing = {
                "attributes": {
                    "type": "Name" if polymorphic else obj,
                    "url": f"{base}/sobjects/{obj}/{target['Id']}",
                }
            }
            holder[rel_name] = existing
        holder, current = existing, target
    assert holder is not None
    holder[col.path[-1]] = to_json(col.getter(record))


def flat_value(record: Record, col: Column) -> Any:
    """The value of a column for flat output (Bulk CSV): ``Owner.Name`` as one cell."""
    return to_json(col.getter(record))


@dataclass
class CursorStore:
    """Open query locators."""

    cursors: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)

    def open(self, cursor: Cursor, locator_id: str) -> None:
        mine = [k for k, c in self.cursors.items() if c.user_id == cursor.user_id]
        while len(mine) >= MAX_CURSORS_PER_USER:
            del self.cursors[mine.pop(0)]
        self.cursors[locator_id] = cursor

    def take(self, locator: str, now: datetime) -> tuple[Cursor, int]:
        """The cursor and offset of ``<id>-<offset>``. Raises :class:`QueryError`."""
        locator_id, _, offset = locator.rpartition("-")
        cursor = self.cursors.get(locator_id)
        if cursor is None or not offset.isdigit() or now - cursor.last_used > LOCATOR_IDLE:
            self.cursors.pop(locator_id, None)
            raise QueryError("INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = now
        return cursor, int(offset)

    def clear(self) -> None:
        self.cursors.clear()
