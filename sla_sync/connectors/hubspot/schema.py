"""``ensure_schema``: create sla-sync's property group and SLA properties on contacts, idempotently.

Two reads (all groups, all contact properties), then only what is missing or drifted:

- the group ``sla_sync`` is created when absent;
- each SLA property is created when absent (a 409 from a concurrent creator counts as
  "unchanged" after re-reading it);
- an enumeration whose options differ from ours (values, labels or order) gets ours back;
- an existing property with one of our names but another ``type`` is a fatal conflict naming
  the property: sla-sync never retypes or deletes a property someone else made.

Labels and descriptions an admin changed are left alone. ``dry_run`` reads and reports the
would-be changes without writing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sla_sync.connectors.base import FatalConnectorError, SchemaChange
from sla_sync.connectors.hubspot.client import Endpoint, HubSpotClient
from sla_sync.connectors.hubspot.errors import Kind, classify
from sla_sync.connectors.hubspot.properties import (
    GROUP_LABEL,
    GROUP_NAME,
    OBJECT_TYPE,
    PROPERTIES,
    PropertySpec,
)

GROUP = "property group"
PROPERTY = "property"


def _get(obj: Any, name: str) -> Any:
    """An attribute of an SDK model or a key of a dict (tests and the SDK may give either)."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _options(prop: Any) -> list[tuple[str, str]]:
    return [(str(_get(o, "value")), str(_get(o, "label"))) for o in _get(prop, "options") or []]


def ensure_schema(client: HubSpotClient, *, dry_run: bool = False) -> list[SchemaChange]:
    """Make the SLA properties exist on contacts; one :class:`SchemaChange` per group/property.

    Raises:
        FatalConnectorError: a property with one of our names has another type (the message
            names it), or HubSpot refused a create/update (missing ``crm.schemas`` scopes).
    """
    props_api = client.sdk.crm.properties.core_api
    groups_api = client.sdk.crm.properties.groups_api
    groups = client.call(Endpoint.READ, groups_api.get_all, OBJECT_TYPE)
    existing = client.call(Endpoint.READ, props_api.get_all, OBJECT_TYPE)
    group_names = {str(_get(g, "name")) for g in _get(groups, "results") or []}
    by_name = {str(_get(p, "name")): p for p in _get(existing, "results") or []}

    # Conflicts first: refuse before writing anything.
    for spec in PROPERTIES.values():
        current = by_name.get(spec.name)
        if current is not None and str(_get(current, "type")) != spec.type:
            raise FatalConnectorError(
                f"HubSpot connection '{client.connection}': contact property {spec.name!r} "
                f"already exists with type {_get(current, 'type')!r}, sla-sync needs "
                f"{spec.type!r}; rename or delete that property, then run the schema step again"
            )

    changes: list[SchemaChange] = []
    if GROUP_NAME in group_names:
        changes.append(SchemaChange(kind=GROUP, name=GROUP_NAME, action="unchanged"))
    elif dry_run:
        changes.append(SchemaChange(kind=GROUP, name=GROUP_NAME, action="would create"))
    else:
        body = {"name": GROUP_NAME, "label": GROUP_LABEL, "displayOrder": -1}
        created = _create(client, groups_api.create, OBJECT_TYPE, body)
        changes.append(SchemaChange(kind=GROUP, name=GROUP_NAME, action=created))

    for order, spec in enumerate(PROPERTIES.values()):
        changes.append(_ensure_property(client, spec, by_name.get(spec.name), order, dry_run))
    return changes


def _ensure_property(
    client: HubSpotClient, spec: PropertySpec, current: Any, order: int, dry_run: bool
) -> SchemaChange:
    props_api = client.sdk.crm.properties.core_api
    if current is None:
        if dry_run:
            return SchemaChange(kind=PROPERTY, name=spec.name, action="would create")
        action = _create(client, props_api.create, OBJECT_TYPE, spec.create_body(order))
        return SchemaChange(kind=PROPERTY, name=spec.name, action=action)
    if spec.options and _options(current) != list(spec.options):
        if dry_run:
            return SchemaChange(kind=PROPERTY, name=spec.name, action="would update")
        client.call(
            Endpoint.WRITE,
            props_api.update,
            OBJECT_TYPE,
            spec.name,
            {"options": spec.option_bodies()},
        )
        return SchemaChange(kind=PROPERTY, name=spec.name, action="updated")
    return SchemaChange(kind=PROPERTY, name=spec.name, action="unchanged")


def _create(client: HubSpotClient, fn: Any, object_type: str, body: dict[str, Any]) -> str:
    """Create a group or property; a 409 (someone created it meanwhile) is "unchanged".

    Creating is idempotent thanks to the 409, so the normal retrying call is safe: a create
    that committed before a 5xx answers 409 on the retry."""
    try:
        client.call(Endpoint.WRITE, fn, object_type, body)
    except FatalConnectorError as exc:
        failure = classify(exc.__cause__) if exc.__cause__ is not None else None
        if exc.status == 409 or (failure is not None and failure.kind is Kind.CONFLICT):
            return "unchanged"
        raise
    return "created"
