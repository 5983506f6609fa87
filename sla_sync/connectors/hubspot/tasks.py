"""Alert tasks in HubSpot: create one (never twice), find the ones sla-sync created.

Create (hubspot-api.md 2.7): ``POST /crm/v3/objects/tasks`` with ``hs_task_subject``,
``hs_task_body``, ``hs_timestamp`` (the due date), ``hs_task_status=NOT_STARTED``,
``hs_task_priority``, ``hs_task_type=TODO``, ``hubspot_owner_id`` and the contact association
inline (type 204, task -> contact). The call goes through
:meth:`~sla_sync.connectors.hubspot.client.HubSpotClient.call_non_idempotent`: retried only when
HubSpot did not process it (429, 423, no connection); a 5xx or a read timeout raises
:class:`~sla_sync.connectors.base.RetriableConnectorError` at once, because the task may exist.

Find: the subject carries the marker ``[sla-sync:<key>]`` (what the pull recognises), and the
body's last line carries a *reference token*, ``slasync`` + 24 hex digits of the marker's
SHA-256. Search tokenises text on spaces and punctuation, so ``CONTAINS_TOKEN`` on a marker
full of colons and brackets is unreliable; an alphanumeric token is one token everywhere. The
search asks for the token (``hs_task_body CONTAINS_TOKEN``) and the subject is then checked for
the exact marker, so a rep quoting a reference in another task matches nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC
from typing import Any

from hubspot.crm.objects import PublicObjectSearchRequest

from sla_sync.connectors.base import (
    FatalConnectorError,
    RetriableConnectorError,
    SkippableRecordError,
    TaskPriority,
    TaskRequest,
    TaskResult,
)
from sla_sync.connectors.hubspot.client import Endpoint, HubSpotClient
from sla_sync.connectors.hubspot.markers import has_sla_sync_marker

TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type, task -> contact
# Search allows 5 filter groups (OR-ed) per request.
MARKERS_PER_SEARCH = 5
REFERENCE_PREFIX = "slasync"
_PRIORITY = {TaskPriority.LOW: "LOW", TaskPriority.MEDIUM: "MEDIUM", TaskPriority.HIGH: "HIGH"}


def reference_token(marker: str) -> str:
    """The alphanumeric search token standing for ``marker`` (lowercase: search lowercases)."""
    return REFERENCE_PREFIX + hashlib.sha256(marker.encode("utf-8")).hexdigest()[:24]


def task_properties(request: TaskRequest) -> dict[str, str]:
    """The HubSpot properties of ``request``'s task (marker in the subject, token in the body)."""
    if not has_sla_sync_marker(request.marker) or request.marker not in request.subject:
        raise ValueError(f"the task subject must carry its marker {request.marker!r}")
    due = request.due_at.astimezone(UTC)
    props = {
        "hs_task_subject": request.subject,
        "hs_task_body": f"{request.body}\n\nsla-sync reference: {reference_token(request.marker)}",
        "hs_timestamp": due.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": _PRIORITY[request.priority],
        "hs_task_type": "TODO",
    }
    if request.owner_id is not None:
        props["hubspot_owner_id"] = request.owner_id
    return props


def create_task(client: HubSpotClient, request: TaskRequest) -> TaskResult:
    """Create the task of ``request`` associated with its contact; see the module docstring.

    Raises:
        RetriableConnectorError: the outcome is unknown (5xx, timeout) or the retries ran out.
        SkippableRecordError: HubSpot refused this task (400: e.g. the contact is gone or the
            owner unknown); sending it again would fail the same way.
        FatalConnectorError: the credential or the permission was refused.
        QuotaExhaustedError: the daily budget ran out.
    """
    body = {
        "properties": task_properties(request),
        "associations": [
            {
                "to": {"id": request.lead_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}
                ],
            }
        ],
    }
    api = client.sdk.crm.objects.tasks.basic_api
    try:
        answer = client.call_non_idempotent(Endpoint.WRITE, api.create, body)
    except FatalConnectorError as exc:
        # 400/404/409: HubSpot refused this task as sent (and processed nothing).
        if exc.status in (400, 404, 409):
            raise SkippableRecordError(request.lead_id, str(exc), stream="tasks") from exc
        raise
    task_id = _get(answer, "id")
    if not task_id:
        # HubSpot's status-code drift can leave the SDK with no body: the task may exist.
        raise RetriableConnectorError("hubspot task create: empty response")
    return TaskResult(task_id=str(task_id), marker=request.marker)


def find_tasks(client: HubSpotClient, markers: Sequence[str]) -> dict[str, str]:
    """``{marker: task id}`` for the live tasks carrying ``markers`` (subject checked exactly;
    the oldest task wins when, against all odds, there are two)."""
    wanted = {reference_token(m): m for m in dict.fromkeys(markers)}
    found: dict[str, str] = {}
    tokens = list(wanted)
    for start in range(0, len(tokens), MARKERS_PER_SEARCH):
        chunk = tokens[start : start + MARKERS_PER_SEARCH]
        for rec in _search(client, chunk):
            props = _get(rec, "properties") or {}
            subject = props.get("hs_task_subject") or ""
            body = props.get("hs_task_body") or ""
            for token in chunk:
                marker = wanted[token]
                if token in body.lower() and marker in subject and marker not in found:
                    found[marker] = str(_get(rec, "id"))
    return found


def _search(client: HubSpotClient, tokens: list[str]) -> Iterator[Any]:
    """Every task whose body holds one of ``tokens``, oldest id first, all pages."""
    api = client.sdk.crm.objects.search_api
    after: str | None = None
    while True:
        request = PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN", "value": t}
                    ]
                }
                for t in tokens
            ],
            sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            properties=["hs_task_subject", "hs_task_body"],
            limit=100,
            after=after,
        )
        page = client.call(
            Endpoint.SEARCH, api.do_search, "tasks", public_object_search_request=request
        )
        if page is None:
            raise RetriableConnectorError("hubspot task search: empty response")
        yield from page.results or ()
        nxt = page.paging.next if page.paging is not None else None
        if nxt is None or not nxt.after:
            return
        after = str(nxt.after)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
