"""``/crm/v3/objects/{objectType}``: list, get, create, update, archive, batch, search, merge.

The typed paths the client uses (``/crm/v3/objects/contacts``, ``.../tasks``) are the same URLs, so
the generic routes serve them. Status codes follow the client's ``response_types_map`` exactly:
create 201, batch create 201/207, batch read/update/upsert 200/207, archive and batch archive 204.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sla_sync.sandbox.hubspot.portal import Portal, endpoint, flag, int_param, multi
from sla_sync.sandbox.hubspot.records import Record
from sla_sync.sandbox.hubspot.schema import (
    ASSOCIATION_LABELS,
    ASSOCIATION_TYPES,
    CONTACT_DEFAULTS,
    ENGAGEMENT_DEFAULTS,
    SINGULAR,
    TYPE_IDS,
    UPPER_NAME,
)
from sla_sync.sandbox.hubspot.search import run_search
from sla_sync.sandbox.hubspot.wire import HubSpotError, json_response, no_content

MAX_BATCH = 100
MAX_HISTORY_PAGE = 50
BASE = "/crm/v3/objects"


def _names(object_type: str, requested: list[str] | None) -> list[str]:
    defaults = CONTACT_DEFAULTS if object_type == "contacts" else ENGAGEMENT_DEFAULTS
    if not requested:
        return list(defaults)
    always = (
        ("createdate", "lastmodifieddate") if object_type == "contacts" else ENGAGEMENT_DEFAULTS
    )
    return list(dict.fromkeys([*requested, *always, "hs_object_id"]))


def _id(raw: Any) -> int | None:
    text = str(raw).strip()
    return int(text) if text.isdigit() else None


def _assoc_label(from_type: str, to_type: str) -> str:
    a = ASSOCIATION_LABELS.get(from_type, SINGULAR[from_type])
    b = ASSOCIATION_LABELS.get(to_type, SINGULAR[to_type])
    return f"{a}_to_{b}"


def routes(portal: Portal) -> list[Route]:
    """The object routes bound to ``portal``."""
    store = portal.store

    def render(rec: Record, names: list[str], history: Sequence[str] = ()) -> dict[str, Any]:
        return rec.to_json(names, store.buckets[rec.type].props, history)

    def full(rec: Record) -> dict[str, Any]:
        return rec.full_json()

    def lookup(
        object_type: str, raw_id: str, id_property: str | None, *, follow: bool
    ) -> Record | None:
        if id_property and id_property != "hs_object_id":
            if object_type != "contacts" or id_property != "email":
                raise HubSpotError(400, f"{id_property} is not a unique property")
            return store.by_email(raw_id)
        rid = _id(raw_id)
        return None if rid is None else store.resolve(object_type, rid, follow_merges=follow)

    def with_associations(rec: Record, body: dict[str, Any], to_types: list[str]) -> None:
        out: dict[str, Any] = {}
        for raw in to_types:
            to_type = portal.object_type(raw)
            links = store.associated(rec.type, rec.id, to_type)
            if links:
                label = _assoc_label(rec.type, to_type)
                out[to_type] = {"results": [{"id": str(i), "type": label} for i, _ in links]}
        if out:
            body["associations"] = out

    def list_page(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        history = multi(request, "propertiesWithHistory")
        limit = int_param(request, "limit", 10, MAX_HISTORY_PAGE if history else MAX_BATCH)
        after = _id(request.query_params.get("after") or "0") or 0
        names = _names(t, multi(request, "properties"))
        assoc = multi(request, "associations")
        page: list[dict[str, Any]] = []
        next_id: int | None = None
        for rec in store.buckets[t].live(after, archived=flag(request, "archived")):
            if len(page) == limit:
                next_id = rec.id
                break
            item = render(rec, names, history)
            with_associations(rec, item, assoc)
            page.append(item)
        body: dict[str, Any] = {"results": page}
        if next_id is not None:
            link = f"{BASE}/{t}?limit={limit}&after={next_id}"
            body["paging"] = {"next": {"after": str(next_id), "link": link}}
        return json_response(body)

    def get_one(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        archived = flag(request, "archived")
        rec = lookup(
            t, request.path_params["objectId"], request.query_params.get("idProperty"), follow=True
        )
        if rec is None or rec.archived is not archived:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        names = _names(t, multi(request, "properties"))
        item = render(rec, names, multi(request, "propertiesWithHistory"))
        with_associations(rec, item, multi(request, "associations"))
        return json_response(item)

    def check_associations(t: str, specs: Any) -> list[tuple[str, int, int]]:
        links = []
        for spec in specs or []:
            to_id = _id((spec.get("to") or {}).get("id", ""))
            for kind in spec.get("types") or []:
                type_id = int(kind.get("associationTypeId", 0))
                pairs = [p for p, i in ASSOCIATION_TYPES.items() if i == type_id]
                if str(kind.get("associationCategory")) != "HUBSPOT_DEFINED" or not pairs:
                    raise HubSpotError(400, f"association type id {type_id} does not exist")
                src, dst = pairs[0]
                if src != t:
                    raise HubSpotError(
                        400,
                        f"invalid from object type {TYPE_IDS[t]} for associations to be created. "
                        f"expected: {TYPE_IDS[src]}",
                    )
                target = None if to_id is None else store.resolve(dst, to_id, follow_merges=True)
                if target is None or target.archived:
                    raise HubSpotError(400, f"{UPPER_NAME[dst]} {to_id} does not exist")
                links.append((dst, target.id, type_id))
        return links

    def create(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        values = store.prepare(t, body.get("properties") or {}, None)
        links = check_associations(t, body.get("associations"))
        rec = store.create(t, values, portal.now())
        for dst, did, type_id in links:
            store.associate(t, rec.id, dst, did, type_id)
        return json_response(full(rec), 201)

    def update(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        rec = lookup(
            t, request.path_params["objectId"], request.query_params.get("idProperty"), follow=True
        )
        if rec is None or rec.archived:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        store.write(rec, store.prepare(t, body.get("properties") or {}, rec), portal.now())
        return json_response(full(rec))

    def archive(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        rid = _id(request.path_params["objectId"])
        rec = None if rid is None else store.resolve(t, rid, follow_merges=False)
        if rec is not None:
            store.archive(rec, portal.now())
        return no_content()

    def search(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        now = portal.now() if store.pending else None  # the clock matters only while lagging
        return json_response(run_search(store, t, body, portal.limits, now))

    def inputs_of(body: Any) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise HubSpotError(400, "inputs is required")
        if len(inputs) > MAX_BATCH:
            raise HubSpotError(400, f"Batch input limit exceeded: {len(inputs)} > {MAX_BATCH}")
        return inputs

    def batch_body(
        results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
        out["startedAt"] = started
        out["completedAt"] = portal.now()
        return out

    def not_found(t: str, ids: list[str]) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {UPPER_NAME[t]} objects, they may be deleted or not "
            "exist. Check that ids are valid.",
            "context": {"ids": ids},
            "errors": [],
        }

    def record_error(exc: HubSpotError, item: dict[str, Any], rid: str | None) -> dict[str, Any]:
        context: dict[str, list[str]] = {}
        if rid is not None:
            context["ids"] = [rid]
        if item.get("objectWriteTraceId") is not None:
            context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
        return {
            "status": "error",
            "category": exc.category,
            "message": exc.message,
            "context": context,
            "errors": exc.errors or [],
        }

    def claim(claimed: dict[str, int], values: dict[str, Any], rid: int) -> None:
        """Two inputs of one batch giving contacts the same e-mail: the later one conflicts."""
        email = values.get("email")
        if not email:
            return
        other = claimed.setdefault(email.lower(), rid)
        if other != rid:
            raise HubSpotError(
                409, f"Contact already exists. Existing ID: {other}", category="CONFLICT"
            )

    def whole_batch_fails(failures: list[HubSpotError]) -> None:
        for exc in failures:  # unknown properties fail the whole batch, as on single writes
            if any(e.get("code") == "PROPERTY_DOESNT_EXIST" for e in exc.errors or []):
                raise exc

    def batch_read(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        started = portal.now()
        archived = flag(request, "archived")
        names = _names(t, body.get("properties"))
        history = body.get("propertiesWithHistory") or []
        results, missing = [], []
        for item in inputs_of(body):
            raw = str(item.get("id", ""))
            rec = lookup(t, raw, body.get("idProperty"), follow=False)
            if rec is None or rec.archived is not archived:
                missing.append(raw)
            else:
                results.append(render(rec, names, history))
        errors = [not_found(t, missing)] if missing else []
        return json_response(batch_body(results, errors, started), 207 if errors else 200)

    def batch_create(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        started = portal.now()
        inputs = inputs_of(body)
        prepared: list[tuple[dict[str, Any], list[tuple[str, int, int]]]] = []
        errors, failures = [], []
        claimed: dict[str, int] = {}  # e-mail -> id the earlier input of this batch will get
        for item in inputs:
            try:
                values = store.prepare(t, item.get("properties") or {}, None)
                links = check_associations(t, item.get("associations"))
                claim(claimed, values, store.next_id + len(prepared))
                prepared.append((values, links))
            except HubSpotError as exc:
                failures.append(exc)
                errors.append(record_error(exc, item, None))
        whole_batch_fails(failures)
        results = []
        for values, links in prepared:
            rec = store.create(t, values, portal.now())
            for dst, did, type_id in links:
                store.associate(t, rec.id, dst, did, type_id)
            results.append(full(rec))
        return json_response(batch_body(results, errors, started), 207 if errors else 201)

    def batch_update(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        started = portal.now()
        inputs = inputs_of(body)
        ids = [str(i.get("id", "")) for i in inputs]
        if len(set(ids)) != len(ids):
            raise HubSpotError(400, "Duplicate IDs found in batch input")
        staged, errors, failures, missing = [], [], [], []
        claimed: dict[str, int] = {}
        for item, raw in zip(inputs, ids, strict=True):
            rec = lookup(t, raw, item.get("idProperty"), follow=False)
            if rec is None or rec.archived:
                missing.append(raw)
                continue
            try:
                values = store.prepare(t, item.get("properties") or {}, rec)
                claim(claimed, values, rec.id)
                staged.append((rec, values))
            except HubSpotError as exc:
                failures.append(exc)
                errors.append(record_error(exc, item, raw))
        whole_batch_fails(failures)
        now = portal.now()
        results = []
        for rec, values in staged:
            store.write(rec, values, now)
            results.append(full(rec))
        if missing:
            errors.insert(0, not_found(t, missing))
        return json_response(batch_body(results, errors, started), 207 if errors else 200)

    def batch_upsert(request: Request, body: Any) -> Response:
        """Update the record each input's ``id`` names (by ``idProperty``: ``email`` for contacts,
        else the record id) or create it (``email`` upserts only; the id becomes the e-mail).
        Results carry ``new``; per-record failures give 207, unknown properties a whole 400."""
        t = portal.object_type(request.path_params["objectType"])
        started = portal.now()
        inputs = inputs_of(body)
        keys = [
            (str(i.get("idProperty") or "hs_object_id"), str(i.get("id", "")).strip())
            for i in inputs
        ]
        folded = [(p, v.lower() if p == "email" else v) for p, v in keys]
        if len(set(folded)) != len(folded):
            raise HubSpotError(400, "Duplicate IDs found in batch input")
        staged: list[tuple[Record | None, dict[str, Any]]] = []
        errors, failures, missing = [], [], []
        claimed: dict[str, int] = {}
        creates = 0
        for item, (id_property, raw) in zip(inputs, keys, strict=True):
            rec = lookup(t, raw, id_property, follow=False)
            if rec is not None and rec.archived:
                rec = None
            if rec is None and id_property != "email":
                missing.append(raw)
                continue
            props = dict(item.get("properties") or {})
            try:
                if rec is None:
                    props["email"] = raw
                    values = store.prepare(t, props, None)
                    claim(claimed, values, store.next_id + creates)
                    creates += 1
                else:
                    values = store.prepare(t, props, rec)
                    claim(claimed, values, rec.id)
                staged.append((rec, values))
            except HubSpotError as exc:
                failures.append(exc)
                errors.append(record_error(exc, item, raw))
        whole_batch_fails(failures)
        now = portal.now()
        results = []
        for target, values in staged:
            if target is None:
                made = store.create(t, values, now)
                results.append({**full(made), "new": True})
            else:
                store.write(target, values, now)
                results.append({**full(target), "new": False})
        if missing:
            errors.insert(0, not_found(t, missing))
        return json_response(batch_body(results, errors, started), 207 if errors else 200)

    def batch_archive(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        now = portal.now()
        for item in inputs_of(body):
            rid = _id(item.get("id", ""))
            rec = None if rid is None else store.resolve(t, rid, follow_merges=False)
            if rec is not None:
                store.archive(rec, now)
        return no_content()

    def merge(request: Request, body: Any) -> Response:
        primary = _id(body.get("primaryObjectId", ""))
        loser = _id(body.get("objectIdToMerge", ""))
        if primary is None or loser is None or primary == loser:
            raise HubSpotError(400, "primaryObjectId and objectIdToMerge must be two different ids")
        a = store.resolve("contacts", primary, follow_merges=False)
        b = store.resolve("contacts", loser, follow_merges=False)
        if a is None or b is None or a.archived or b.archived:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return json_response(full(store.merge(a, b, portal.now())))

    def r(path: str, fn: Any, methods: list[str], **kw: Any) -> Route:
        return Route(BASE + path, endpoint(portal, fn, **kw), methods=methods)

    return [
        r("/contacts/merge", merge, ["POST"]),
        r("/{objectType}/search", search, ["POST"], search=True),
        r("/{objectType}/batch/read", batch_read, ["POST"]),
        r("/{objectType}/batch/create", batch_create, ["POST"]),
        r("/{objectType}/batch/update", batch_update, ["POST"]),
        r("/{objectType}/batch/upsert", batch_upsert, ["POST"]),
        r("/{objectType}/batch/archive", batch_archive, ["POST"]),
        r("/{objectType}", list_page, ["GET"]),
        r("/{objectType}", create, ["POST"]),
        r("/{objectType}/{objectId}", get_one, ["GET"]),
        r("/{objectType}/{objectId}", update, ["PATCH"]),
        r("/{objectType}/{objectId}", archive, ["DELETE"]),
    ]
