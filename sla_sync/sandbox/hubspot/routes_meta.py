"""Properties API, owners (``/crm/v3/owners/`` with its trailing slash) and associations v4."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sla_sync.sandbox.hubspot.portal import Portal, endpoint, flag, int_param
from sla_sync.sandbox.hubspot.schema import VALID_FIELD_TYPES, PropertyDef
from sla_sync.sandbox.hubspot.wire import HubSpotError, json_response

MAX_V4_INPUTS = 1000


def routes(portal: Portal) -> list[Route]:
    """Properties, owners and association routes bound to ``portal``."""
    store = portal.store

    def props_list(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        defs = store.buckets[t].props.values()
        return json_response({"results": [d.to_json() for d in defs]})

    def prop_get(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        d = store.buckets[t].props.get(request.path_params["propertyName"])
        if d is None:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return json_response(d.to_json())

    def prop_create(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise HubSpotError(400, f"Missing required fields: {', '.join(missing)}")
        name, ptype, ftype = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if ftype not in VALID_FIELD_TYPES.get(ptype, set()):
            raise HubSpotError(400, f"fieldType {ftype} is not valid for type {ptype}")
        if str(body["groupName"]) not in bucket.groups:
            raise HubSpotError(400, f"Property group {body['groupName']} does not exist")
        if name in bucket.props:
            raise HubSpotError(
                409, f"Object already has a property named {name}", category="OBJECT_ALREADY_EXISTS"
            )
        d = PropertyDef(
            name=name,
            type=ptype,
            field_type=ftype,
            group=str(body["groupName"]),
            label=str(body["label"]),
            options=list(body.get("options") or []),
            hubspot_defined=False,
            description=str(body.get("description") or ""),
            created_at=portal.now(),
        )
        bucket.props[name] = d
        store.version += 1  # search compares by property type
        return json_response(d.to_json(), 201)

    def groups_list(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        return json_response({"results": list(store.buckets[t].groups.values())})

    def group_get(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        g = store.buckets[t].groups.get(request.path_params["groupName"])
        if g is None:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return json_response(g)

    def group_create(request: Request, body: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        groups = store.buckets[t].groups
        name = str(body.get("name") or "")
        if not name or not body.get("label"):
            raise HubSpotError(400, "name and label are required")
        if name in groups:
            raise HubSpotError(
                409, f"Group {name} already exists", category="OBJECT_ALREADY_EXISTS"
            )
        group = {
            "name": name,
            "label": str(body["label"]),
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        groups[name] = group
        return json_response(group, 201)

    def owners_page(request: Request, _: Any) -> Response:
        limit = int_param(request, "limit", 100, 500)
        archived = flag(request, "archived")
        email = (request.query_params.get("email") or "").lower()
        after = int(request.query_params.get("after") or 0)
        rows = [
            o
            for o in store.owners
            if o["archived"] is archived and (not email or o["email"].lower() == email)
        ]
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(body)

    def owner_get(request: Request, _: Any) -> Response:
        key = "userId" if request.query_params.get("idProperty") == "userId" else "id"
        archived = flag(request, "archived")
        raw = request.path_params["ownerId"]
        for o in store.owners:
            if str(o[key]) == raw and o["archived"] is archived:
                return json_response(o)
        raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")

    def v4_batch_read(request: Request, body: Any) -> Response:
        src = portal.object_type(request.path_params["fromObjectType"])
        dst = portal.object_type(request.path_params["toObjectType"])
        started = portal.now()
        inputs = body.get("inputs") or []
        if len(inputs) > MAX_V4_INPUTS:
            raise HubSpotError(400, f"Batch input limit exceeded: {len(inputs)} > {MAX_V4_INPUTS}")
        results = []
        for item in inputs:
            raw = str(item.get("id", ""))
            links = store.associated(src, int(raw), dst) if raw.isdigit() else []
            if links:
                to = [
                    {
                        "toObjectId": to_id,  # a number on the wire, as real HubSpot sends it
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                        ],
                    }
                    for to_id, type_id in links
                ]
                results.append({"from": {"id": raw}, "to": to})
        return json_response(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": started,
                "completedAt": portal.now(),
            }
        )

    def v4_get(request: Request, _: Any) -> Response:
        src = portal.object_type(request.path_params["objectType"])
        dst = portal.object_type(request.path_params["toObjectType"])
        limit = int_param(request, "limit", 500, 500)
        after = int(request.query_params.get("after") or 0)
        raw = request.path_params["objectId"]
        links = store.associated(src, int(raw), dst) if raw.isdigit() else []
        page = [
            {
                "toObjectId": to_id,
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None}],
            }
            for to_id, t in links[after : after + limit]
        ]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(links):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(body)

    def r(path: str, fn: Any, methods: list[str]) -> Route:
        return Route(path, endpoint(portal, fn), methods=methods)

    p = "/crm/v3/properties/{objectType}"
    return [
        r(p + "/groups", groups_list, ["GET"]),
        r(p + "/groups", group_create, ["POST"]),
        r(p + "/groups/{groupName}", group_get, ["GET"]),
        r(p, props_list, ["GET"]),
        r(p, prop_create, ["POST"]),
        r(p + "/{propertyName}", prop_get, ["GET"]),
        r("/crm/v3/owners/", owners_page, ["GET"]),
        r("/crm/v3/owners", owners_page, ["GET"]),
        r("/crm/v3/owners/{ownerId}", owner_get, ["GET"]),
        r(
            "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
            v4_batch_read,
            ["POST"],
        ),
        r("/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}", v4_get, ["GET"]),
    ]
