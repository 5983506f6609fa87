# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""sObject Collections (``composite/sobjects``), Tooling ``CustomField`` create, Bulk API 2.0
query jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from sla_sync.sandbox.salesforce import bulk
from sla_sync.sandbox.salesforce import query as q
from sla_sync.sandbox.salesforce.routes_rest import B, both, record_error
from sla_sync.sandbox.salesforce.soql import SoqlError
from sla_sync.sandbox.salesforce.state import Record, RecordError
from sla_sync.sandbox.salesforce.web import Call, api, sf_error

if TYPE_CHECKING:
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

MAX_COLLECTION = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def _failure(exc: RecordError) -> dict[str, Any]:
    return {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}


def routes(emu: SalesforceEmulator) -> list[BaseRoute]:
    """The collections, tooling and Bulk 2.0 query routes."""

    async def collection(call: Call) -> Response:
        method = call.request.method
        if method == "DELETE":
            raw_ids = [i for i in call.request.query_params.get("ids", "").split(",") if i]
            all_or_none = call.request.query_params.get("allOrNone", "false").lower() == "true"
            records: list[Any] = [{"id": i} for i in raw_ids]
        else:
            body = await call.json()
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                return sf_error(
                    400,
                    "JSON_PARSER_ERROR",
                    "Cannot deserialize instance of collection from request body",
                )
            records, all_or_none = body["records"], bool(body.get("allOrNone", False))
        if len(records) > MAX_COLLECTION:
            return sf_error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        with emu.lock:
            # allOrNone rollback: remember each touched record's prior state and every table's size
            # (inserts, history rows included, append to the end of the insertion-ordered dicts).
            sizes = {name: len(recs) for name, recs in emu.org.records.items()}
            before: dict[str, Record] = {}
            results: list[dict[str, Any]] = []
            failed = False
            now, user, assign = emu.clock.now(), call.session.user_id, call.auto_assign()
            for item in records:
                result_id: str | None = item.get("id") if isinstance(item, dict) else None
                try:
                    if not isinstance(item, dict):
                        raise RecordError("INVALID_FIELD", "record must be an object")
                    obj = str((item.get("attributes") or {}).get("type") or "")
                    payload = {k: v for k, v in item.items() if k not in ("attributes", "id")}
                    if method == "POST":
                        if not obj:
                            raise RecordError(
                                "INVALID_TYPE", "sObject type is required in attributes"
                            )
                        if "id" in item:
                            raise RecordError(
                                "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                            )
                        result_id = emu.org.create(
                            obj, payload, user_id=user, now=now, auto_assign=assign
                        )
                    elif method == "PATCH":
                        if all_or_none:
                            _remember(before, emu.org.lookup(str(result_id or "")))
                        if not result_id:
                            raise RecordError(
                                "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                            )
                        obj = obj or emu.org.object_of(result_id) or ""
                        emu.org.update(
                            obj, result_id, payload, user_id=user, now=now, auto_assign=assign
                        )
                    else:
                        if all_or_none:
                            _remember(before, emu.org.lookup(str(result_id or "")))
                        obj = emu.org.object_of(str(result_id)) or ""
                        emu.org.delete(obj, str(result_id), user_id=user, now=now)
                    results.append({"id": result_id, "success": True, "errors": []})
                except RecordError as exc:
                    failed = True
                    entry: dict[str, Any] = {"success": False, "errors": [_failure(exc)]}
                    if method != "POST":
                        entry = {"id": result_id, **entry}
                    results.append(entry)
            if all_or_none and failed:
                _rollback(emu, sizes, before)
                results = [
                    r
                    if not r["success"]
                    else {
                        "id": None if method == "POST" else r["id"],
                        "success": False,
                        "errors": [ROLLED_BACK],
                    }
                    for r in results
                ]
        return JSONResponse(results)

    async def custom_field(call: Call) -> Response:
        body = await call.json()
        if (
            not isinstance(body, dict)
            or not body.get("FullName")
            or not isinstance(body.get("Metadata"), dict)
        ):
            return sf_error(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [FullName, Metadata]",
                ["FullName"],
            )
        with emu.lock:
            try:
                new_id = emu.org.add_custom_field(str(body["FullName"]), body["Metadata"])
            except RecordError as exc:
                return record_error(exc)
        return JSONResponse(
            {"id": new_id, "success": True, "errors": [], "warnings": [], "infos": []},
            status_code=201,
        )

    async def create_job(call: Call) -> Response:
        body = await call.json()
        if (
            not isinstance(body, dict)
            or body.get("operation") not in ("query", "queryAll")
            or not body.get("query")
        ):
            return sf_error(400, "INVALIDJOB", "InvalidJob : operation and query are required")
        with emu.lock:
            now = emu.clock.now()
            try:
                prepared = q.prepare(
                    emu.org,
                    str(body["query"]),
                    include_deleted=body["operation"] == "queryAll",
                    now=now,
                )
            except SoqlError as exc:
                return sf_error(400, "INVALIDJOB", f"{exc.code}: {exc.message}")
            if prepared.count_only:
                return sf_error(
                    400, "INVALIDJOB", "InvalidJob : COUNT() is not supported by Bulk API 2.0 query"
                )
            if prepared.children:
                return sf_error(
                    400,
                    "INVALIDJOB",
                    "InvalidJob : Bulk API 2.0 query does not support nested queries",
                )
            rows = [
                [bulk.csv_cell(col.getter(r)) for col in prepared.columns] for r in prepared.rows
            ]
            job = bulk.QueryJob(
                id=emu.org.ids.new("750"),
                operation=str(body["operation"]),
                query=str(body["query"]),
                sobject=prepared.schema.name,
                created_by=call.session.user_id,
                created=now,
                columns=prepared.columns,
                rows=rows,
            )
            emu.jobs[job.id] = job
            info = job.info(call.version)
        return JSONResponse(info)

    def find(call: Call) -> bulk.QueryJob | None:
        return emu.jobs.get(call.request.path_params["job_id"])

    async def job(call: Call) -> Response:
        body = await call.json() if call.request.method == "PATCH" else None
        with emu.lock:
            found = find(call)
            if found is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if call.request.method == "DELETE":
                del emu.jobs[found.id]
                return Response(status_code=204)
            if (
                call.request.method == "PATCH"
                and isinstance(body, dict)
                and body.get("state") == "Aborted"
                and found.state != "JobComplete"
            ):
                found.state = "Aborted"
            return JSONResponse(found.info(call.version))

    async def results(call: Call) -> Response:
        params = call.request.query_params
        with emu.lock:
            found = find(call)
            if found is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if found.state != "JobComplete":
                found.info(
                    call.version
                )  # a result fetch after creation completes the job, as polling does
            try:
                max_records = int(params.get("maxRecords", bulk.DEFAULT_MAX_RECORDS))
                offset = bulk.decode_locator(params["locator"]) if params.get("locator") else 0
            except ValueError:
                return sf_error(400, "INVALIDLOCATOR", "Invalid locator")
            text, locator, count = bulk.render_page(found, offset, max(1, max_records))
        return Response(
            text,
            media_type="text/csv",
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)},
        )

    async def list_jobs(call: Call) -> Response:
        with emu.lock:
            infos = [j.info(call.version) for j in emu.jobs.values()]
        return JSONResponse({"done": True, "records": infos, "nextRecordsUrl": None})

    async def create_or_list(call: Call) -> Response:
        return await (create_job(call) if call.request.method == "POST" else list_jobs(call))

    return [
        *both(f"{B}/composite/sobjects", api(emu, collection), ["POST", "PATCH", "DELETE"]),
        *both(f"{B}/tooling/sobjects/CustomField", api(emu, custom_field), ["POST"]),
        *both(f"{B}/jobs/query", api(emu, create_or_list), ["POST", "GET"]),
        *both(f"{B}/jobs/query/{{job_id}}/results", api(emu, results), ["GET"]),
        *both(f"{B}/jobs/query/{{job_id}}", api(emu, job), ["GET", "PATCH", "DELETE"]),
    ]


def _remember(before: dict[str, Record], record: Record | None) -> None:
    if record is not None and record["Id"] not in before:
        before[record["Id"]] = dict(record)


def _rollback(emu: SalesforceEmulator, sizes: dict[str, int], before: dict[str, Record]) -> None:
    """Undo a failed allOrNone call: drop rows added since ``sizes``, restore ``before``."""
    for name, recs in emu.org.records.items():
        for key in list(recs)[sizes.get(name, 0) :]:
            del recs[key]
    for sf_id, saved in before.items():
        current = emu.org.lookup(sf_id)
        if current is not None:
            current.clear()
            current.update(saved)
    emu.org.invalidate_all()
