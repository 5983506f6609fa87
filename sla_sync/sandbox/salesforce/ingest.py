"""Bulk API 2.0 ingest jobs (``B/jobs/ingest``), as ``sf.bulk2.<Object>.insert/update/upsert/
delete`` drive them: create (``state: "Open"``), ``PUT .../batches`` with CSV (201),
``PATCH {"state": "UploadComplete"}`` (the rows are processed then, each through the org so the
query caches stay right), job info (``JobComplete`` from the next read), and the
``successfulResults`` / ``failedResults`` / ``unprocessedRecords`` CSVs.

CSV cells: empty means "leave unchanged", ``#N/A`` means null; ``true``/``false`` and numbers are
converted by the field's type. ``hardDelete`` is refused (the sandbox user lacks the permission).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from sla_sync.sandbox.salesforce.routes_rest import B, both
from sla_sync.sandbox.salesforce.schema import ObjectSchema
from sla_sync.sandbox.salesforce.state import Org, RecordError
from sla_sync.sandbox.salesforce.values import sf_datetime
from sla_sync.sandbox.salesforce.web import Call, api, sf_error

if TYPE_CHECKING:
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

OPERATIONS = frozenset({"insert", "update", "upsert", "delete"})
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "SEMICOLON": ";",
    "PIPE": "|",
    "CARET": "^",
    "BACKQUOTE": "`",
}


@dataclass
class IngestJob:
    id: str
    operation: str
    sobject: str
    created_by: str
    created: datetime
    external_id_field: str | None = None
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    modified: datetime | None = None
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None
    polled: bool = False

    def info(self, api_version: str, *, poll: bool = False) -> dict[str, Any]:
        """Job info; a poll after ``UploadComplete`` sees ``JobComplete`` (rows are done)."""
        if poll and self.state == "UploadComplete":
            if self.polled:
                self.state = "JobComplete"
            self.polled = True
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.modified or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(api_version),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if self.error_message:
            body["errorMessage"] = self.error_message
        if self.state in ("UploadComplete", "InProgress", "JobComplete", "Failed"):
            body.update(
                numberRecordsProcessed=len(self.successful) + len(self.failed),
                numberRecordsFailed=len(self.failed),
                retries=0,
                totalProcessingTime=5,
                apiActiveProcessingTime=4,
                apexProcessingTime=0,
            )
        return body

    def results_csv(self, kind: str) -> str:
        """``successfulResults`` / ``failedResults`` / ``unprocessedRecords`` as CSV text."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *self.header])
            writer.writerows(self.successful)
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *self.header])
            writer.writerows(self.failed)
        else:
            writer.writerow(self.header)
            writer.writerows(self.unprocessed)
        return buffer.getvalue()


