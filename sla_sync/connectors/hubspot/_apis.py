"""The few SDK calls the pull makes, each routed through :meth:`HubSpotClient.call`.

Sub-API objects are built once per client and cached: every attribute access such as
``client.sdk.crm.objects.search_api`` builds a new ``ApiClient`` with its own connection pool
(hubspot-api.md section 7, item 15).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)

from sla_sync.connectors.base import RetriableConnectorError
from sla_sync.connectors.hubspot.client import Endpoint, HubSpotClient
from sla_sync.connectors.hubspot.mapping import Version

BATCH_READ_MAX = 100
ASSOCIATIONS_READ_MAX = 1000
LIST_PAGE_MAX = 100
OWNERS_PAGE_MAX = 500


class Apis:
    """Cached sub-APIs of one client and the calls the pull needs (all budgeted by ``call``)."""

    def __init__(self, client: HubSpotClient) -> None:
        crm = client.sdk.crm
        self._client = client
        self._search = crm.objects.search_api
        self._batch = crm.objects.batch_api
        self._basic = crm.objects.basic_api
        self._owners = crm.owners.owners_api
        self._assoc = crm.associations.v4.batch_api
        self._properties = crm.properties.core_api

    def search(self, object_type: str, body: Mapping[str, Any]) -> Any:
        """``POST /crm/v3/objects/{type}/search`` with a JSON-shaped ``body``."""
        request = PublicObjectSearchRequest(
            filter_groups=body.get("filterGroups"),
            sorts=body.get("sorts"),
            properties=body.get("properties"),
            limit=body.get("limit"),
            after=body.get("after"),
        )
        return self._client.call(
            Endpoint.SEARCH,
            self._search.do_search,
            object_type,
            public_object_search_request=request,
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        properties: Sequence[str],
        with_history: Sequence[str] = (),
    ) -> list[tuple[str, dict[str, str | None], dict[str, list[Version]]]]:
        """``(id, properties, history)`` of the live records among ``ids`` (any number: one call
        per 100). Ids the portal no longer has (archived or merged since the search) are left
        out; the archived stream and the survivor's ``hs_merged_object_ids`` report them.

        Raises:
            RetriableConnectorError: an empty response body (HubSpot's status-code drift
                made the SDK return ``None`` before, hubspot-api.md section 7 item 7).
        """
        out = []
        for start in range(0, len(ids), BATCH_READ_MAX):
            chunk = ids[start : start + BATCH_READ_MAX]
            request = BatchReadInputSimplePublicObjectId(
                properties=list(properties),
                properties_with_history=list(with_history) or None,
                inputs=[SimplePublicObjectId(id=i) for i in chunk],
            )
            response = self._client.call(
                Endpoint.READ,
                self._batch.read,
                object_type,
                batch_read_input_simple_public_object_id=request,
                archived=False,
            )
            if response is None:
                raise RetriableConnectorError(f"hubspot {object_type} batch read: empty response")
            for rec in response.results or ():
                history = {
                    name: [Version(v.value, v.timestamp, v.source_type) for v in versions or ()]
                    for name, versions in (rec.properties_with_history or {}).items()
                }
                out.append((str(rec.id), dict(rec.properties or {}), history))
        return out

    def contacts_of(self, object_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """Contact ids linked to each of ``ids`` (v4 batch read, 1,000 ids per call; a result
        with more links than one answer holds is followed with its ``after``)."""
        links: dict[str, list[str]] = {i: [] for i in ids}
        todo: list[tuple[str, str | None]] = [(i, None) for i in ids]
        while todo:
            chunk, todo = todo[:ASSOCIATIONS_READ_MAX], todo[ASSOCIATIONS_READ_MAX:]
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in chunk]
            )
            response = self._client.call(
                Endpoint.ASSOCIATIONS,
                self._assoc.get_page,
                object_type,
                "contacts",
                batch_input_public_fetch_associations_batch_request=request,
            )
            if response is None:
                raise RetriableConnectorError(f"hubspot {object_type} associations: empty response")
            for result in response.results or ():
                source = str(result._from.id)
                targets = links.setdefault(source, [])
                targets.extend(str(t.to_object_id) for t in result.to or ())
                nxt = result.paging.next if result.paging is not None else None
                if nxt is not None and nxt.after:
                    todo.append((source, str(nxt.after)))
        return {k: list(dict.fromkeys(v)) for k, v in links.items()}

    def archived_page(self, object_type: str, after: str | None) -> Any:
        """One page of archived ``object_type`` records (``GET ...?archived=true``)."""
        return self._client.call(
            Endpoint.READ,
            self._basic.get_page,
            object_type,
            limit=LIST_PAGE_MAX,
            after=after,
            properties=["hs_object_id"],
            archived=True,
        )

    def owners_page(self, *, archived: bool, after: str | None) -> Any:
        """One page of the owners list."""
        return self._client.call(
            Endpoint.READ,
            self._owners.get_page,
            limit=OWNERS_PAGE_MAX,
            after=after,
            archived=archived,
        )

    def stage_ids(self) -> list[str]:
        """The portal's lifecycle stage ids, custom ones included (the ``lifecyclestage``
        property's options: stages are customisable since 2022)."""
        prop = self._client.call(
            Endpoint.READ, self._properties.get_by_name, "contacts", "lifecyclestage"
        )
        return _values(prop.options or ())


def _values(options: Iterable[Any]) -> list[str]:
    return [str(o.value) for o in options if getattr(o, "value", None)]


_CACHE: weakref.WeakKeyDictionary[HubSpotClient, Apis] = weakref.WeakKeyDictionary()


def apis_of(client: HubSpotClient) -> Apis:
    """The cached :class:`Apis` of ``client``."""
    found = _CACHE.get(client)
    if found is None:
        found = _CACHE[client] = Apis(client)
    return found
