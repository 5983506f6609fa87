"""Bulk API 2.0 query jobs: created ``UploadComplete``, answered ``JobComplete`` on the next read,
results as CSV pages with ``Sforce-Locator`` (the literal ``null`` on the last page) and
``Sforce-NumberOfRecords``. Results are a snapshot taken when the job is created.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sla_sync.sandbox.salesforce.query import Column
from sla_sync.sandbox.salesforce.values import sf_datetime

DEFAULT_MAX_RECORDS = 50_000


@dataclass
class QueryJob:
    id: str
    operation: str
    query: str
    sobject: str
    created_by: str
    created: datetime
    columns: list[Column]
    rows: list[list[str]]
    state: str = "UploadComplete"
    polled: bool = False

    def info(self, api_version: str) -> dict[str, Any]:
        """The job-info JSON (``GET jobs/query/{id}``); the first read completes the job."""
        if self.state == "UploadComplete" and self.polled:
            self.state = "JobComplete"
        self.polled = True
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(api_version),
            "jobType": "V2Query",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if self.state == "JobComplete":
            body.update(numberRecordsProcessed=len(self.rows), retries=0, totalProcessingTime=5)
        return body


def csv_cell(value: Any) -> str:
    """A value as a Bulk 2.0 CSV cell (empty for null, ``...000Z`` for dateTimes)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        return text + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render_page(job: QueryJob, offset: int, max_records: int) -> tuple[str, str, int]:
    """``(csv_text, next_locator_or_"null", number_of_records)`` for one results page."""
    page = job.rows[offset : offset + max_records]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([".".join(c.path) for c in job.columns])
    writer.writerows(page)
    end = offset + len(page)
    locator = encode_locator(end) if end < len(job.rows) else "null"
    return buffer.getvalue(), locator, len(page)


def encode_locator(offset: int) -> str:
    """Opaque locator text (Salesforce's are base64-ish too)."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    """Offset for a locator. Raises ``ValueError`` for a locator this service did not issue."""
    padded = locator + "=" * (-len(locator) % 4)
    return int(base64.urlsafe_b64decode(padded.encode()).decode())
