"""The emulated portal: records per object type, property definitions, owners, associations.

All mutation goes through :class:`Store` under ``store.lock`` (handlers run concurrently). Every
write stamps ``updatedAt`` and ``lastmodifieddate`` (contacts) / ``hs_lastmodifieddate`` with the
write instant and appends the changed values to the property history. ``lifecyclestage`` moves
forward only (unless cleared first); entering a stage stamps ``hs_v2_date_entered_<stage>``, the
legacy ``hs_lifecyclestage_<stage>_date`` (a portal option) and ``hs_v2_date_exited_<previous>``.
E-mail addresses are unique among live contacts (409 ``CONFLICT`` otherwise). With a search delay
(``search_delay_seconds`` > 0) each write reaches the search index that many seconds later:
``pending`` keeps, per lagging record, what search still shows (see :meth:`Store.searchable`).
"""

from __future__ import annotations

import bisect
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sla_sync.sandbox.hubspot.records import HistoryEntry, Record, iso_ms, normalize
from sla_sync.sandbox.hubspot.schema import (
    ASSOCIATION_TYPES,
    OBJECT_TYPES,
    PropertyDef,
    default_groups,
    default_properties,
)
from sla_sync.sandbox.hubspot.wire import HubSpotError

FIRST_OBJECT_ID = 10_001
LIFECYCLE_DATES = ("hs_v2_date_entered_", "hs_lifecyclestage_")
# Property names whose writes have side effects beyond the value and its history.
_SIDE_EFFECTS = frozenset({"createdate", "lifecyclestage", "email", "hubspot_owner_id"})
_STAGE_KEYS: dict[tuple[str, str, str], str] = {}
_PAIRS = {type_id: pair for pair, type_id in ASSOCIATION_TYPES.items()}


def _stage_key(prefix: str, stage: str, suffix: str = "") -> str:
    """``prefix + stage + suffix``, one shared string per name (a record's props hold the key,
    so a million contacts would otherwise hold a million copies of each)."""
    key = (prefix, stage, suffix)
    name = _STAGE_KEYS.get(key)
    if name is None:
        name = _STAGE_KEYS[key] = sys.intern(prefix + stage + suffix)
    return name


@dataclass(slots=True)
class Pending:
    """A record's writes the search index has not caught up with (search delay > 0).

    ``base`` is what search saw before the first of them (``None``: the record was created within
    the delay, so search does not see it at all); ``versions`` are ``(visible at, snapshot after
    the write)``, oldest first.
    """

    base: Record | None
    versions: list[tuple[str, Record]] = field(default_factory=list)


def _snapshot(rec: Record) -> Record:
    """A copy of ``rec`` as search sees it (no history)."""
    return Record(
        id=rec.id,
        type=rec.type,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
        props=dict(rec.props),
        archived=rec.archived,
        archived_at=rec.archived_at,
    )


@dataclass
class Bucket:
    """The records of one object type; ``order`` holds every id ever created, ascending."""

    records: dict[int, Record] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    props: dict[str, PropertyDef] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Archived (deleted) property definitions and groups: out of the live lists and unwritable.
    archived_props: dict[str, PropertyDef] = field(default_factory=dict)
    archived_groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def live(self, start: int = 0, archived: bool = False) -> Iterator[Record]:
        """Records with id >= ``start`` in id order; only archived ones when ``archived``."""
        order, records = self.order, self.records
        for i in range(bisect.bisect_left(order, start), len(order)):  # no O(n) slice copy
            rec = records.get(order[i])
            if rec is not None and rec.archived is archived:
                yield rec