def _cell(schema: ObjectSchema, name: str, raw: str) -> Any:
    """A CSV cell as the JSON-ish value :func:`values.coerce` expects."""
    if raw == "#N/A":
        return None
    fdef = schema.field(name)
    kind = fdef.type if fdef is not None else "string"
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        return raw
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind in ("double", "currency", "percent"):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def process(job: IngestJob, org: Org, *, user_id: str, now: datetime) -> None:
    """Run every uploaded row through the org; fills the result lists."""
    schema = org.require_schema(job.sobject)
    delimiter = DELIMITERS.get(job.column_delimiter, ",")
    for chunk in job.data:
        reader = csv.reader(io.StringIO(chunk), delimiter=delimiter)
        rows = list(reader)
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        if not job.header:
            job.header = header
        for values in body:
            if not any(values):
                continue
            row = dict(zip(header, values, strict=False))
            out = [row.get(h, "") for h in job.header]
            fields = {k: _cell(schema, k, v) for k, v in row.items() if v != "" and k != "Id"}
            given_id = row.get("Id", "")
            try:
                if job.operation == "insert":
                    sf_id, created = org.create(schema.name, fields, user_id=user_id, now=now), True
                elif job.operation == "update":
                    if not given_id:
                        raise RecordError(
                            "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                        )
                    org.update(schema.name, given_id, fields, user_id=user_id, now=now)
                    sf_id, created = org.get_live(schema.name, given_id)[1]["Id"], False
                elif job.operation == "delete":
                    org.delete(schema.name, given_id, user_id=user_id, now=now)
                    sf_id, created = org.get_any(schema.name, given_id)[1]["Id"], False
                else:
                    ext = str(job.external_id_field)
                    value = next((v for k, v in row.items() if k.lower() == ext.lower()), "")
                    if not value and ext == "Id":
                        sf_id = org.create(schema.name, fields, user_id=user_id, now=now)
                        job.successful.append([sf_id, "true", *out])
                        continue
                    if not value:
                        raise RecordError("MISSING_ARGUMENT", f"{ext} not specified", [ext])
                    rest = {k: v for k, v in fields.items() if k.lower() != ext.lower()}
                    if ext == "Id":
                        org.update(schema.name, value, rest, user_id=user_id, now=now)
                        sf_id, created = org.get_live(schema.name, value)[1]["Id"], False
                    else:
                        sf_id, created = org.upsert(
                            schema.name, ext, value, rest, user_id=user_id, now=now
                        )
            except RecordError as exc:
                error = f"{exc.code}:{exc.message}:{','.join(exc.fields)} --"
                job.failed.append([given_id, error, *out])
                continue
            job.successful.append([sf_id, "true" if created else "false", *out])


def routes(emu: SalesforceEmulator) -> list[BaseRoute]:
    """The ``jobs/ingest`` routes."""

    def find(call: Call) -> IngestJob | None:
        return emu.ingest_jobs.get(call.request.path_params["job_id"])

    async def create_or_list(call: Call) -> Response:
        if call.request.method == "GET":
            with emu.lock:
                infos = [j.info(call.version) for j in emu.ingest_jobs.values()]
            return JSONResponse({"done": True, "records": infos, "nextRecordsUrl": None})
        body = await call.json()
        if not isinstance(body, dict) or not body.get("object"):
            return sf_error(400, "INVALIDJOB", "InvalidJob : object is required")
        operation = body.get("operation")
        if operation == "hardDelete":
            return sf_error(
                400,
                "FEATURE_NOT_ENABLED",
                "Your user does not have the Bulk API Hard Delete permission",
            )
        if operation not in OPERATIONS:
            return sf_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        if body.get("contentType", "CSV") != "CSV":
            return sf_error(400, "INVALIDJOB", "InvalidJob : contentType must be CSV")
        with emu.lock:
            schema = emu.org.schema(str(body["object"]))
            if schema is None:
                return sf_error(
                    400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body['object']}"
                )
            ext = body.get("externalIdFieldName")
            if operation == "upsert":
                fdef = schema.field(str(ext or ""))
                if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                    return sf_error(
                        400,
                        "INVALIDJOB",
                        f"InvalidJob : Field name provided, {ext} does not match an External ID, "
                        f"Salesforce Id, or indexed field for {schema.name}",
                    )
                ext = fdef.name
            job = IngestJob(
                id=emu.org.ids.new("750"),
                operation=str(operation),
                sobject=schema.name,
                created_by=call.session.user_id,
                created=emu.clock.now(),
                external_id_field=str(ext) if operation == "upsert" else None,
                column_delimiter=str(body.get("columnDelimiter", "COMMA")),
                line_ending=str(body.get("lineEnding", "LF")),
            )
            emu.ingest_jobs[job.id] = job
            return JSONResponse(job.info(call.version))

    async def batches(call: Call) -> Response:
        data = (await call.request.body()).decode("utf-8-sig")
        with emu.lock:
            job = find(call)
            if job is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if job.state != "Open":
                return sf_error(409, "INVALIDJOBSTATE", f"Job is not in Open state: {job.state}")
            if not data.strip():
                return sf_error(400, "INVALIDJOB", "InvalidJob : empty upload")
            job.data.append(data)
        return Response(status_code=201)

    async def job_route(call: Call) -> Response:
        method = call.request.method
        body = await call.json() if method == "PATCH" else None
        with emu.lock:
            job = find(call)
            if job is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            now = emu.clock.now()
            if method == "DELETE":
                if job.state in ("Open", "UploadComplete", "InProgress"):
                    return sf_error(
                        400, "INVALIDJOBSTATE", "Job must be closed, aborted or complete"
                    )
                del emu.ingest_jobs[job.id]
                return Response(status_code=204)
            if method == "GET":
                return JSONResponse(job.info(call.version, poll=True))
            state = body.get("state") if isinstance(body, dict) else None
            if state == "UploadComplete" and job.state == "Open":
                job.state, job.modified = "UploadComplete", now
                try:
                    process(job, emu.org, user_id=call.session.user_id, now=now)
                except RecordError as exc:
                    job.state, job.error_message = "Failed", exc.message
            elif state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
                job.state, job.modified = "Aborted", now
            else:
                return sf_error(
                    400,
                    "INVALIDJOBSTATE",
                    f"Cannot change the job state from {job.state} to {state}",
                )
            return JSONResponse(job.info(call.version))

    async def results(call: Call) -> Response:
        kind = call.request.path_params["kind"]
        if kind not in ("successfulResults", "failedResults", "unprocessedRecords"):
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        with emu.lock:
            job = find(call)
            if job is None:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if kind != "unprocessedRecords" and job.state not in ("JobComplete", "UploadComplete"):
                return sf_error(400, "INVALIDJOBSTATE", f"Job is not complete: {job.state}")
            text = job.results_csv(kind)
        return Response(text, media_type="text/csv")

    return [
        *both(f"{B}/jobs/ingest", api(emu, create_or_list), ["POST", "GET"]),
        *both(f"{B}/jobs/ingest/{{job_id}}/batches", api(emu, batches), ["PUT"]),
        *both(f"{B}/jobs/ingest/{{job_id}}/{{kind}}", api(emu, results), ["GET"]),
        *both(f"{B}/jobs/ingest/{{job_id}}", api(emu, job_route), ["GET", "PATCH", "DELETE"]),
    ]
