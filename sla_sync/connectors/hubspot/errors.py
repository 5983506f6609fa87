"""HubSpot failures -> sla-sync's error tiers: the one place that reads HTTP statuses.

:func:`classify` turns whatever a ``hubspot-api-client`` call raised (an ``ApiException`` of
any generated package, a urllib3 timeout or connection error) into an :class:`HttpFailure`;
:func:`retry_decision` says whether the client's retry layer may try again and how long to
wait; :func:`to_connector_error` gives the tier the rest of sla-sync sees
(:mod:`sla_sync.connectors.base`). Messages name the connection and the operation, never a
credential (:func:`redact` scrubs the token from anything echoed back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import urllib3.exceptions

from sla_sync.connectors.base import (
    AuthenticationError,
    ConnectorError,
    FatalConnectorError,
    QuotaExhaustedError,
    RetriableConnectorError,
    SkippableRecordError,
)
from sla_sync.connectors.ratelimit import RetryDecision

# Backoff scales (x the policy's base): HubSpot's Node SDK waits 1 s x n for the search
# "secondly" limit and 10 s x n for TEN_SECONDLY_ROLLING; 423 asks for at least 2 s.
SCALE_SECONDLY = 2.0
SCALE_TEN_SECONDLY = 10.0
SCALE_LOCKED = 4.0
SECONDLY_MESSAGE = "secondly limit"


class Kind(StrEnum):
    """What went wrong, as far as retrying is concerned."""

    RATE_LIMIT = "rate_limit"  # 429 TEN_SECONDLY_ROLLING (or an unnamed 429 policy)
    SECONDLY = "secondly"  # 429 of search's per-second limit
    DAILY = "daily"  # 429 DAILY: nothing more today
    LOCKED = "locked"  # 423: too many writes in a burst
    SERVER = "server"  # 5xx, 477 (account migrating)
    TIMEOUT = "timeout"  # read timeout: the request may have been processed
    CONNECT = "connect"  # no connection made (refused, connect timeout): nothing was sent
    CONNECTION = "connection"  # connection dropped mid-exchange
    AUTH = "auth"  # 401
    FORBIDDEN = "forbidden"  # 403 (missing scopes)
    NOT_FOUND = "not_found"  # 404
    CONFLICT = "conflict"  # 409
    INVALID = "invalid"  # 400 and other 4xx: the CRM refuses the request as sent
    TLS = "tls"  # certificate verification failed
    UNEXPECTED = "unexpected"  # unreadable answer (client status 0)


RETRIABLE = frozenset(
    {
        Kind.RATE_LIMIT,
        Kind.SECONDLY,
        Kind.LOCKED,
        Kind.SERVER,
        Kind.TIMEOUT,
        Kind.CONNECT,
        Kind.CONNECTION,
    }
)
# Failures where HubSpot did not process the request: safe to retry even a non-idempotent create.
NOT_PROCESSED = frozenset({Kind.RATE_LIMIT, Kind.SECONDLY, Kind.LOCKED, Kind.CONNECT})


@dataclass(frozen=True, slots=True)
class HttpFailure:
    """One failed HubSpot call, vendor details kept for the message."""

    kind: Kind
    status: int | None
    message: str
    category: str | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    body: Mapping[str, Any] | None = None

    @property
    def retriable(self) -> bool:
        """Whether trying again later may succeed."""
        return self.kind in RETRIABLE


def is_api_exception(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``ApiException`` of any of the SDK's generated packages (each has
    its own class, so ``isinstance`` against one would miss the others)."""
    return any(
        c.__name__ == "ApiException" and c.__module__.startswith("hubspot.")
        for c in type(exc).__mro__
    )