class Store:
    """The whole portal. Methods that write expect ``now`` as an ISO-millis string."""

    def __init__(self, *, legacy_lifecycle_dates: bool = True) -> None:
        self.lock = threading.RLock()
        self.legacy_lifecycle_dates = legacy_lifecycle_dates
        self.lenient_engagements = False
        self.reset()

    def reset(self) -> None:
        """Empty every store and restore the built-in definitions."""
        with self.lock:
            self.buckets: dict[str, Bucket] = {}
            for t in OBJECT_TYPES:
                bucket = Bucket()
                bucket.props = {d.name: d for d in default_properties(t)}
                bucket.groups = {g["name"]: g for g in default_groups(t)}
                self.buckets[t] = bucket
            self.next_id = FIRST_OBJECT_ID
            self.merged: dict[int, int] = {}  # loser id -> surviving id
            self.emails: dict[str, int] = {}
            # id -> {other id: association type id}. Ids are unique across object types (one
            # sequence), and a type id names both ends' types, so no (type, id) tuples are kept.
            self.assoc: dict[int, dict[int, int]] = {}
            self.owners: list[dict[str, Any]] = []
            self.owner_aliases: dict[str, str] = {}  # seed owner id -> owner id
            self.version = 0  # bumped by every change search results could depend on
            self.search_cache: dict[tuple[str, str], tuple[int, list[Record]]] = {}
            self._stage_order: dict[str, int] | None = None
            # Eventual consistency of search: writes become searchable this many sandbox seconds
            # later; ``pending`` holds what the index still shows for records written since.
            self.search_delay_seconds = 0.0
            self.pending: dict[int, Pending] = {}

    # ------------------------------------------------------------------ reads

    def definitions_changed(self) -> None:
        """A property definition changed: search comparisons and the stage order may differ."""
        self.version += 1
        self._stage_order = None

    def stage_order(self) -> dict[str, int]:
        """Lifecycle stage -> rank, from the ``lifecyclestage`` options."""
        if self._stage_order is not None:
            return self._stage_order
        opts = self.buckets["contacts"].props["lifecyclestage"].options
        order = {str(o["value"]): int(o.get("displayOrder", i)) for i, o in enumerate(opts)}
        self._stage_order = order
        return order

    def resolve(self, object_type: str, rid: int, *, follow_merges: bool) -> Record | None:
        """The live record ``rid`` (or, with ``follow_merges``, the record it was merged into)."""
        bucket = self.buckets[object_type]
        rec = bucket.records.get(rid)
        if rec is None and follow_merges:
            seen = 0
            while rid in self.merged and seen < 100:
                rid, seen = self.merged[rid], seen + 1
            rec = bucket.records.get(rid)
        return rec

    def by_email(self, email: str) -> Record | None:
        """The live contact with ``email`` (case-insensitive)."""
        rid = self.emails.get(email.lower())
        return None if rid is None else self.buckets["contacts"].records.get(rid)

    # ------------------------------------------------------------------ writes

    def prepare(self, object_type: str, props: Mapping[str, Any], current: Record | None) -> Any:
        """Validated, normalised values for a write (see :func:`records.normalize`)."""
        lenient = self.lenient_engagements and object_type != "contacts"
        values = normalize(
            props,
            self.buckets[object_type].props,
            stage_order=self.stage_order(),
            current=current,
            lenient=lenient,
        )
        email = values.get("email")
        if object_type == "contacts" and email:
            other = self.emails.get(email.lower())
            if other is not None and (current is None or other != current.id):
                raise HubSpotError(
                    409, f"Contact already exists. Existing ID: {other}", category="CONFLICT"
                )
        return values

    def create(
        self,
        object_type: str,
        values: Mapping[str, str | None],
        now: str,
        *,
        source: str = "API",
        created_at: str | None = None,
    ) -> Record:
        """A new record with prepared ``values`` (``created_at`` backdates it, for seeding)."""
        rid = self.next_id
        self.next_id += 1
        created = created_at or now
        rec = Record(id=rid, type=object_type, created_at=created, updated_at=created)
        rec.props["hs_object_id"] = str(rid)
        # "Record source": where the record was made (API, CRM_UI, IMPORT, AUTOMATION_PLATFORM...).
        # Guess: records made with a private-app token may say INTEGRATION on real portals; the
        # emulator uses the same source as the history entries of the create.
        rec.props["hs_object_source"] = source
        if object_type == "contacts":
            rec.props["createdate"] = created
        rec.props["hs_createdate"] = created
        bucket = self.buckets[object_type]
        bucket.records[rid] = rec
        bucket.order.append(rid)
        if self.search_delay_seconds:
            self.pending[rid] = Pending(base=None)
        self.write(rec, values, now, source=source)
        return rec

    def write(
        self,
        rec: Record,
        values: Mapping[str, str | None],
        now: str,
        *,
        source: str = "API",
        source_id: str | None = None,
    ) -> None:
        """Apply prepared ``values`` at ``now`` and bump the modification stamps."""
        lagged = self.search_delay_seconds and self._lag_base(rec)
        props = rec.props
        history = rec.history
        stamp: HistoryEntry = source if source_id is None else (source, source_id)
        for name, value in values.items():
            old = props.get(name)
            if value == old:
                if name == "createdate" and value is not None:
                    rec.created_at = value
                continue
            if name in _SIDE_EFFECTS:
                if name == "createdate" and value is not None:
                    rec.created_at = value
                elif name == "lifecyclestage" and value is not None:
                    self._enter_stage(rec, old, value, now)
                elif name == "email" and rec.type == "contacts":
                    if old:
                        self.emails.pop(old.lower(), None)
                    if value:
                        self.emails[value.lower()] = rec.id
                elif name == "hubspot_owner_id" and value is not None:
                    props["hubspot_owner_assigneddate"] = now
            props[name] = value
            history += (name, value or "", now, stamp)
        self.touch(rec, now)
        if lagged:
            self.pending[rec.id].versions.append((self._visible_at(now), _snapshot(rec)))

    def touch(self, rec: Record, now: str) -> None:
        """Stamp the modification time."""
        rec.updated_at = now
        self.version += 1
        if rec.type == "contacts":
            rec.props["lastmodifieddate"] = now
        rec.props["hs_lastmodifieddate"] = now

    def _enter_stage(self, rec: Record, old: str | None, stage: str, now: str) -> None:
        props = rec.props
        if old is not None:
            props[_stage_key("hs_v2_date_exited_", old)] = now
        props[_stage_key("hs_v2_date_entered_", stage)] = now
        props["hs_v2_date_entered_current_stage"] = now
        if self.legacy_lifecycle_dates:
            props[_stage_key("hs_lifecyclestage_", stage, "_date")] = now

    # ------------------------------------------------------------------ search index lag

    def set_search_delay(self, seconds: float) -> None:
        """Make writes searchable ``seconds`` after they happen (0: at once, dropping the lag)."""
        if seconds < 0:
            raise ValueError("search_delay_seconds must be >= 0")
        self.search_delay_seconds = float(seconds)
        if not seconds and self.pending:
            self.pending.clear()
            self.version += 1

    def _lag_base(self, rec: Record) -> bool:
        """Before a write with a search delay: remember what search shows until it is indexed."""
        if rec.id not in self.pending:
            self.pending[rec.id] = Pending(base=_snapshot(rec))
        return True

    def _visible_at(self, now: str) -> str:
        instant = datetime.fromisoformat(now.replace("Z", "+00:00"))
        return iso_ms(instant + timedelta(seconds=self.search_delay_seconds))

    def catch_up(self, now: str) -> bool:
        """Forget lag that has passed at ``now``; True while some records are still lagging."""
        if not self.pending:
            return False
        done = [rid for rid, p in self.pending.items() if p.versions[-1][0] <= now]
        for rid in done:
            del self.pending[rid]
        if done:
            self.version += 1  # cached search hits may now be stale
        return bool(self.pending)

    def searchable(self, rec: Record, now: str) -> Record | None:
        """``rec`` as the search index shows it at ``now`` (``None``: not indexed yet)."""
        pending = self.pending.get(rec.id)
        if pending is None:
            return rec
        seen = pending.base
        for visible_at, snapshot in pending.versions:
            if visible_at > now:
                break
            seen = snapshot
        return seen

    def archive(self, rec: Record, now: str) -> None:
        """Move ``rec`` to the recycle bin."""
        if rec.archived:
            return
        rec.archived, rec.archived_at = True, now
        self.version += 1
        email = rec.props.get("email")
        if email and self.emails.get(email.lower()) == rec.id:
            del self.emails[email.lower()]
        rec.updated_at = now

    def merge(self, primary: Record, loser: Record, now: str) -> Record:
        """Merge ``loser`` into ``primary``: empty values are filled from the loser, the loser's
        ids join ``hs_merged_object_ids``, its associations move over, and its id resolves to the
        primary from now on (single GET/PATCH) while batch calls report it as not found.
        """
        fill = {
            k: v
            for k, v in loser.props.items()
            if v is not None and primary.props.get(k) is None and k in self._writable(primary)
        }
        ids = [i for i in (primary.props.get("hs_merged_object_ids") or "").split(";") if i]
        ids += [str(loser.id), *(loser.props.get("hs_merged_object_ids") or "").split(";")]
        del self.buckets[loser.type].records[loser.id]
        email = loser.props.get("email")
        if email and self.emails.get(email.lower()) == loser.id:
            del self.emails[email.lower()]
        self.merged[loser.id] = primary.id
        for oid, type_id in self.assoc.pop(loser.id, {}).items():
            self.associate(primary.type, primary.id, self._type_of(oid, type_id), oid, type_id)
            self.assoc.get(oid, {}).pop(loser.id, None)
        self.write(primary, fill, now)
        merged = ";".join(dict.fromkeys(i for i in ids if i))
        primary.props["hs_merged_object_ids"] = merged
        primary.add_version("hs_merged_object_ids", merged, now, "CRM_UI")
        return primary

    def _writable(self, rec: Record) -> set[str]:
        from sla_sync.sandbox.hubspot.schema import READ_ONLY

        names = set(self.buckets[rec.type].props) - READ_ONLY - {"createdate", "lifecyclestage"}
        return {n for n in names if not n.startswith(("hs_v2_", "hs_lifecyclestage_"))}

    # ------------------------------------------------------------------ associations

    def associate(
        self, from_type: str, from_id: int, to_type: str, to_id: int, type_id: int
    ) -> None:
        """Link two records both ways (the reverse carries the reverse type id)."""
        reverse = ASSOCIATION_TYPES.get((to_type, from_type), type_id)
        self.version += 1
        self.assoc.setdefault(from_id, {})[to_id] = type_id
        self.assoc.setdefault(to_id, {})[from_id] = reverse

    def dissociate(self, a: int, b: int) -> bool:
        """Remove the link between ``a`` and ``b`` both ways; False when there was none.

        Like :meth:`associate`, it leaves both records' modification stamps alone: HubSpot's
        association changes do not bump ``hs_lastmodifieddate`` (sync-lessons.md §1, takeaway
        3: "changes that don't bump the cursor ... HubSpot association changes",
        airbyte#44554, #27199).
        """
        had = self.assoc.get(a, {}).pop(b, None) is not None
        had = self.assoc.get(b, {}).pop(a, None) is not None or had
        if had:
            self.version += 1
        return had

    def associated(self, from_type: str, from_id: int, to_type: str) -> list[tuple[int, int]]:
        """``[(to id, type id)]`` of live records of ``to_type`` linked to ``from_id``."""
        if from_id not in self.buckets[from_type].records:
            return []
        records = self.buckets[to_type].records  # ids are unique across types
        out = []
        for oid, type_id in self.assoc.get(from_id, {}).items():
            rec = records.get(oid)
            if rec is not None and not rec.archived:
                out.append((oid, type_id))
        return sorted(out)

    def _type_of(self, rid: int, type_id: int) -> str:
        """The object type of ``rid``, the far end of a link of ``type_id``."""
        pair = _PAIRS.get(type_id)
        if pair is not None:
            return pair[1]
        return next((t for t, b in self.buckets.items() if rid in b.records), "contacts")
