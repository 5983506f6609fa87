"""Load an ``sla explain`` scenario (JSON) into domain values.

A scenario is what ops writes to try a definition before rolling it out: owners, leads with their
lifecycle changes, reassignments, field changes and touches, and optionally the closed-loop actuals
that ``trailing(N months)`` goal inputs need. The format is documented in the README ("Scenario
format"); every problem is reported with its JSON path (``leads[3].touches[0].at: ...``) and all
problems are collected before failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from sla_sync.domain import (
    FieldChange,
    Lead,
    LeadHistory,
    LifecycleChange,
    LifecycleField,
    Owner,
    OwnerChange,
    Touch,
    TouchDirection,
    TouchKind,
)
from sla_sync.sla.volume import TrailingActuals


class ScenarioError(ValueError):
    """The scenario file is unreadable or invalid; ``problems`` lists ``path: message`` strings."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded scenario: ``histories`` holds one entry per surviving lead (merged records are
    folded into their survivor's ``merged_from``); ``actuals`` one closed-loop window per
    ``trailing(N months)`` length the goal inputs use."""

    as_of: datetime | None
    owners: Mapping[str, Owner]
    histories: tuple[LeadHistory, ...]
    actuals: tuple[TrailingActuals, ...] = ()


_LEAD_KEYS = frozenset(
    {
        "id",
        "created_at",
        "owner",
        "stage",
        "status",
        "fields",
        "lifecycle",
        "owners",
        "touches",
        "field_changes",
        "merged_into",
        "deleted_at",
        "note",
    }
)


_E = TypeVar("_E", TouchKind, TouchDirection)


class _Reader:
    """Collects problems while converting JSON values, so one run reports all of them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def instant(self, value: object, path: str) -> datetime | None:
        if not isinstance(value, str):
            self.fail(path, f"expected an ISO-8601 instant string, got {value!r}")
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(path, f"{value!r} is not an ISO-8601 instant")
            return None
        if parsed.tzinfo is None:
            self.fail(path, f"{value!r} has no time zone; add Z or an offset like -05:00")
            return None
        return parsed.astimezone(UTC)

    def text(self, value: object, path: str, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)
        self.fail(path, f"expected a non-empty string, got {value!r}")
        return None

    def items(self, container: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = container.get(key, [])
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", "expected a list")
            return []
        return value

    def entries(
        self, container: Mapping[str, Any], key: str, path: str
    ) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
        """``(index, path, entry)`` for each object in the list ``container[key]``; other items
        are reported and skipped."""
        for index, item in enumerate(self.items(container, key, path)):
            item_path = f"{path}.{key}[{index}]"
            entry = self.mapping(item, item_path)
            if entry is not None:
                yield index, item_path, entry

    def mapping(self, value: object, path: str) -> Mapping[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.fail(path, f"expected an object, got {type(value).__name__}")
        return None

    def choice(self, enum: type[_E], value: object, path: str, default: _E) -> _E:
        if value is None:
            return default
        try:
            return enum(str(value).lower())
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self.fail(path, f"{value!r} is not one of: {allowed}")
            return default


def load_scenario(path: Path) -> Scenario:
    """Read and validate the scenario at ``path``.

    Raises:
        ScenarioError: the file cannot be read, is not JSON, or has invalid entries (all listed).
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(str(path), [f"cannot be read ({exc.strerror})"]) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(str(path), [f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from None
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: object, *, source: str = "scenario") -> Scenario:
    """Convert a decoded JSON document to a :class:`Scenario` (see :func:`load_scenario`)."""
    reader = _Reader()
    root = reader.mapping(raw, "$")
    if root is None:
        raise ScenarioError(source, reader.problems)
    unknown = sorted(set(root) - {"as_of", "owners", "leads", "actuals", "description"})
    for key in unknown:
        reader.fail(key, "unknown key")
    as_of = reader.instant(root["as_of"], "as_of") if "as_of" in root else None
    owners = _read_owners(reader, root)
    leads = [
        lead
        for index, item in enumerate(reader.items(root, "leads", "$"))
        if (lead := _read_lead(reader, item, f"leads[{index}]", owners)) is not None
    ]
    actuals = _read_actuals(reader, root.get("actuals"))
    histories = _fold_merges(reader, leads)
    if reader.problems:
        raise ScenarioError(source, reader.problems)
    return Scenario(
        as_of=as_of,
        owners=MappingProxyType(owners),
        histories=histories,
        actuals=actuals,
    )


def _read_owners(reader: _Reader, root: Mapping[str, Any]) -> dict[str, Owner]:
    owners: dict[str, Owner] = {}
    for index, item in enumerate(reader.items(root, "owners", "$")):
        path = f"owners[{index}]"
        data = reader.mapping(item, path)
        if data is None:
            continue
        owner_id = reader.text(data.get("id"), f"{path}.id")
        if owner_id is None:
            continue
        if owner_id in owners:
            reader.fail(f"{path}.id", f"owner {owner_id!r} is defined twice")
        owners[owner_id] = Owner(
            id=owner_id,
            name=str(data.get("name", owner_id)),
            email=data.get("email"),
            team=reader.text(data.get("team"), f"{path}.team", optional=True),
            manager_id=reader.text(data.get("manager_id"), f"{path}.manager_id", optional=True),
            timezone=data.get("timezone"),
            active=bool(data.get("active", True)),
        )
    return owners


@dataclass(slots=True)
class _LoadedLead:
    history: LeadHistory
    path: str


def _read_lead(
    reader: _Reader, item: object, path: str, owners: Mapping[str, Owner]
) -> _LoadedLead | None:
    data = reader.mapping(item, path)
    if data is None:
        return None
    for key in sorted(set(data) - _LEAD_KEYS):
        reader.fail(f"{path}.{key}", "unknown key")
    lead_id = reader.text(data.get("id"), f"{path}.id")
    if lead_id is None:
        return None
    lifecycle = _read_lifecycle(reader, data, path, lead_id)
    changes = _read_owner_changes(reader, data, path, lead_id, owners)
    touches = _read_touches(reader, data, path, lead_id, owners)
    field_changes = _read_field_changes(reader, data, path, lead_id)
    created_at = (
        reader.instant(data["created_at"], f"{path}.created_at")
        if "created_at" in data
        else _earliest(lifecycle, changes)
    )
    if created_at is None:
        reader.fail(
            f"{path}.created_at", "missing, and the lead has no lifecycle change to infer it"
        )
        return None
    owner_id = _current_owner(reader, data, path, changes, owners)
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        reader.fail(f"{path}.fields", "expected an object of field name -> value")
        fields = {}
    deleted_at = (
        reader.instant(data["deleted_at"], f"{path}.deleted_at")
        if data.get("deleted_at") is not None
        else None
    )
    lead = Lead(
        id=lead_id,
        created_at=created_at,
        owner_id=owner_id,
        stage=data.get("stage") or _last_value(lifecycle, LifecycleField.STAGE),
        status=data.get("status") or _last_value(lifecycle, LifecycleField.STATUS),
        fields=MappingProxyType({str(k): str(v) for k, v in fields.items() if v is not None}),
        merged_into=reader.text(data.get("merged_into"), f"{path}.merged_into", optional=True),
        deleted_at=deleted_at,
    )
    history = LeadHistory(
        lead=lead,
        lifecycle=tuple(lifecycle),
        owners=tuple(changes),
        touches=tuple(touches),
        field_changes=tuple(field_changes),
    )
    return _LoadedLead(history=history, path=path)


def _read_lifecycle(
    reader: _Reader, data: Mapping[str, Any], path: str, lead_id: str
) -> list[LifecycleChange]:
    changes: list[LifecycleChange] = []
    for _, item_path, entry in reader.entries(data, "lifecycle", path):
        at = reader.instant(entry.get("at"), f"{item_path}.at")
        present = [name for name in ("stage", "status") if name in entry]
        if len(present) != 1:
            reader.fail(item_path, 'give exactly one of "stage" or "status"')
            continue
        if at is None:
            continue
        name = present[0]
        value = entry[name]
        changes.append(
            LifecycleChange(
                lead_id=lead_id,
                field=LifecycleField.STAGE if name == "stage" else LifecycleField.STATUS,
                value=None if value is None else str(value),
                at=at,
                source=entry.get("source"),
            )
        )
    return changes


def _read_owner_changes(
    reader: _Reader,
    data: Mapping[str, Any],
    path: str,
    lead_id: str,
    owners: Mapping[str, Owner],
) -> list[OwnerChange]:
    changes: list[OwnerChange] = []
    for _, item_path, entry in reader.entries(data, "owners", path):
        at = reader.instant(entry.get("at"), f"{item_path}.at")
        owner_id = reader.text(entry.get("owner"), f"{item_path}.owner", optional=True)
        if owner_id is not None and owner_id not in owners:
            reader.fail(f"{item_path}.owner", f"unknown owner {owner_id!r} (not in owners)")
        if at is not None:
            changes.append(OwnerChange(lead_id=lead_id, owner_id=owner_id, at=at))
    return changes


def _read_touches(
    reader: _Reader,
    data: Mapping[str, Any],
    path: str,
    lead_id: str,
    owners: Mapping[str, Owner],
) -> list[Touch]:
    touches: list[Touch] = []
    for index, item_path, entry in reader.entries(data, "touches", path):
        at = reader.instant(entry.get("at"), f"{item_path}.at")
        created_at = (
            reader.instant(entry["created_at"], f"{item_path}.created_at")
            if "created_at" in entry
            else None
        )
        kind = reader.choice(TouchKind, entry.get("kind"), f"{item_path}.kind", TouchKind.CALL)
        direction = reader.choice(
            TouchDirection,
            entry.get("direction"),
            f"{item_path}.direction",
            TouchDirection.OUTBOUND,
        )
        owner_id = reader.text(entry.get("owner"), f"{item_path}.owner", optional=True)
        if owner_id is not None and owner_id not in owners:
            reader.fail(f"{item_path}.owner", f"unknown owner {owner_id!r} (not in owners)")
        if at is None:
            continue
        touches.append(
            Touch(
                id=str(entry.get("id", f"{lead_id}-t{index + 1}")),
                lead_id=lead_id,
                kind=kind,
                occurred_at=at,
                owner_id=owner_id,
                direction=direction,
                automated=bool(entry.get("automated", False)),
                by_sla_sync=bool(entry.get("by_sla_sync", False)),
                created_at=created_at,
            )
        )
    return touches


def _read_field_changes(
    reader: _Reader, data: Mapping[str, Any], path: str, lead_id: str
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for _, item_path, entry in reader.entries(data, "field_changes", path):
        at = reader.instant(entry.get("at"), f"{item_path}.at")
        name = reader.text(entry.get("field"), f"{item_path}.field")
        if at is None or name is None:
            continue
        value = entry.get("value")
        changes.append(
            FieldChange(
                lead_id=lead_id, name=name, value=None if value is None else str(value), at=at
            )
        )
    return changes


def _read_actuals(reader: _Reader, raw: object) -> tuple[TrailingActuals, ...]:
    """``actuals``: one window object, or a list of them (one per trailing length)."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    windows = []
    for index, item in enumerate(items):
        path = f"actuals[{index}]" if isinstance(raw, list) else "actuals"
        data = reader.mapping(item, path)
        if data is None:
            continue
        try:
            windows.append(
                TrailingActuals(
                    months=int(data["months"]),
                    closed_won_revenue=Decimal(str(data["closed_won_revenue"])),
                    closed_won_deals=int(data["closed_won_deals"]),
                    qualified_leads=int(data["qualified_leads"]),
                    customers_from_leads=int(data["customers_from_leads"]),
                )
            )
        except KeyError as exc:
            reader.fail(f"{path}.{exc.args[0]}", "missing")
        except (ValueError, TypeError, InvalidOperation) as exc:
            reader.fail(path, f"not a number: {exc}")
    return tuple(windows)


def _earliest(lifecycle: list[LifecycleChange], changes: list[OwnerChange]) -> datetime | None:
    instants = [c.at for c in lifecycle] + [c.at for c in changes]
    return min(instants) if instants else None


def _last_value(lifecycle: list[LifecycleChange], which: LifecycleField) -> str | None:
    relevant = sorted((c for c in lifecycle if c.field is which), key=lambda c: c.at)
    return relevant[-1].value if relevant else None


def _current_owner(
    reader: _Reader,
    data: Mapping[str, Any],
    path: str,
    changes: list[OwnerChange],
    owners: Mapping[str, Owner],
) -> str | None:
    owner_id = reader.text(data.get("owner"), f"{path}.owner", optional=True)
    if owner_id is not None:
        if owner_id not in owners:
            reader.fail(f"{path}.owner", f"unknown owner {owner_id!r} (not in owners)")
        return owner_id
    if changes:
        return max(changes, key=lambda c: c.at).owner_id
    return None


def _fold_merges(reader: _Reader, leads: list[_LoadedLead]) -> tuple[LeadHistory, ...]:
    """Attach each merged-away lead to its survivor's ``merged_from`` (chains followed)."""
    by_id = {loaded.history.lead.id: loaded for loaded in leads}
    if len(by_id) != len(leads):
        seen: set[str] = set()
        for loaded in leads:
            lead_id = loaded.history.lead.id
            if lead_id in seen:
                reader.fail(f"{loaded.path}.id", f"lead {lead_id!r} is defined twice")
            seen.add(lead_id)
    children: dict[str, list[str]] = {}
    for loaded in leads:
        target = loaded.history.lead.merged_into
        if target is None:
            continue
        if target not in by_id:
            reader.fail(f"{loaded.path}.merged_into", f"unknown lead {target!r}")
            continue
        children.setdefault(target, []).append(loaded.history.lead.id)

    def build(lead_id: str, trail: tuple[str, ...]) -> LeadHistory:
        history = by_id[lead_id].history
        merged = []
        for child in children.get(lead_id, []):
            if child in trail:
                reader.fail(f"{by_id[child].path}.merged_into", "merge cycle")
                continue
            merged.append(build(child, (*trail, child)))
        if not merged:
            return history
        return LeadHistory(
            lead=history.lead,
            lifecycle=history.lifecycle,
            owners=history.owners,
            touches=history.touches,
            field_changes=history.field_changes,
            merged_from=tuple(merged),
        )

    return tuple(
        build(loaded.history.lead.id, (loaded.history.lead.id,))
        for loaded in leads
        if loaded.history.lead.merged_into is None
    )
