"""HubSpot emulator: the CRM v3/v4 HTTP API as ``hubspot-api-client`` 12 sees it.

Modules: ``wire`` (JSON responses, error bodies), ``schema`` (object types, property definitions,
association types), ``state`` (the store: records, property history, lifecycle, merges),
``search`` (filterGroups semantics), ``limits`` (per-token rate limits), ``routes_objects`` and
``routes_meta`` (vendor routes), ``v4`` (association writes), ``control`` (HubSpot-specific
``/__sandbox/hubspot/`` routes), ``seeding`` (neutral seed records -> contacts and
engagements), ``emulator`` (:class:`HubSpotEmulator` and :func:`create_app`).
"""

from __future__ import annotations

from sla_sync.sandbox.hubspot.emulator import DEMO_TOKEN, HubSpotEmulator, create_app

__all__ = ["DEMO_TOKEN", "HubSpotEmulator", "create_app"]
