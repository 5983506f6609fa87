"""Write SLA field differences to HubSpot contacts and read them back.

:func:`push_fields` sends ``batch/update`` calls of at most 100 records and returns one
:class:`PushResult` per input, in input order:

- values count as confirmed only from HubSpot's answer (the returned record's properties, in
  canonical form), never from what was sent;
- a 207 answer's per-record errors come from ``errors[].context.ids``; ``OBJECT_NOT_FOUND``
  (archived, deleted or merged away) means ``gone``, and one ``GET`` by the old id tells the
  survivor of a merge (HubSpot resolves merged ids on single reads, not on batch ones);
- a whole batch refused with 400 (one bad value fails them all) is bisected until the bad
  records stand alone, so the good ones are still written; when HubSpot names a property it
  does not have (deleted from the portal), the records setting it fail at once and the others
  are sent again without bisecting;
- a batch that fails retriably once the client's retries are spent gives
  ``ok=False, retriable=True, call_failed=True`` for its records; the other batches go on.

Fatal errors (401 after the token re-read, 403) and the daily quota propagate: the run stops.
Records written by earlier batches of that call are simply written again by the next run
(the same values: harmless).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sla_sync.connectors.base import (
    FatalConnectorError,
    FieldUpdate,
    PushResult,
    RetriableConnectorError,
    SkippableRecordError,
    SlaField,
)
from sla_sync.connectors.hubspot.client import Endpoint, HubSpotClient
from sla_sync.connectors.hubspot.errors import classify
from sla_sync.connectors.hubspot.properties import NAMES, PROPERTIES, canonical, from_hubspot
from sla_sync.connectors.hubspot.properties import to_hubspot as render

MAX_BATCH = 100
# Single GETs spent per push to find merge survivors; beyond it a gone record is reported
# without ``merged_into`` (the pull's merge stream reports the survivor anyway).
MAX_SURVIVOR_LOOKUPS = 100
NOT_FOUND = "OBJECT_NOT_FOUND"
# Per-record error categories worth sending again later.
RETRIABLE_CATEGORIES = frozenset({"CONFLICT", "LOCKED", "RATE_LIMITS", "INTERNAL_ERROR"})


@dataclass(slots=True)
class _Item:
    """One record to write: its HubSpot property values and the fields they stand for."""

    lead_id: str
    properties: dict[str, str]
    fields: dict[str, SlaField]  # property name -> field


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def push_fields(
    client: HubSpotClient, updates: Sequence[FieldUpdate], *, batch_size: int = MAX_BATCH
) -> list[PushResult]:
    """Write ``updates``; one result per update, in order (see the module docstring).

    Several updates of one lead are merged (later values win) and answered alike.

    Raises:
        FatalConnectorError: HubSpot refused the credential or the permission.
        QuotaExhaustedError: the daily budget ran out.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be within 1..{MAX_BATCH}, got {batch_size}")
    items: dict[str, _Item] = {}
    invalid: dict[str, str] = {}
    for update in updates:
        item = items.setdefault(update.lead_id, _Item(update.lead_id, {}, {}))
        for field, value in update.values.items():
            name = PROPERTIES[field].name
            try:
                item.properties[name] = render(field, value)
            except ValueError as exc:
                invalid[update.lead_id] = f"{field.value}: {exc}"
            item.fields[name] = field

    outcome: dict[str, PushResult] = {}
    for lead_id, reason in invalid.items():
        outcome[lead_id] = PushResult(lead_id=lead_id, ok=False, error=reason)
    pending = [i for i in items.values() if i.lead_id not in outcome]
    for item in pending:
        if not item.properties:
            outcome[item.lead_id] = PushResult(lead_id=item.lead_id, ok=True)
    pending = [i for i in pending if i.properties]
    gone: list[str] = []
    for start in range(0, len(pending), batch_size):
        _send(client, pending[start : start + batch_size], outcome, gone)
    _resolve_gone(client, gone, outcome)

    return [_for_update(outcome[u.lead_id], u) for u in updates]


def _for_update(result: PushResult, update: FieldUpdate) -> PushResult:
    """``result`` narrowed to the fields ``update`` asked for (merged duplicates)."""
    if not result.ok:
        return result
    confirmed = {f: v for f, v in result.confirmed.items() if f in update.values}
    return PushResult(lead_id=result.lead_id, ok=True, confirmed=confirmed)


def _send(
    client: HubSpotClient, batch: list[_Item], outcome: dict[str, PushResult], gone: list[str]
) -> None:
    """One ``batch/update``; bisects on a whole-batch 400."""
    api = client.sdk.crm.contacts.batch_api
    body = {"inputs": [{"id": i.lead_id, "properties": i.properties} for i in batch]}
    try:
        answer = client.call(Endpoint.WRITE, api.update, body)
    except RetriableConnectorError as exc:
        for item in batch:
            outcome[item.lead_id] = PushResult(
                lead_id=item.lead_id, ok=False, retriable=True, error=str(exc), call_failed=True
            )
        return
    except FatalConnectorError as exc:
        if exc.status != 400:
            raise
        missing = _missing_properties(exc)
        hit = [i for i in batch if missing & i.properties.keys()]
        if hit:
            # A deleted SLA property fails every record that sets it: no bisection (which
            # would spend ~2 calls per record when all of them set it).
            names = ", ".join(sorted(missing))
            for item in hit:
                outcome[item.lead_id] = PushResult(
                    lead_id=item.lead_id,
                    ok=False,
                    error=f"HubSpot has no property {names}: run the schema step ({exc})",
                )
            hit_ids = {i.lead_id for i in hit}
            rest = [i for i in batch if i.lead_id not in hit_ids]
            if rest:
                _send(client, rest, outcome, gone)
            return
        if len(batch) > 1:
            half = len(batch) // 2
            _send(client, batch[:half], outcome, gone)
            _send(client, batch[half:], outcome, gone)
        else:
            outcome[batch[0].lead_id] = PushResult(
                lead_id=batch[0].lead_id, ok=False, error=str(exc)
            )
        return
    if answer is None:  # a status the SDK did not expect: it returns None, not the records
        for item in batch:
            outcome[item.lead_id] = PushResult(
                lead_id=item.lead_id,
                ok=False,
                retriable=True,
                error="HubSpot's answer carried no records (unexpected status)",
                call_failed=True,
            )
        return
    _read_answer(answer, batch, outcome, gone)


