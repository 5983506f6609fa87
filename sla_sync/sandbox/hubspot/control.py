"""HubSpot-specific control routes under ``/__sandbox/hubspot/`` (JSON, never authenticated).

- ``GET|POST /tokens``: list, or add ``{"token": str, "expires_in_seconds": n?}``.
- ``POST /tokens/{token}/expire`` and ``/tokens/{token}/revoke``.
- ``POST /bulk-touch``: ``{"count": n?, "ids": [...]?, "at": iso?}`` stamps that many live
  contacts (all when neither is given) with one identical ``lastmodifieddate`` / ``updatedAt``,
  the way HubSpot's background jobs do (the 10k-tie trap for timestamp-sorted sync loops).
- ``POST /merge``: ``{"primary": id, "merged": id}``.
- ``POST /archive``: ``{"type": t, "ids": [...]}``.
- ``GET|POST /options``: ``{"lenient_engagements": bool, "legacy_lifecycle_dates": bool,
  "max_groups"/"max_filters_per_group"/"max_filters_total"/"max_body_chars": n,
  "search_delay_seconds": s}``. A search delay makes created and updated records searchable
  only that many sandbox-clock seconds after the write (HubSpot's index lags; GET, list and batch
  read see writes at once); until then search misses new records and matches old values.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sla_sync.sandbox.app import error, json_body
from sla_sync.sandbox.clock import iso_millis
from sla_sync.sandbox.hubspot.portal import Portal, Token
from sla_sync.sandbox.hubspot.records import to_iso

LIMIT_KEYS = ("max_groups", "max_filters_per_group", "max_filters_total", "max_body_chars")


def routes(portal: Portal) -> list[Route]:
    """The control routes (mounted by the shell under ``/__sandbox/``)."""
    store = portal.store

    def token_view() -> dict[str, Any]:
        return {
            "tokens": [
                {
                    "token": name,
                    "expires_at": iso_millis(t.expires_at) if t.expires_at else None,
                    "revoked": t.revoked,
                }
                for name, t in portal.tokens.items()
            ]
        }

    async def tokens(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await json_body(request)
                name = str(body["token"])
                expires = body.get("expires_in_seconds")
                at = None
                if expires is not None:
                    at = portal.clock.now() + timedelta(seconds=float(expires))
                portal.tokens[name] = Token(expires_at=at)
            except (ValueError, KeyError, TypeError) as exc:
                return error(400, f"expected {{'token': str, 'expires_in_seconds'?: n}}: {exc}")
        return JSONResponse(token_view())

    async def token_action(request: Request) -> Response:
        state = portal.tokens.get(request.path_params["token"])
        if state is None:
            return error(404, "unknown token")
        if request.path_params["action"] == "expire":
            state.expires_at = portal.clock.now()
        elif request.path_params["action"] == "revoke":
            state.revoked = True
        else:
            return error(404, "action must be expire or revoke")
        return JSONResponse(token_view())

    async def bulk_touch(request: Request) -> Response:
        try:
            body = await json_body(request)
            at = to_iso(str(body["at"]), "datetime") if body.get("at") else portal.now()
            ids = {int(i) for i in body.get("ids") or []}
            count = body.get("count")
        except (ValueError, TypeError) as exc:
            return error(400, str(exc))
        touched = 0
        with store.lock:
            for rec in store.buckets["contacts"].live():
                if count is not None and touched >= int(count):
                    break
                if ids and rec.id not in ids:
                    continue
                store.touch(rec, at)
                touched += 1
        return JSONResponse({"touched": touched, "at": at})

    async def merge(request: Request) -> Response:
        try:
            body = await json_body(request)
            primary, loser = int(body["primary"]), int(body["merged"])
        except (ValueError, KeyError, TypeError) as exc:
            return error(400, f"expected {{'primary': id, 'merged': id}}: {exc}")
        with store.lock:
            a = store.resolve("contacts", primary, follow_merges=False)
            b = store.resolve("contacts", loser, follow_merges=False)
            if a is None or b is None or a is b:
                return error(404, "both contacts must exist and differ")
            store.merge(a, b, portal.now())
            merged = a.props.get("hs_merged_object_ids")
        return JSONResponse({"id": str(a.id), "hs_merged_object_ids": merged})

    async def archive(request: Request) -> Response:
        try:
            body = await json_body(request)
            t = portal.object_type(str(body.get("type", "contacts")))
            ids = [int(i) for i in body["ids"]]
        except Exception as exc:
            return error(400, str(exc))
        done = 0
        with store.lock:
            for rid in ids:
                rec = store.resolve(t, rid, follow_merges=False)
                if rec is not None and not rec.archived:
                    store.archive(rec, portal.now())
                    done += 1
        return JSONResponse({"archived": done})

    async def options(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            try:
                with store.lock:
                    if "lenient_engagements" in body:
                        store.lenient_engagements = bool(body["lenient_engagements"])
                    if "legacy_lifecycle_dates" in body:
                        store.legacy_lifecycle_dates = bool(body["legacy_lifecycle_dates"])
                    for key in LIMIT_KEYS:
                        if key in body:
                            setattr(portal.limits, key, int(body[key]))
                    if "search_delay_seconds" in body:
                        store.set_search_delay(float(body["search_delay_seconds"]))
            except (ValueError, TypeError) as exc:
                return error(400, str(exc))
        return JSONResponse(
            {
                "lenient_engagements": store.lenient_engagements,
                "legacy_lifecycle_dates": store.legacy_lifecycle_dates,
                "max_groups": portal.limits.max_groups,
                "max_filters_per_group": portal.limits.max_filters_per_group,
                "max_filters_total": portal.limits.max_filters_total,
                "max_body_chars": portal.limits.max_body_chars,
                "search_delay_seconds": store.search_delay_seconds,
            }
        )

    return [
        Route("/hubspot/tokens", tokens, methods=["GET", "POST"]),
        Route("/hubspot/tokens/{token}/{action}", token_action, methods=["POST"]),
        Route("/hubspot/bulk-touch", bulk_touch, methods=["POST"]),
        Route("/hubspot/merge", merge, methods=["POST"]),
        Route("/hubspot/archive", archive, methods=["POST"]),
        Route("/hubspot/options", options, methods=["GET", "POST"]),
    ]
