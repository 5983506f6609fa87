"""REST resources under ``/services/data/vXX.X/``: query/queryAll with locators, limits,
describe, sObject CRUD, get/upsert by external id (``sobjects/<type>/<Field>/<value>``: 201 +
``created: true`` / 200 + ``created: false`` (204 before API 46.0) / 300 with the matching
records' urls), getUpdated/getDeleted. Paths are served with and without a trailing slash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sla_sync.sandbox.salesforce import query as q
from sla_sync.sandbox.salesforce.soql import SoqlError
from sla_sync.sandbox.salesforce.state import MultipleMatches, RecordError
from sla_sync.sandbox.salesforce.values import parse_datetime, sf_datetime, to_json
from sla_sync.sandbox.salesforce.web import Call, Handler, api, sf_error

if TYPE_CHECKING:
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

B = "/services/data/v{version}"


def record_error(exc: RecordError, base: str = "/services/data/v59.0") -> Response:
    """A single-record failure as the REST API answers it (300: the matching records' urls)."""
    if isinstance(exc, MultipleMatches):
        return JSONResponse(
            [f"{base}/sobjects/{exc.sobject}/{sf_id}" for sf_id in exc.ids], status_code=300
        )
    return sf_error(exc.status, exc.code, exc.message, exc.fields)


def both(path: str, endpoint: Callable[..., Any], methods: list[str]) -> list[BaseRoute]:
    """``path`` with and without the trailing slash (the client uses both forms)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def routes(emu: SalesforceEmulator) -> list[BaseRoute]:
    """The REST routes; specific paths come before ``/sobjects/{sobject}/{record_id}``."""

    def page(
        call: Call, cursor: q.Cursor, offset: int, size: int, locator_id: str, total: int
    ) -> Response:
        rows = cursor.rows[offset : offset + size]
        end = offset + len(rows)
        done = end >= len(cursor.rows)
        next_url = None
        if not done:
            endpoint = "queryAll" if call.request.url.path.split("/")[4] == "queryAll" else "query"
            next_url = f"{call.base}/{endpoint}/{locator_id}-{end}"
        records = q.render_json(
            rows, cursor.sobject, cursor.columns, call.base, emu.org, cursor.children
        )
        return Response(q.page_body(total, done, next_url, records), media_type="application/json")

    def run_query(include_deleted: bool) -> Handler:
        async def handler(call: Call) -> Response:
            text = call.request.query_params.get("q")
            if not text:
                return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
            size = q.batch_size(call.request.headers.get("sforce-query-options"))
            now = emu.clock.now()
            with emu.lock:
                try:
                    prepared = q.prepare_cached(
                        emu.org, text, include_deleted=include_deleted, now=now
                    )
                except SoqlError as exc:
                    return sf_error(400, exc.code, exc.message)
                if prepared.count_only:
                    return JSONResponse(
                        {"totalSize": len(prepared.rows), "done": True, "records": []}
                    )
                cursor = q.Cursor(
                    prepared.rows,
                    prepared.schema.name,
                    prepared.columns,
                    call.session.user_id,
                    now,
                    prepared.children,
                )
                locator_id = emu.org.ids.new("01g")[:15]
                if len(prepared.rows) > size:
                    emu.cursors.open(cursor, locator_id)
                return page(call, cursor, 0, size, locator_id, len(prepared.rows))

        return handler

    async def query_more(call: Call) -> Response:
        locator = call.request.path_params["locator"]
        size = q.batch_size(call.request.headers.get("sforce-query-options"))
        with emu.lock:
            try:
                cursor, offset = emu.cursors.take(locator, emu.clock.now())
            except q.QueryError as exc:
                return sf_error(400, exc.code, exc.message)
            return page(call, cursor, offset, size, locator.rpartition("-")[0], len(cursor.rows))

    async def limits(call: Call) -> Response:
        with emu.lock:
            return JSONResponse(emu.limits.resource(emu.clock.now()))

    async def global_describe(call: Call) -> Response:
        with emu.lock:
            objects = [s.summary(call.base) for s in emu.org.schemas.values()]
        return JSONResponse({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})

    async def sobject_root(call: Call) -> Response:
        name = call.request.path_params["sobject"]
        if call.request.method == "GET":
            with emu.lock:
                schema = emu.org.schema(name)
                if schema is None:
                    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
                return JSONResponse(
                    {"objectDescribe": schema.summary(call.base), "recentItems": []}
                )
        body = await call.json()
        if not isinstance(body, dict):
            return sf_error(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from request body"
            )
        with emu.lock:
            try:
                new_id = emu.org.create(
                    name,
                    body,
                    user_id=call.session.user_id,
                    now=emu.clock.now(),
                    auto_assign=call.auto_assign(),
                )
            except RecordError as exc:
                return record_error(exc)
        return JSONResponse({"id": new_id, "success": True, "errors": []}, status_code=201)

    async def describe(call: Call) -> Response:
        with emu.lock:
            schema = emu.org.schema(call.request.path_params["sobject"])
            if schema is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            return JSONResponse(schema.describe(call.base))

    async def record(call: Call) -> Response:
        name, raw_id = call.request.path_params["sobject"], call.request.path_params["record_id"]
        method = call.request.method
        body = await call.json() if method == "PATCH" else None
        with emu.lock:
            now = emu.clock.now()
            try:
                if method == "GET":
                    schema, rec = emu.org.get_live(name, raw_id)
                    wanted = call.request.query_params.get("fields")
                    names = (
                        [f.strip() for f in wanted.split(",")] if wanted else list(schema.fields)
                    )
                    out: dict[str, Any] = {
                        "attributes": {
                            "type": schema.name,
                            "url": f"{call.base}/sobjects/{schema.name}/{rec['Id']}",
                        }
                    }
                    for field_name in names:
                        fdef = schema.field(field_name)
                        if fdef is None:
                            return sf_error(
                                400,
                                "INVALID_FIELD",
                                f"No such column '{field_name}' on sobject of type {schema.name}",
                            )
                        out[fdef.name] = to_json(rec.get(fdef.name))
                    return JSONResponse(out)
                if method == "PATCH":
                    if not isinstance(body, dict):
                        return sf_error(
                            400,
                            "JSON_PARSER_ERROR",
                            "Cannot deserialize instance of sObject from request body",
                        )
                    emu.org.update(
                        name,
                        raw_id,
                        body,
                        user_id=call.session.user_id,
                        now=now,
                        auto_assign=call.auto_assign(),
                    )
                else:
                    emu.org.delete(name, raw_id, user_id=call.session.user_id, now=now)
            except RecordError as exc:
                return record_error(exc)
        return Response(status_code=204)

    async def by_external_id(call: Call) -> Response:
        params = call.request.path_params
        name, field_name, value = params["sobject"], params["field"], params["value"]
        method = call.request.method
        body = await call.json() if method == "PATCH" else None
        if method == "PATCH" and not isinstance(body, dict):
            return sf_error(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from request body"
            )
        with emu.lock:
            try:
                if method == "GET":
                    schema = emu.org.require_schema(name)
                    fdef = schema.field(field_name)
                    if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                        raise RecordError(
                            "NOT_FOUND",
                            "Provided external ID field does not exist or is not accessible: "
                            + field_name,
                            status=404,
                        )
                    if fdef.name == "Id":
                        _, rec = emu.org.get_live(schema.name, value)
                    else:
                        found = [
                            r
                            for r in emu.org.records[schema.name].values()
                            if not r["IsDeleted"]
                            and isinstance(r.get(fdef.name), str)
                            and r[fdef.name].lower() == value.lower()
                        ]
                        if len(found) > 1:
                            raise MultipleMatches(schema.name, [r["Id"] for r in found])
                        if not found:
                            raise RecordError(
                                "NOT_FOUND", "The requested resource does not exist", status=404
                            )
                        rec = found[0]
                    out: dict[str, Any] = {
                        "attributes": {
                            "type": schema.name,
                            "url": f"{call.base}/sobjects/{schema.name}/{rec['Id']}",
                        }
                    }
                    out.update({f: to_json(rec.get(f)) for f in schema.fields})
                    return JSONResponse(out)
                assert isinstance(body, dict)
                sf_id, created = emu.org.upsert(
                    name,
                    field_name,
                    value,
                    body,
                    user_id=call.session.user_id,
                    now=emu.clock.now(),
                    auto_assign=call.auto_assign(),
                )
            except RecordError as exc:
                return record_error(exc, call.base)
        if not created and float(call.version) < 46.0:
            return Response(status_code=204)  # before API 46.0 an upsert-update had no body
        return JSONResponse(
            {"id": sf_id, "success": True, "errors": [], "created": created},
            status_code=201 if created else 200,
        )

    def changes(kind: str) -> Handler:
        async def handler(call: Call) -> Response:
            params = call.request.query_params
            try:
                start, end = parse_datetime(params["start"]), parse_datetime(params["end"])
            except (KeyError, ValueError):
                return sf_error(
                    400, "INVALID_REPLICATION_DATE", "start and end must be valid dateTimes"
                )
            with emu.lock:
                now = emu.clock.now()
                schema = emu.org.schema(call.request.path_params["sobject"])
                if schema is None:
                    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
                horizon = now - timedelta(days=15 if kind == "deleted" else 30)
                if start < horizon:
                    return sf_error(
                        400,
                        "INVALID_REPLICATION_DATE",
                        "startDate before org replication enabled date",
                    )
                end = min(end, now).replace(second=0, microsecond=0)
                rows = [
                    r
                    for r in emu.org.records[schema.name].values()
                    if start <= r["SystemModstamp"] < end
                    and bool(r["IsDeleted"]) == (kind == "deleted")
                ]
            if kind == "deleted":
                return JSONResponse(
                    {
                        "deletedRecords": [
                            {"id": r["Id"], "deletedDate": sf_datetime(r["SystemModstamp"])}
                            for r in rows
                        ],
                        "earliestDateAvailable": sf_datetime(horizon),
                        "latestDateCovered": sf_datetime(end),
                    }
                )
            return JSONResponse(
                {"ids": [r["Id"] for r in rows], "latestDateCovered": sf_datetime(end)}
            )

        return handler

    return [
        *both(f"{B}/query", api(emu, run_query(False)), ["GET"]),
        *both(f"{B}/queryAll", api(emu, run_query(True)), ["GET"]),
        Route(f"{B}/query/{{locator}}", api(emu, query_more), methods=["GET"]),
        Route(f"{B}/queryAll/{{locator}}", api(emu, query_more), methods=["GET"]),
        *both(f"{B}/limits", api(emu, limits), ["GET"]),
        *both(f"{B}/sobjects", api(emu, global_describe), ["GET"]),
        *both(f"{B}/sobjects/{{sobject}}/describe", api(emu, describe), ["GET"]),
        *both(f"{B}/sobjects/{{sobject}}/deleted", api(emu, changes("deleted")), ["GET"]),
        *both(f"{B}/sobjects/{{sobject}}/updated", api(emu, changes("updated")), ["GET"]),
        *both(f"{B}/sobjects/{{sobject}}", api(emu, sobject_root), ["GET", "POST"]),
        *both(
            f"{B}/sobjects/{{sobject}}/{{record_id}}", api(emu, record), ["GET", "PATCH", "DELETE"]
        ),
        *both(
            f"{B}/sobjects/{{sobject}}/{{field}}/{{value}}",
            api(emu, by_external_id),
            ["GET", "PATCH"],
        ),
    ]
