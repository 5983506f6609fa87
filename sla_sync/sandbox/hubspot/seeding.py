"""Neutral seed records (``SEED_FORMAT.md``) -> owners, contacts with history, engagements.

Records are ingested one at a time (the generator streams them); only the seed-id -> HubSpot-id
maps and the pending merges are kept. Lifecycle histories are replayed through the store at their
own instants, so dates entered, history and ``lastmodifieddate`` come out as HubSpot would have
stamped them; a backward move (a re-MQL) is replayed as "clear, then set", as HubSpot requires.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from typing import Any

from sla_sync.sandbox.hubspot.records import to_iso
from sla_sync.sandbox.hubspot.schema import ASSOCIATION_TYPES
from sla_sync.sandbox.hubspot.state import Store

FIRST_OWNER_ID = 41_600_001
FIRST_USER_ID = 9_500_001
KINDS = {
    "call": "calls",
    "email": "emails",
    "meeting": "meetings",
    "task": "tasks",
    "note": "notes",
}


INSTANT_CACHE = 65_536
AUTOMATED_SOURCE = "AUTOMATION_PLATFORM"


def _iso(value: Any) -> str:
    return to_iso(str(value), "datetime")


class SeedLoader:
    """Ingests seed records into ``store`` (caller holds ``store.lock``)."""

    def __init__(self, store: Store, now: str) -> None:
        self.store = store
        self.now = now
        self.owner_ids = store.owner_aliases
        self.teams: dict[str, str] = {}
        self.leads: dict[str, int] = {}
        self.merges: list[tuple[str, str, str]] = []
        self.counts = {"owners": 0, "contacts": 0, "engagements": 0, "merges": 0, "archived": 0}
        # Recent instants, normalised: a lead's events often share one (created = first stage,
        # a touch's created_at = its at), and one string object then serves them all.
        self._instants: dict[Any, str] = {}

    def _iso(self, value: Any) -> str:
        out = self._instants.get(value)
        if out is None:
            if len(self._instants) >= INSTANT_CACHE:
                self._instants.clear()
            out = self._instants[value] = _iso(value)
        return out

    def add(self, kind: str, rec: Mapping[str, Any]) -> None:
        """Ingest one record.

        Raises:
            ValueError: an unknown kind or a malformed record.
        """
        try:
            if kind == "owner":
                self._owner(rec)
            elif kind == "lead":
                self._lead(rec)
            elif kind == "touch":
                self._touch(rec)
            else:
                raise ValueError(f"unknown seed record kind {kind!r}")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed {kind} record {rec.get('id')!r}: {exc}") from None

    def finish(self) -> dict[str, int]:
        """Apply merges (the winner may come after the loser in the stream); returns counts."""
        for loser, winner, at in self.merges:
            a = self.leads.get(winner)
            b = self.leads.get(loser)
            rec_a = None if a is None else self.store.resolve("contacts", a, follow_merges=True)
            rec_b = None if b is None else self.store.resolve("contacts", b, follow_merges=False)
            if rec_a is not None and rec_b is not None and rec_a is not rec_b:
                self.store.merge(rec_a, rec_b, at)
                self.counts["merges"] += 1
        self.merges.clear()
        return dict(self.counts)

    def _owner(self, rec: Mapping[str, Any]) -> None:
        n = len(self.store.owners)
        team = str(rec.get("team") or "")
        team_id = self.teams.setdefault(team, str(368_389 + len(self.teams)))
        active = bool(rec.get("active", True))
        owner_id = str(FIRST_OWNER_ID + n)
        owner: dict[str, Any] = {
            "id": owner_id,
            "email": str(rec["email"]),
            "type": "PERSON",
            "firstName": str(rec.get("first_name") or ""),
            "lastName": str(rec.get("last_name") or ""),
            "userId": FIRST_USER_ID + n if active else None,
            "userIdIncludingInactive": FIRST_USER_ID + n,
            "createdAt": self.now,
            "updatedAt": self.now,
            "archived": not active,
            "teams": [{"id": team_id, "name": team, "primary": True}] if team else [],
        }
        self.store.owners.append(owner)
        self.owner_ids[str(rec["id"])] = owner_id
        self.counts["owners"] += 1

    def _lead(self, rec: Mapping[str, Any]) -> None:
        store = self.store
        created = self._iso(rec["created_at"])
        static = {
            "email": rec.get("email"),
            "firstname": rec.get("first_name"),
            "lastname": rec.get("last_name"),
            "company": rec.get("company"),
            "phone": rec.get("phone"),
            "country": rec.get("country"),
            "numemployees": rec.get("employees"),
            "hs_analytics_source": str(rec.get("source") or "").upper() or None,
            "hubspotscore": rec.get("score"),
        }
        values = {k: None if v is None else str(v) for k, v in static.items()}
        contact = store.create("contacts", values, created, source="IMPORT", created_at=created)
        self.leads[str(rec["id"])] = contact.id
        events: list[tuple[str, int, str, str | None, str]] = []
        for i, h in enumerate(rec.get("owner_history") or []):
            owner = self.owner_ids.get(str(h["owner"])) if h.get("owner") else None
            events.append((self._iso(h["at"]), i, "hubspot_owner_id", owner, "CRM_UI"))
        for i, h in enumerate(rec.get("stage_history") or []):
            events.append((self._iso(h["at"]), i, "lifecyclestage", h.get("stage"), "WORKFLOWS"))
        for i, h in enumerate(rec.get("status_history") or []):
            events.append((self._iso(h["at"]), i, "hs_lead_status", h.get("status"), "CRM_UI"))
        events.sort(key=lambda e: (e[0], e[1]))
        order = store.stage_order()
        for at, _, name, value, source in events:
            current = contact.props.get(name)
            if (
                name == "lifecyclestage"
                and value is not None
                and current is not None
                and order.get(value, 0) < order.get(current, 0)
            ):
                store.write(contact, {name: None}, at, source=source)
            store.write(contact, {name: value}, at, source=source)
        if rec.get("merged_into"):
            at = self._iso(rec.get("merged_at") or contact.updated_at)
            self.merges.append((str(rec["id"]), str(rec["merged_into"]), at))
        if rec.get("deleted_at"):
            store.archive(contact, self._iso(rec["deleted_at"]))
            self.counts["archived"] += 1
        self.counts["contacts"] += 1

    def _touch(self, rec: Mapping[str, Any]) -> None:
        t = KINDS[str(rec["kind"])]
        at = self._iso(rec["at"])
        created = self._iso(rec.get("created_at") or rec["at"])
        inbound = rec.get("direction") == "inbound"
        subject = str(rec.get("subject") or "")
        props: dict[str, str | None] = {
            "hs_timestamp": at,
            "hubspot_owner_id": self.owner_ids.get(str(rec.get("owner"))),
        }
        props |= {
            "calls": {
                "hs_call_title": subject,
                "hs_call_direction": "INBOUND" if inbound else "OUTBOUND",
                "hs_call_status": "COMPLETED",
            },
            "emails": {
                "hs_email_subject": subject,
                "hs_email_direction": "INCOMING_EMAIL" if inbound else "EMAIL",
                "hs_email_status": "SENT",
            },
            "meetings": {
                "hs_meeting_title": subject,
                "hs_meeting_start_time": at,
                "hs_meeting_outcome": "COMPLETED",
            },
            "tasks": {"hs_task_subject": subject, "hs_task_status": "COMPLETED"},
            "notes": {"hs_note_body": subject},
        }[t]
        # A rep logs engagements in the CRM (CRM_UI). Automated ones (nurture and acknowledgement
        # e-mails) are made by workflows: record source AUTOMATION_PLATFORM, no owner (guess from
        # third-party property dumps and history captures, where workflow-made values carry
        # sourceType AUTOMATION_PLATFORM; reference §3 lists WORKFLOWS among history sources).
        source = AUTOMATED_SOURCE if rec.get("automated") else "CRM_UI"
        eng = self.store.create(t, props, created, source=source, created_at=created)
        lead = self.leads.get(str(rec["lead"]))
        if lead is not None:
            self.store.associate(t, eng.id, "contacts", lead, ASSOCIATION_TYPES[(t, "contacts")])
        self.counts["engagements"] += 1


def load(
    store: Store, now: str, records: Iterable[tuple[str, Mapping[str, Any]]]
) -> dict[str, int]:
    """Ingest ``records`` (streamed) into ``store``; returns counts per kind.

    The cyclic garbage collector is paused meanwhile: seeding allocates millions of long-lived,
    acyclic containers, and each full collection walks all of them (seeding 100,000 leads spent
    most of its time there). Nothing seeding creates needs it. Seeded records are pre-existing
    data, so they are searchable at once whatever the search delay.
    """
    loader = SeedLoader(store, now)
    paused = gc.isenabled()
    gc.disable()
    try:
        with store.lock:
            delay, store.search_delay_seconds = store.search_delay_seconds, 0.0
            try:
                for kind, rec in records:
                    loader.add(kind, rec)
                return loader.finish()
            finally:
                store.search_delay_seconds = delay
    finally:
        if paused:
            gc.enable()