def _missing_properties(exc: FatalConnectorError) -> set[str]:
    """Property names a 400 ``PROPERTY_DOESNT_EXIST`` answer names (empty for other 400s)."""
    failure = classify(exc.__cause__) if exc.__cause__ is not None else None
    body = (failure.body if failure is not None else None) or {}
    names: set[str] = set()
    for error in body.get("errors") or []:
        if isinstance(error, Mapping) and error.get("code") == "PROPERTY_DOESNT_EXIST":
            names.update(str(n) for n in (error.get("context") or {}).get("propertyName") or [])
    return names


def _read_answer(
    answer: Any, batch: list[_Item], outcome: dict[str, PushResult], gone: list[str]
) -> None:
    by_id = {i.lead_id: i for i in batch}
    errors: dict[str, tuple[str, str]] = {}
    for error in _get(answer, "errors") or []:
        category = str(_get(error, "category") or "")
        message = str(_get(error, "message") or category)
        context = _get(error, "context") or {}
        for rid in context.get("ids") or []:
            errors[str(rid)] = (category, message)
    for record in _get(answer, "results") or []:
        rid = str(_get(record, "id"))
        item = by_id.get(rid)
        if item is None:
            continue
        props = _get(record, "properties") or {}
        confirmed: dict[SlaField, str | None] = {}
        missing = []
        for name, field in item.fields.items():
            if name in props:
                try:
                    confirmed[field] = canonical(field, props[name])
                except ValueError:
                    confirmed[field] = props[name]
            elif item.properties[name] == "":
                confirmed[field] = None  # HubSpot leaves cleared (null) properties out
            else:
                missing.append(name)
        if missing:
            outcome[rid] = PushResult(
                lead_id=rid,
                ok=False,
                retriable=True,
                error=f"HubSpot's answer did not confirm {', '.join(missing)}",
            )
        else:
            outcome[rid] = PushResult(lead_id=rid, ok=True, confirmed=confirmed)
    for rid in by_id:
        if rid in outcome and rid not in errors:
            continue
        if rid in errors:
            category, message = errors[rid]
            if category == NOT_FOUND:
                gone.append(rid)
            else:
                outcome[rid] = PushResult(
                    lead_id=rid,
                    ok=False,
                    retriable=category in RETRIABLE_CATEGORIES,
                    error=f"{category}: {message}",
                )
        else:
            # Neither confirmed nor refused: HubSpot is reported to drop merged ids silently.
            gone.append(rid)


def _resolve_gone(client: HubSpotClient, ids: list[str], outcome: dict[str, PushResult]) -> None:
    """Tell merged records (single GET by the old id answers with the survivor) from deleted
    ones (404)."""
    api = client.sdk.crm.contacts.basic_api
    for n, rid in enumerate(ids):
        if n >= MAX_SURVIVOR_LOOKUPS:
            outcome[rid] = PushResult(
                lead_id=rid, ok=False, gone=True, error="record not found (archived or merged)"
            )
            continue
        try:
            record = client.call_for_record(
                Endpoint.READ, rid, api.get_by_id, rid, properties=["hs_merged_object_ids"]
            )
        except SkippableRecordError:
            outcome[rid] = PushResult(
                lead_id=rid, ok=False, gone=True, error="record not found (archived or deleted)"
            )
            continue
        except RetriableConnectorError as exc:
            outcome[rid] = PushResult(
                lead_id=rid, ok=False, retriable=True, error=str(exc), call_failed=True
            )
            continue
        survivor = str(_get(record, "id"))
        if survivor and survivor != rid:
            outcome[rid] = PushResult(
                lead_id=rid,
                ok=False,
                gone=True,
                merged_into=survivor,
                error=f"record merged into {survivor}",
            )
        else:
            outcome[rid] = PushResult(
                lead_id=rid,
                ok=False,
                retriable=True,
                error="HubSpot's batch answer left the record out; it still exists",
            )


def read_fields(
    client: HubSpotClient, lead_ids: Sequence[str]
) -> dict[str, dict[SlaField, str | None]]:
    """The SLA fields (canonical) of the records among ``lead_ids`` that exist; batch read,
    100 ids per call. Archived, deleted and merged-away ids are left out."""
    api = client.sdk.crm.contacts.batch_api
    unique = list(dict.fromkeys(lead_ids))
    out: dict[str, dict[SlaField, str | None]] = {}
    for start in range(0, len(unique), MAX_BATCH):
        chunk = unique[start : start + MAX_BATCH]
        body = {"properties": list(NAMES), "inputs": [{"id": i} for i in chunk]}
        answer = client.call(Endpoint.READ, api.read, body, archived=False)
        for record in _get(answer, "results") or []:
            out[str(_get(record, "id"))] = from_hubspot(_get(record, "properties"))
    return out