def _body(raw: Any) -> Mapping[str, Any] | None:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (HubSpot sends seconds when it sends it at all; an HTTP date
    form is not used by HubSpot and is ignored)."""
    raw = headers.get("retry-after") if headers else None
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def classify(exc: BaseException) -> HttpFailure | None:
    """The failure ``exc`` stands for, or None when it is not an HTTP failure (a programming
    error, which must propagate as is)."""
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return _classify_transport(exc)
    context = exc.__context__
    if isinstance(exc, AttributeError) and context is not None and is_api_exception(context):
        # hubspot-api-client decodes the body of every ApiException it catches; the status-0
        # one it raises for a TLS failure has none, so the caller sees this AttributeError.
        return classify(context)
    if not is_api_exception(exc):
        return None
    status = int(getattr(exc, "status", 0) or 0)
    raw_headers = getattr(exc, "headers", None) or {}
    # Header names are case-insensitive (and arrive lower-cased over HTTP/1.1 from many servers).
    headers = {str(k).lower(): str(v) for k, v in dict(raw_headers).items()}
    body = _body(getattr(exc, "body", None))
    message = str((body or {}).get("message") or getattr(exc, "reason", "") or "")
    category = (body or {}).get("category") or (body or {}).get("errorType")
    retry_after = _retry_after(headers)
    common: dict[str, Any] = {
        "status": status,
        "message": message,
        "category": str(category) if category else None,
        "retry_after": retry_after,
        "headers": headers,
        "body": body,
    }
    return HttpFailure(kind=_kind(status, body, message), **common)


def _kind(status: int, body: Mapping[str, Any] | None, message: str) -> Kind:
    if status == 0:
        # The SDK reports TLS failures and unreadable answers as ApiException(status=0).
        return Kind.TLS if message.startswith("SSLError") else Kind.UNEXPECTED
    if status == 429:
        policy = str((body or {}).get("policyName") or "").upper()
        if policy == "DAILY":
            return Kind.DAILY
        if policy == "SECONDLY" or SECONDLY_MESSAGE in message.lower():
            return Kind.SECONDLY
        return Kind.RATE_LIMIT
    if status == 423:
        return Kind.LOCKED
    if status >= 500 or status == 477:
        return Kind.SERVER
    return {
        401: Kind.AUTH,
        403: Kind.FORBIDDEN,
        404: Kind.NOT_FOUND,
        409: Kind.CONFLICT,
    }.get(status, Kind.INVALID)


def _classify_transport(exc: urllib3.exceptions.HTTPError) -> HttpFailure:
    if isinstance(exc, urllib3.exceptions.SSLError):
        return HttpFailure(Kind.TLS, None, f"TLS error: {exc}")
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):  # incl. NewConnectionError
        return HttpFailure(Kind.CONNECT, None, f"could not connect: {type(exc).__name__}")
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return HttpFailure(Kind.TIMEOUT, None, f"timed out: {type(exc).__name__}")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return (
            _classify_transport(exc.reason)
            if isinstance(exc.reason, urllib3.exceptions.HTTPError)
            else HttpFailure(Kind.CONNECTION, None, f"connection failed: {exc.reason!r}")
        )
    return HttpFailure(Kind.CONNECTION, None, f"connection failed: {type(exc).__name__}")


def retry_decision(failure: HttpFailure, *, idempotent: bool = True) -> RetryDecision:
    """Whether the retry layer may try ``failure``'s call again, and the backoff scale.

    A non-idempotent call (creating a record) is retried only when HubSpot did not process it
    (429, 423, no connection): after a 5xx or a read timeout the write may have happened.
    """
    if not failure.retriable or (not idempotent and failure.kind not in NOT_PROCESSED):
        return RetryDecision(retry=False)
    scale = {
        Kind.SECONDLY: SCALE_SECONDLY,
        Kind.RATE_LIMIT: SCALE_TEN_SECONDLY,
        Kind.LOCKED: SCALE_LOCKED,
    }.get(failure.kind, 1.0)
    return RetryDecision(retry=True, scale=scale, retry_after=failure.retry_after)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longer than 3 characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) > 3:
            text = text.replace(secret, "***")
    return text


def describe(failure: HttpFailure) -> str:
    """``"429 RATE_LIMITS: You have reached ..."``: status, category and HubSpot's message."""
    parts = [str(failure.status)] if failure.status else []
    if failure.category:
        parts.append(failure.category)
    head = " ".join(parts)
    return f"{head}: {failure.message}" if head else failure.message


def to_connector_error(
    failure: HttpFailure,
    *,
    connection: str,
    operation: str,
    secrets: Iterable[str] = (),
    record_id: str | None = None,
    attempts: int = 1,
) -> ConnectorError:
    """The sla-sync error tier for ``failure`` of ``operation`` on ``connection``.

    401 -> :class:`AuthenticationError` (call this only once the token was re-read);
    403, 400, 409, TLS, unreadable answers -> :class:`FatalConnectorError`; 429 DAILY ->
    :class:`QuotaExhaustedError`; 404 -> :class:`SkippableRecordError` when the call was about
    one record (``record_id``), else fatal; everything retriable ->
    :class:`RetriableConnectorError` (the caller's retries are spent).
    """
    where = f"HubSpot connection '{connection}', {operation}"
    detail = redact(describe(failure), secrets)
    kind = failure.kind
    error: ConnectorError
    if kind is Kind.AUTH:
        error = AuthenticationError(
            f"{where}: HubSpot refused the access token ({detail}); it was re-read from its "
            "source and is still refused: rotate or fix the secret",
            status=failure.status,
        )
    elif kind is Kind.FORBIDDEN:
        error = FatalConnectorError(
            f"{where}: the private app lacks a permission ({detail}); grant the scopes the "
            "README lists",
            status=failure.status,
        )
    elif kind is Kind.DAILY:
        error = QuotaExhaustedError(f"{where}: HubSpot's daily API limit is reached ({detail})")
    elif kind is Kind.TLS:
        error = FatalConnectorError(
            f"{where}: TLS verification failed ({detail}); check the connection's ca_bundle"
        )
    elif kind is Kind.NOT_FOUND and record_id is not None:
        error = SkippableRecordError(record_id, f"{where}: not found ({detail})")
    elif failure.retriable:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        error = RetriableConnectorError(
            f"{where}: {detail}{tries}", status=failure.status, retry_after=failure.retry_after
        )
    else:
        error = FatalConnectorError(
            f"{where}: HubSpot refused the request ({detail})", status=failure.status
        )
    return error
