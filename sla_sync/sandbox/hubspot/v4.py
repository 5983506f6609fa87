"""Associations v4 writes: default and labelled creates, single and batch archive.

Routes and success codes follow the client's ``response_types_map`` (reference §2, the v4 rows):
``PUT .../associations/default/{toType}/{toId}`` 200, ``PUT .../associations/{toType}/{toId}``
201, ``DELETE .../associations/{toType}/{toId}`` 204, ``batch/associate/default`` 200,
``batch/create`` 201/207, ``batch/archive`` and ``batch/labels/archive`` 204.

The store keeps one HUBSPOT_DEFINED type per linked pair, so labels (USER_DEFINED types) are not
modelled: a labelled create with a HUBSPOT_DEFINED type is a default create, any other category
is refused. Association changes never touch the records' modification stamps (HubSpot's do not
bump ``hs_lastmodifieddate``; sync-lessons.md §1, takeaway 3), and re-associating an existing
pair is a no-op that still answers success.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sla_sync.sandbox.hubspot.portal import Portal, endpoint
from sla_sync.sandbox.hubspot.records import Record
from sla_sync.sandbox.hubspot.schema import ASSOCIATION_TYPES, TYPE_IDS, UPPER_NAME
from sla_sync.sandbox.hubspot.wire import HubSpotError, json_response, no_content

MAX_V4_WRITE_INPUTS = 2000  # v4 guide: batch association writes take up to 2,000 inputs (guess)


def v4_routes(portal: Portal) -> list[Route]:
    """The v4 association write routes bound to ``portal``."""
    store = portal.store

    def type_id(src: str, dst: str) -> int:
        found = ASSOCIATION_TYPES.get((src, dst))
        if found is None:  # guess: message wording; the emulator links contacts and engagements
            raise HubSpotError(400, f"No default association type from {src} to {dst}")
        return found

    def record(t: str, raw: Any) -> Record:
        text = str(raw).strip()
        rec = store.resolve(t, int(text), follow_merges=False) if text.isdigit() else None
        if rec is None or rec.archived:
            # Guess: HubSpot answers a missing end with 404 (single) / a batch error.
            raise HubSpotError(
                404, f"No {UPPER_NAME[t]} with id {text} exists", category="OBJECT_NOT_FOUND"
            )
        return rec

    def default_pair(src: str, a: Record, dst: str, b: Record) -> list[dict[str, Any]]:
        """Link ``a`` and ``b``; the ``PublicDefaultAssociation`` results, both directions
        (guess: HubSpot reports the pair once per direction)."""
        forward, backward = type_id(src, dst), type_id(dst, src)
        store.associate(src, a.id, dst, b.id, forward)
        return [
            {
                "from": {"id": str(x.id)},
                "to": {"id": str(y.id)},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": k,
                },
            }
            for x, y, k in ((a, b, forward), (b, a, backward))
        ]

    def check_specs(src: str, dst: str, specs: Any) -> None:
        expected = type_id(src, dst)
        if not isinstance(specs, list) or not specs:
            raise HubSpotError(400, "At least one association type is required")
        for spec in specs:
            category = str((spec or {}).get("associationCategory"))
            kind = (spec or {}).get("associationTypeId")
            if category != "HUBSPOT_DEFINED" or kind != expected:
                # Same wording as a wrong-direction inline association on create (reference §2.7).
                raise HubSpotError(
                    400,
                    f"association type id {kind} ({category}) is not valid from "
                    f"{TYPE_IDS[src]} to {TYPE_IDS[dst]}; expected HUBSPOT_DEFINED {expected}",
                )

    def pair_json(src: str, a: Record, dst: str, b: Record) -> dict[str, Any]:
        """``LabelsBetweenObjectPair`` (HUBSPOT_DEFINED types carry no label)."""
        return {
            "fromObjectTypeId": TYPE_IDS[src],
            "fromObjectId": str(a.id),
            "toObjectTypeId": TYPE_IDS[dst],
            "toObjectId": str(b.id),
            "labels": [],
        }

    def batch_json(results: list[Any], errors: list[Any], started: str) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
        out["startedAt"] = started
        out["completedAt"] = portal.now()
        return out

    def types(request: Request, src_key: str) -> tuple[str, str]:
        return (
            portal.object_type(request.path_params[src_key]),
            portal.object_type(request.path_params["toObjectType"]),
        )

    def inputs_of(body: Any) -> list[dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HubSpotError(400, "inputs is required")
        if len(inputs) > MAX_V4_WRITE_INPUTS:
            raise HubSpotError(
                400, f"Batch input limit exceeded: {len(inputs)} > {MAX_V4_WRITE_INPUTS}"
            )
        return [i if isinstance(i, dict) else {} for i in inputs]

    def end_id(item: dict[str, Any], key: str) -> Any:
        end = item.get(key)
        return end.get("id", "") if isinstance(end, dict) else ""

    # ------------------------------------------------------------------ single record

    def put_default(request: Request, _: Any) -> Response:
        src, dst = types(request, "fromObjectType")
        a = record(src, request.path_params["fromObjectId"])
        b = record(dst, request.path_params["toObjectId"])
        started = portal.now()
        return json_response(batch_json(default_pair(src, a, dst, b), [], started))

    def put_labelled(request: Request, body: Any) -> Response:
        src, dst = types(request, "objectType")
        a = record(src, request.path_params["objectId"])
        b = record(dst, request.path_params["toObjectId"])
        check_specs(src, dst, body)
        default_pair(src, a, dst, b)
        return json_response(pair_json(src, a, dst, b), 201)

    def delete_pair(request: Request, _: Any) -> Response:
        """204 whether or not the pair was linked (guess, like the object archive routes)."""
        src, dst = types(request, "objectType")
        a, b = request.path_params["objectId"], request.path_params["toObjectId"]
        if (
            a.isdigit()
            and b.isdigit()
            and store.resolve(src, int(a), follow_merges=False) is not None
            and store.resolve(dst, int(b), follow_merges=False) is not None
        ):
            store.dissociate(int(a), int(b))
        return no_content()

    # ------------------------------------------------------------------ batch

    def batch_default(request: Request, body: Any) -> Response:
        """200 only (the client maps no 207 here): a missing end fails the whole batch, checked
        before anything is linked (guess)."""
        src, dst = types(request, "fromObjectType")
        type_id(src, dst)
        started = portal.now()
        pairs = [
            (record(src, end_id(item, "from")), record(dst, end_id(item, "to")))
            for item in inputs_of(body)
        ]
        results: list[dict[str, Any]] = []
        for a, b in pairs:
            results += default_pair(src, a, dst, b)
        return json_response(batch_json(results, [], started))

    def batch_create(request: Request, body: Any) -> Response:
        """201, or 207 with one error per input that names a missing record or a wrong type."""
        src, dst = types(request, "fromObjectType")
        started = portal.now()
        results, errors = [], []
        for item in inputs_of(body):
            try:
                a, b = record(src, end_id(item, "from")), record(dst, end_id(item, "to"))
                check_specs(src, dst, item.get("types"))
            except HubSpotError as exc:
                ids = [str(end_id(item, "from")), str(end_id(item, "to"))]
                errors.append(
                    {
                        "status": "error",
                        "category": exc.category,
                        "message": exc.message,
                        "context": {"ids": ids},
                        "errors": [],
                    }
                )
                continue
            default_pair(src, a, dst, b)
            results.append(pair_json(src, a, dst, b))
        status = 207 if errors else 201
        return json_response(batch_json(results, errors, started), status)

    def batch_archive(request: Request, body: Any) -> Response:
        """``{"inputs":[{"from":{"id"},"to":[{"id"}, ...]}]}`` -> 204; unknown ids are skipped."""
        src, dst = types(request, "fromObjectType")
        for item in inputs_of(body):
            raw = str(end_id(item, "from")).strip()
            if not raw.isdigit() or store.resolve(src, int(raw), follow_merges=False) is None:
                continue
            to = item.get("to")
            for end in to if isinstance(to, list) else [to]:
                other = str((end or {}).get("id", "")).strip() if isinstance(end, dict) else ""
                if other.isdigit() and store.resolve(dst, int(other), follow_merges=False):
                    store.dissociate(int(raw), int(other))
        return no_content()

    def r(path: str, fn: Any, methods: list[str]) -> Route:
        return Route(path, endpoint(portal, fn), methods=methods)

    obj = "/crm/v4/objects"
    batch = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch"
    return [
        r(
            obj
            + "/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
            put_default,
            ["PUT"],
        ),
        r(
            obj + "/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
            put_labelled,
            ["PUT"],
        ),
        r(
            obj + "/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}",
            delete_pair,
            ["DELETE"],
        ),
        r(batch + "/associate/default", batch_default, ["POST"]),
        r(batch + "/create", batch_create, ["POST"]),
        r(batch + "/archive", batch_archive, ["POST"]),
        # HUBSPOT_DEFINED links carry no labels; removing "labels" removes the link (guess).
        r(batch + "/labels/archive", batch_archive, ["POST"]),
    ]
