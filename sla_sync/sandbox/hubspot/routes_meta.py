"""Properties API, owners (``/crm/v3/owners/`` with its trailing slash) and associations v4."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sla_sync.sandbox.hubspot.portal import Portal, endpoint, flag, int_param
from sla_sync.sandbox.hubspot.schema import (
    EDITABLE_OPTIONS,
    VALID_FIELD_TYPES,
    PropertyDef,
    default_groups,
)
from sla_sync.sandbox.hubspot.v4 import v4_routes
from sla_sync.sandbox.hubspot.wire import HubSpotError, json_response, no_content

MAX_V4_INPUTS = 1000


def options_of(raw: Any) -> list[dict[str, Any]]:
    """Option inputs as a property carries them (``hidden``/``displayOrder`` filled in).

    Raises:
        HubSpotError: 400 when an option lacks a label or value, or two share a value (guess:
            the client's ``OptionInput`` requires label and value; duplicates cannot work).
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise HubSpotError(400, "options must be a list")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, o in enumerate(raw):
        if not isinstance(o, dict) or o.get("value") is None or o.get("label") is None:
            raise HubSpotError(400, f"option {i} needs a label and a value")
        value = str(o["value"])
        if value in seen:
            raise HubSpotError(400, f"Duplicate option value {value}")
        seen.add(value)
        option: dict[str, Any] = {"label": str(o["label"]), "value": value}
        if o.get("description") is not None:
            option["description"] = str(o["description"])
        option["displayOrder"] = int(o.get("displayOrder", i))
        option["hidden"] = bool(o.get("hidden", False))
        out.append(option)
    return out


def routes(portal: Portal) -> list[Route]:
    """Properties, owners and association routes bound to ``portal``."""
    store = portal.store

    def props_list(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        defs = bucket.archived_props if flag(request, "archived") else bucket.props
        return json_response({"results": [d.to_json() for d in defs.values()]})

    def live_prop(t: str, name: str, archived: bool = False) -> PropertyDef:
        bucket = store.buckets[t]
        d = (bucket.archived_props if archived else bucket.props).get(name)
        if d is None:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return d

    def prop_get(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        name = request.path_params["propertyName"]
        return json_response(live_prop(t, name, flag(request, "archived")).to_json())

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
            options=options_of(body.get("options")),
            hubspot_defined=False,
            description=str(body.get("description") or ""),
            created_at=portal.now(),
            display_order=int(body.get("displayOrder", -1)),
            hidden=bool(body.get("hidden", False)),
            form_field=bool(body.get("formField", False)),
        )
        bucket.props[name] = d
        bucket.archived_props.pop(name, None)  # guess: an archived name can be reused
        store.definitions_changed()  # search compares by property type
        return json_response(d.to_json(), 201)

    def prop_update(request: Request, body: Any) -> Response:
        """``PATCH``: the ``PropertyUpdate`` fields given replace the current ones.

        Guesses (the reference documents create only): HubSpot-defined properties refuse
        type/fieldType changes and, but for portal-customisable lists (lifecycle stages, lead
        status), option changes; a type change must keep a fieldType valid for the new type
        (reference §2.5 table) and leaving ``enumeration`` drops the options. Values already
        stored are kept even when no option names them any more.
        """
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        d = live_prop(t, request.path_params["propertyName"])
        if not isinstance(body, dict):
            raise HubSpotError(400, "Invalid input JSON: expected a PropertyUpdate object")
        ptype = str(body.get("type") or d.type)
        ftype = str(body.get("fieldType") or d.field_type)
        if d.hubspot_defined and (ptype, ftype) != (d.type, d.field_type):
            raise HubSpotError(400, f"Cannot change the type of HubSpot-defined property {d.name}")
        if ftype not in VALID_FIELD_TYPES.get(ptype, set()):
            raise HubSpotError(400, f"fieldType {ftype} is not valid for type {ptype}")
        options = None
        if "options" in body and body["options"] is not None:
            if d.hubspot_defined and d.name not in EDITABLE_OPTIONS:
                raise HubSpotError(400, f"The options of property {d.name} are read-only")
            options = options_of(body["options"])
        group = body.get("groupName")
        if group is not None and str(group) not in bucket.groups:
            raise HubSpotError(400, f"Property group {group} does not exist")
        # Every check passed: apply.
        d.type, d.field_type = ptype, ftype
        if options is not None:
            d.set_options(options)
        if ptype not in ("enumeration", "bool"):
            d.set_options([])
        if group is not None:
            d.group = str(group)
        if body.get("label") is not None:
            d.label = str(body["label"])
        if body.get("description") is not None:
            d.description = str(body["description"])
        if body.get("displayOrder") is not None:
            d.display_order = int(body["displayOrder"])
        if body.get("hidden") is not None:
            d.hidden = bool(body["hidden"])
        if body.get("formField") is not None:
            d.form_field = bool(body["formField"])
        d.updated_at = portal.now()
        store.definitions_changed()
        return json_response(d.to_json())

    def prop_archive(request: Request, _: Any) -> Response:
        """``DELETE``: 204; the property leaves the live list (``?archived=true`` lists it) and
        writes to it fail with ``PROPERTY_DOESNT_EXIST``. HubSpot-defined properties are not
        archivable (``modificationMetadata.archivable``; the 400 is a guess)."""
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        d = live_prop(t, request.path_params["propertyName"])
        if d.hubspot_defined:
            raise HubSpotError(400, f"HubSpot-defined property {d.name} cannot be archived")
        del bucket.props[d.name]
        d.archived, d.archived_at = True, portal.now()
        bucket.archived_props[d.name] = d
        store.definitions_changed()
        return no_content()

    def groups_list(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        groups = bucket.archived_groups if flag(request, "archived") else bucket.groups
        return json_response({"results": list(groups.values())})

    def group_get(request: Request, _: Any) -> Response:
        t = portal.object_type(request.path_params["objectType"])
        g = store.buckets[t].groups.get(request.path_params["groupName"])
        if g is None:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return json_response(g)

    def live_group(t: str, name: str) -> dict[str, Any]:
        g = store.buckets[t].groups.get(name)
        if g is None:
            raise HubSpotError(404, "resource not found", category="OBJECT_NOT_FOUND")
        return g

    def group_update(request: Request, body: Any) -> Response:
        """``PATCH``: ``label`` and ``displayOrder`` (``PropertyGroupUpdate``) -> 200."""
        t = portal.object_type(request.path_params["objectType"])
        g = live_group(t, request.path_params["groupName"])
        if not isinstance(body, dict):
            raise HubSpotError(400, "Invalid input JSON: expected a PropertyGroupUpdate object")
        if body.get("label") is not None:
            g["label"] = str(body["label"])
        if body.get("displayOrder") is not None:
            g["displayOrder"] = int(body["displayOrder"])
        return json_response(g)

    def group_archive(request: Request, _: Any) -> Response:
        """``DELETE`` -> 204. Guesses: the built-in group cannot go, nor one that still holds
        live properties (the reference is silent; HubSpot's UI asks to move them first)."""
        t = portal.object_type(request.path_params["objectType"])
        bucket = store.buckets[t]
        name = request.path_params["groupName"]
        g = live_group(t, name)
        if any(g["name"] == d["name"] for d in default_groups(t)):
            raise HubSpotError(400, f"HubSpot-defined group {name} cannot be archived")
        if any(d.group == name for d in bucket.props.values()):
            raise HubSpotError(400, f"Property group {name} still has properties; move them first")
        del bucket.groups[name]
        bucket.archived_groups[name] = {**g, "archived": True}
        return no_content()

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
        store.buckets[t].archived_groups.pop(name, None)
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
        r(p + "/groups/{groupName}", group_update, ["PATCH"]),
        r(p + "/groups/{groupName}", group_archive, ["DELETE"]),
        r(p, props_list, ["GET"]),
        r(p, prop_create, ["POST"]),
        r(p + "/{propertyName}", prop_get, ["GET"]),
        r(p + "/{propertyName}", prop_update, ["PATCH"]),
        r(p + "/{propertyName}", prop_archive, ["DELETE"]),
        r("/crm/v3/owners/", owners_page, ["GET"]),
        r("/crm/v3/owners", owners_page, ["GET"]),
        r("/crm/v3/owners/{ownerId}", owner_get, ["GET"]),
        r(
            "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
            v4_batch_read,
            ["POST"],
        ),
        r("/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}", v4_get, ["GET"]),
        *v4_routes(portal),
    ]
