"""Loading the CRM-neutral seed records (``SEED_FORMAT.md``) into an org, one record at a time.

owners -> User; leads -> Lead (Status from the merged stage/status histories, LeadHistory rows
for Status and Owner changes, merges as deleted losers with ``MasterRecordId``, deletions as
``IsDeleted``); touches -> Task (call, email, task) or Event (meeting), ``WhoId`` = the lead.
Notes have no Salesforce activity equivalent and are skipped (counted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sla_sync.sandbox.salesforce.state import Org
from sla_sync.sandbox.salesforce.values import parse_datetime

STAGE_STATUS = {
    "subscriber": "Open - Not Contacted",
    "lead": "Open - Not Contacted",
    "marketingqualifiedlead": "Marketing Qualified",
    "salesqualifiedlead": "Sales Qualified",
    "opportunity": "Closed - Converted",
    "customer": "Closed - Converted",
    "other": "Closed - Not Converted",
}
STATUS_STATUS = {
    "NEW": "Open - Not Contacted",
    "OPEN": "Open - Not Contacted",
    "IN_PROGRESS": "Working - Contacted",
    "ATTEMPTED_TO_CONTACT": "Working - Contacted",
    "CONNECTED": "Working - Contacted",
    "OPEN_DEAL": "Closed - Converted",
    "UNQUALIFIED": "Closed - Not Converted",
    "BAD_TIMING": "Closed - Not Converted",
}
SOURCES = {
    "demo_request": "Web",
    "free_trial": "Web",
    "contact_sales": "Phone Inquiry",
    "webinar": "Other",
    "ebook": "Web",
    "paid_search": "Web",
    "partner": "Partner Referral",
    "list": "Purchased List",
}
TASK_SUBTYPES = {"call": "Call", "email": "Email", "task": "Task"}


def _at(raw: Any) -> datetime:
    return parse_datetime(str(raw))


class Seeder:
    """Streams neutral records into ``org``; :meth:`finish` resolves forward merge references."""

    def __init__(self, org: Org, default_owner: str) -> None:
        self.org = org
        self.default_owner = default_owner
        self.owners: dict[str, str] = {}
        self.leads: dict[str, str] = {}
        self.pending_merges: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()

    def feed(self, kind: str, rec: Mapping[str, Any]) -> None:
        """Ingest one record. Raises ``ValueError``/``KeyError`` on malformed input."""
        if kind == "owner":
            self.owner(rec)
        elif kind == "lead":
            self.lead(rec)
        elif kind == "touch":
            self.touch(rec)
        else:
            raise ValueError(f"unknown seed record kind {kind!r}")

    def owner(self, rec: Mapping[str, Any]) -> None:
        email = str(rec["email"])
        sf_id = self.org.insert_raw(
            "User",
            {
                "Username": email,
                "Email": email,
                "FirstName": rec.get("first_name"),
                "LastName": rec.get("last_name") or email,
                "Alias": (
                    str(rec.get("first_name") or "")[:1] + str(rec.get("last_name") or "")[:4]
                )[:8],
                "IsActive": bool(rec.get("active", True)),
                "TimeZoneSidKey": rec.get("timezone"),
                "Department": rec.get("team"),
                "UserType": "Standard",
                "CreatedDate": parse_datetime("2020-01-01T00:00:00Z"),
                "CreatedById": self.default_owner,
                "LastModifiedDate": parse_datetime("2020-01-01T00:00:00Z"),
                "LastModifiedById": self.default_owner,
                "SystemModstamp": parse_datetime("2020-01-01T00:00:00Z"),
            },
        )
        self.owners[str(rec["id"])] = sf_id
        manager = rec.get("manager_id")
        if manager and manager in self.owners:
            self.org.records["User"][sf_id]["ManagerId"] = self.owners[manager]
        self.counts["User"] += 1

    def _owner(self, neutral: Any) -> str:
        return self.owners.get(str(neutral), self.default_owner) if neutral else self.default_owner

    def lead(self, rec: Mapping[str, Any]) -> None:
        created = _at(rec["created_at"])
        stages = rec.get("stage_history") or []
        statuses = rec.get("status_history") or []
        owners = rec.get("owner_history") or [{"at": rec["created_at"], "owner": None}]
        events: list[tuple[datetime, str, Any]] = [
            (_at(e["at"]), "Status", STAGE_STATUS[e["stage"]])
            for e in stages
            if e.get("stage") in STAGE_STATUS
        ]
        events += [
            (_at(e["at"]), "Status", STATUS_STATUS[e["status"]])
            for e in statuses
            if e.get("status") in STATUS_STATUS
        ]
        events += [(_at(e["at"]), "OwnerId", self._owner(e.get("owner"))) for e in owners[1:]]
        events.sort(key=lambda e: e[0])
        status = "Open - Not Contacted"
        owner = self._owner(owners[0].get("owner"))
        last = created
        lead_id = self.org.ids.new("00Q")
        self.org.history_raw("Lead", lead_id, "created", None, None, created, owner)
        for at, field, value in events:
            current = status if field == "Status" else owner
            if value == current:
                continue
            if field == "Status":
                self.org.history_raw("Lead", lead_id, "Status", status, value, at, owner)
                status = value
            else:
                old_name = self.org.records["User"].get(owner, {}).get("Name")
                new_name = self.org.records["User"].get(value, {}).get("Name")
                self.org.history_raw("Lead", lead_id, "Owner", old_name, new_name, at, owner)
                self.org.history_raw("Lead", lead_id, "Owner", owner, value, at, owner)
                owner = value
            last = max(last, at)
        deleted_at = rec.get("deleted_at") or rec.get("merged_at")
        if deleted_at:
            last = max(last, _at(deleted_at))
        self.org.insert_raw(
            "Lead",
            {
                "Id": lead_id,
                "FirstName": rec.get("first_name"),
                "LastName": rec.get("last_name") or "Unknown",
                "Email": rec.get("email"),
                "Company": rec.get("company") or "Unknown",
                "Phone": rec.get("phone"),
                "Country": rec.get("country"),
                "NumberOfEmployees": rec.get("employees"),
                "LeadSource": SOURCES.get(str(rec.get("source")), "Other"),
                "Rating": rec.get("rating"),
                "Status": status,
                "OwnerId": owner,
                "IsConverted": status == "Closed - Converted",
                "IsDeleted": bool(deleted_at),
                "CreatedDate": created,
                "CreatedById": self.default_owner,
                "LastModifiedDate": last,
                "LastModifiedById": self.default_owner,
                "SystemModstamp": last,
            },
        )
        self.leads[str(rec["id"])] = lead_id
        if rec.get("merged_into"):
            self.pending_merges.append((lead_id, str(rec["merged_into"])))
        self.counts["Lead"] += 1

    def touch(self, rec: Mapping[str, Any]) -> None:
        kind = str(rec.get("kind"))
        who = self.leads.get(str(rec.get("lead")))
        if kind == "note" or who is None:
            self.counts["skipped"] += 1
            return
        at, created = _at(rec["at"]), _at(rec.get("created_at") or rec["at"])
        owner = self._owner(rec.get("owner"))
        common = {
            "WhoId": who,
            "OwnerId": owner,
            "Subject": rec.get("subject"),
            "ActivityDate": at.date(),
            "CreatedDate": created,
            "CreatedById": owner,
            "LastModifiedDate": max(at, created),
            "LastModifiedById": owner,
            "SystemModstamp": max(at, created),
            # Optional seed flag: an explicitly archived activity (only queryAll returns it).
            "IsArchived": bool(rec.get("archived", False)),
        }
        if kind == "meeting":
            self.org.insert_raw(
                "Event",
                {
                    **common,
                    "ActivityDateTime": at,
                    "StartDateTime": at,
                    "EndDateTime": at + timedelta(minutes=30),
                    "DurationInMinutes": 30,
                    "EventSubtype": "Event",
                },
            )
            self.counts["Event"] += 1
            return
        self.org.insert_raw(
            "Task",
            {
                **common,
                "Status": "Completed",
                "Priority": "Normal",
                "CompletedDateTime": at,
                "TaskSubtype": TASK_SUBTYPES.get(kind, "Task"),
                "Type": {"call": "Call", "email": "Email"}.get(kind, "Other"),
                "CallType": ("Inbound" if rec.get("direction") == "inbound" else "Outbound")
                if kind == "call"
                else None,
            },
        )
        self.counts["Task"] += 1

    def finish(self) -> dict[str, int]:
        """Resolve merges; returns the counts per object."""
        for loser, winner in self.pending_merges:
            if winner in self.leads:
                self.org.records["Lead"][loser]["MasterRecordId"] = self.leads[winner]
        return dict(self.counts)


def seed_json(seeder: Seeder, payload: Mapping[str, Any]) -> dict[str, int]:
    """Ingest ``{"owners": [...], "leads": [...], "touches": [...]}``."""
    for key, kind in (("owners", "owner"), ("leads", "lead"), ("touches", "touch")):
        items = payload.get(key) or []
        if not isinstance(items, list):
            raise ValueError(f"{key} must be a list")
        for rec in items:
            seeder.feed(kind, rec)
    return seeder.finish()


def seed_stream(seeder: Seeder, records: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, int]:
    """Ingest a generator's ``(kind, record)`` stream without holding it."""
    for kind, rec in records:
        seeder.feed(kind, rec)
    return seeder.finish()
