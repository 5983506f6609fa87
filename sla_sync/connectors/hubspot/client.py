"""HubSpot SDK wiring: one configured ``hubspot.HubSpot`` (``sdk``) and :meth:`HubSpotClient.call`,
the one place every HubSpot call goes through: daily budget, rate limiter, retries, token
re-read, error mapping and usage counters.

Wiring (hubspot-api.md section 1):

- Sub-API objects are built once and cached: the SDK's ``api_factory`` hook is ours, so
  ``client.sdk.crm.contacts.batch_api`` is the same object (one connection pool) every time.
- The SDK's urllib3 retry is off (``retries=False``): exactly one retry layer, ours. POSTs
  (search, batch read/update) are retried too, which urllib3's default would skip.
- Every SDK call gets ``_request_timeout`` unless the caller gave one (the SDK has none).
- TLS verification is always on. ``ca_bundle`` adds trusted CAs (a TLS proxy, the sandbox's CA)
  to the system's; urllib3 never reads ``REQUESTS_CA_BUNDLE``, so the configured bundle wins.
  Do not use ``sdk.api_request`` (it goes through ``requests``, bypassing all of this).
"""

from __future__ import annotations

import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from importlib import metadata
from typing import Any, ParamSpec, TypeVar

import hubspot
import urllib3

from sla_sync.connectors.base import ApiUsage, ConnectorError, FatalConnectorError
from sla_sync.connectors.hubspot.errors import (
    HttpFailure,
    Kind,
    classify,
    retry_decision,
    to_connector_error,
)
from sla_sync.connectors.ratelimit import (
    Clock,
    DailyBudget,
    RateLimiter,
    RetriesExhausted,
    RetryDecision,
    RetryPolicy,
    Sleep,
    SlidingWindow,
    UsageCounter,
    run_with_retries,
)

P = ParamSpec("P")
T = TypeVar("T")

HUBSPOT_API = "https://api.hubapi.com"
DEFAULT_TIMEOUT = 30.0

# Documented limits (hubspot-api.md 4.3): requests per rolling 10 s per app, and per day.
TEN_SECOND_LIMITS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
TEN_SECOND_LIMIT_INCREASED = 250  # the API limit increase pack; does not stack
DAILY_LIMITS = {
    "free": 250_000,
    "starter": 250_000,
    "professional": 625_000,
    "enterprise": 1_000_000,
}
DAILY_LIMIT_INCREASE = 1_000_000  # one pack
TEN_SECONDS = 10.0
# Search: 5/s per account (older docs: 4 per token), shared with whatever else uses the portal;
# it does not count against the 10-second window and its answers carry no rate-limit headers.
SEARCH_PER_SECOND = 4
# Other integrations share the 10-second window of the portal: leave them ~10 %.
HEADROOM = 0.9


class Endpoint(StrEnum):
    """Endpoint classes with separate budgets and counters."""

    SEARCH = "search"  # POST .../search: 4-5 per second per account, no rate-limit headers
    READ = "read"  # GET lists, batch read, owners, properties read
    WRITE = "write"  # batch update / create, property create
    ASSOCIATIONS = "associations"  # v4 associations batch read


def hubspot_limiter(
    *,
    api_tier: str = "professional",
    api_limit_increase: bool = False,
    enabled: bool = True,
    headroom: float = HEADROOM,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> RateLimiter:
    """HubSpot's budgets: one rolling 10-second window (the tier's limit x ``headroom``) shared
    by reads, writes and associations; search at most :data:`SEARCH_PER_SECOND` per second.
    ``enabled=False``: no limits (benchmarks against an unlimited sandbox)."""
    if not enabled:
        return RateLimiter.unlimited()
    tier = _tier(api_tier)
    per_ten = TEN_SECOND_LIMIT_INCREASED if api_limit_increase else TEN_SECOND_LIMITS[tier]
    general = SlidingWindow(max(1, int(per_ten * headroom)), TEN_SECONDS)
    search = SlidingWindow(SEARCH_PER_SECOND, 1.0)
    return RateLimiter(
        {
            Endpoint.SEARCH.value: [search],
            Endpoint.READ.value: [general],
            Endpoint.WRITE.value: [general],
            Endpoint.ASSOCIATIONS.value: [general],
        },
        clock=clock,
        sleep=sleep,
    )


def documented_daily_limit(api_tier: str, api_limit_increase: bool = False) -> int:
    """The tier's documented daily limit (used until HubSpot reports the portal's own)."""
    base = DAILY_LIMITS[_tier(api_tier)]
    return base + (DAILY_LIMIT_INCREASE if api_limit_increase else 0)


def _tier(api_tier: str) -> str:
    tier = api_tier.strip().lower()
    if tier not in TEN_SECOND_LIMITS:
        raise ValueError(
            f"api_tier must be one of {', '.join(TEN_SECOND_LIMITS)}, got {api_tier!r}"
        )
    return tier


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header; ``headers`` has lower-cased names."""
    raw = headers.get(name.lower())
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _operation(fn: Callable[..., Any]) -> str:
    """``crm.contacts.batch_api.update`` for an SDK method (for messages and logs)."""
    module = getattr(fn, "__module__", "") or ""
    name = getattr(fn, "__name__", "call")
    if module.startswith("hubspot."):
        parts = module.split(".")[1:]
        if "api" in parts:
            parts.remove("api")
        return ".".join([*parts, name])
    return name


class HubSpotClient:
    """A HubSpot portal: ``sdk`` is the configured SDK client; every call goes through
    :meth:`call`.

    ``token_source`` is read at start and again after a 401 (ops rotated the secret file);
    ``token`` is a fixed token instead. ``connection`` names the connection in messages.
    ``api_tier`` / ``api_limit_increase`` / ``rate_limits`` set the limiter (or pass
    ``limiter``). ``daily_quota_share`` and ``spent_today_before`` bound the calls of this run
    (:class:`DailyBudget`). ``max_attempts``, ``backoff_base``, ``backoff_cap`` and ``max_wait``
    bound the retries (:class:`RetryPolicy`); ``clock``/``sleep``/``rng`` are injectable.
    Thread-safe for calls; not meant to be shared across connections.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        token_source: Callable[[], str] | None = None,
        base_url: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connection: str = "hubspot",
        api_tier: str = "professional",
        api_limit_increase: bool = False,
        rate_limits: bool = True,
        daily_quota_share: float = 1.0,
        spent_today_before: int = 0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_wait: float = 120.0,
        limiter: RateLimiter | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if token_source is None:
            if token is None:
                raise ValueError("HubSpotClient needs token_source or token")
            fixed = token

            def token_source() -> str:
                return fixed

        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        self.connection = connection
        self._token_source = token_source
        self._token = self._read_token()
        self._base_url = (base_url or HUBSPOT_API).rstrip("/")
        self._timeout = timeout
        self._ssl_context = self._make_ssl_context(ca_bundle)
        self._limiter = limiter or hubspot_limiter(
            api_tier=api_tier,
            api_limit_increase=api_limit_increase,
            enabled=rate_limits,
            clock=clock,
            sleep=sleep,
        )
        self._budget = DailyBudget(
            share=daily_quota_share,
            spent_before=spent_today_before,
            limit=documented_daily_limit(api_tier, api_limit_increase),
            connection=f"HubSpot connection '{connection}'",
        )
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_wait=max_wait,
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._usage = UsageCounter()
        self._lock = threading.Lock()
        self._apis: dict[tuple[str, str], Any] = {}
        self._closed = False
        self.sdk = hubspot.HubSpot(
            access_token=self._token,
            host=self._base_url,
            base_url=self._base_url,
            retry=False,
            api_factory=self._api_factory,
        )

    # ------------------------------------------------------------------ wiring

    def _read_token(self) -> str:
        try:
            token = self._token_source().strip()
        except Exception as exc:  # a missing or unreadable secret file
            raise FatalConnectorError(
                f"HubSpot connection '{self.connection}': could not read the access token "
                f"({type(exc).__name__})"
            ) from None
        if not token:
            raise FatalConnectorError(
                f"HubSpot connection '{self.connection}': the access token is empty"
            )
        return token

    @staticmethod
    def _make_ssl_context(ca_bundle: str | os.PathLike[str] | None) -> ssl.SSLContext | None:
        if ca_bundle is None:
            return None  # urllib3's default: the system store, verification on
        context = ssl.create_default_context()  # system CAs, CERT_REQUIRED, hostname check
        try:
            context.load_verify_locations(cafile=os.fspath(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise FatalConnectorError(f"cannot load the CA bundle {ca_bundle}: {exc}") from None
        return context

    def _api_factory(self, package: Any, api_name: str, config: Mapping[str, Any]) -> Any:
        """The SDK's ``api_factory`` hook: one cached API object per (package, API)."""
        key = (package.__name__, api_name)
        with self._lock:
            api = self._apis.get(key)
            if api is not None:
                return api
            configuration = package.Configuration()
            for name, value in config.items():
                if name not in ("retry", "api_key", "base_url"):
                    setattr(configuration, name, value)
            configuration.host = self._base_url
            configuration.access_token = self._token
            configuration.retries = False  # our retry layer is the only one
            configuration.verify_ssl = True
            api_client = package.ApiClient(configuration=configuration)
            api_client.user_agent = (
                f"hubspot-api-client-python; {metadata.version('hubspot-api-client')}"
            )
            if self._ssl_context is not None:
                api_client.rest_client.pool_manager = urllib3.PoolManager(
                    num_pools=4, maxsize=4, retries=False, ssl_context=self._ssl_context
                )
            api = getattr(package, api_name)(api_client=api_client)
            self._apis[key] = api
            return api

    def _set_token(self, token: str) -> None:
        with self._lock:
            self._token = token
            self.sdk.config["access_token"] = token
            for api in self._apis.values():
                api.api_client.configuration.access_token = token

    def _refresh_token(self) -> bool:
        """Re-read the token after a 401; True when it changed (worth one more try)."""
        token = self._read_token()
        if token == self._token:
            return False
        self._set_token(token)
        return True

    # ------------------------------------------------------------------ calls

    def call(
        self, endpoint: Endpoint, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Call ``fn(*args, **kwargs)`` (an SDK operation) under ``endpoint``'s budget and
        retry policy.

        Pass the SDK method itself (``api.do_search``), not a lambda around it: the client
        adds ``_request_timeout`` and reads the rate-limit headers only for bound SDK methods.
        Every attempt counts against the daily budget and ``usage().calls``.

        Raises:
            QuotaExhaustedError: the daily share is spent (before calling) or HubSpot said
                DAILY.
            RetriableConnectorError: 429/5xx/timeouts outlived the retries.
            AuthenticationError: 401 with the token re-read unchanged (or refused again).
            FatalConnectorError: 403, 400, 404, 409, TLS failures.
        """
        return self._call(endpoint, fn, args, kwargs, idempotent=True, record_id=None)

    def call_for_record(
        self,
        endpoint: Endpoint,
        record_id: str,
        fn: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """:meth:`call` for an operation on one record: a 404 raises
        :class:`SkippableRecordError` naming ``record_id`` instead of a fatal error."""
        return self._call(endpoint, fn, args, kwargs, idempotent=True, record_id=record_id)

    def call_non_idempotent(
        self, endpoint: Endpoint, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """:meth:`call` for a write that must not happen twice (creating a task): retried only
        when HubSpot did not process it (429, 423, no connection); a 5xx or a read timeout
        raises :class:`RetriableConnectorError` at once (the caller checks before retrying)."""
        return self._call(endpoint, fn, args, kwargs, idempotent=False, record_id=None)

    def _call(
        self,
        endpoint: Endpoint,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        idempotent: bool,
        record_id: str | None,
    ) -> T:
        if self._closed:
            raise RuntimeError(f"HubSpot connection '{self.connection}': client is closed")
        api_client = getattr(getattr(fn, "__self__", None), "api_client", None)
        if api_client is not None:
            kwargs.setdefault("_request_timeout", self._timeout)
        operation = _operation(fn)
        key = endpoint.value
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            self._budget.reserve()
            self._limiter.acquire(key)
            attempts += 1
            self._usage.call(key)
            if api_client is not None:
                api_client.last_response = None  # never read a previous call's headers
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                failure = classify(exc)
                if failure is not None:
                    self._observe_failure(failure)
                raise
            last = getattr(api_client, "last_response", None)
            if last is not None:
                self._observe(last.getheaders())
            return result

        def decide(exc: BaseException) -> RetryDecision:
            failure = classify(exc)
            if failure is None:
                return RetryDecision(retry=False)
            return retry_decision(failure, idempotent=idempotent)

        def on_retry(exc: BaseException, wait: float) -> None:
            self._usage.retry(key)

        refreshed = False
        while True:
            try:
                return run_with_retries(
                    attempt,
                    policy=self._policy,
                    decide=decide,
                    sleep=self._sleep,
                    on_retry=on_retry,
                    rng=self._rng,
                )
            except ConnectorError:
                raise
            except RetriesExhausted as exc:
                failure = classify(exc.last)
                assert failure is not None  # only HTTP failures are retried
                raise self._error(failure, operation, record_id, attempts) from exc.last
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                if failure.kind is Kind.AUTH:
                    if not refreshed and self._refresh_token():
                        refreshed = True
                        self._usage.retry(key)
                        continue
                    raise self._error(failure, operation, record_id, attempts) from None
                raise self._error(failure, operation, record_id, attempts) from exc

    def _error(
        self, failure: HttpFailure, operation: str, record_id: str | None, attempts: int
    ) -> ConnectorError:
        return to_connector_error(
            failure,
            connection=self.connection,
            operation=operation,
            secrets=(self._token,),
            record_id=record_id,
            attempts=attempts,
        )

    def _observe(self, headers: Mapping[str, str]) -> None:
        if not headers:
            return
        headers = {str(k).lower(): str(v) for k, v in headers.items()}
        self._budget.observe(
            limit=_int_header(headers, "X-HubSpot-RateLimit-Daily"),
            remaining=_int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining"),
        )

    def _observe_failure(self, failure: HttpFailure) -> None:
        self._observe(failure.headers)
        if failure.status == 429:
            self._usage.limited()
        if failure.kind is Kind.DAILY:
            self._budget.observe(limit=None, remaining=0)  # later calls stop before calling

    # ------------------------------------------------------------------ figures, lifecycle

    def usage(self) -> ApiUsage:
        """Requests sent (attempts, retries included) and retries per endpoint class, 429s
        received, and the daily limit / remaining as HubSpot last reported them."""
        return ApiUsage(
            calls=dict(self._usage.calls),
            retries=dict(self._usage.retries),
            rate_limited=self._usage.rate_limited,
            daily_limit=self._budget.reported_limit,
            daily_remaining=self._budget.remaining,
        )

    def close(self) -> None:
        """Release pooled connections (idempotent)."""
        with self._lock:
            self._closed = True
            apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            api.api_client.close()
            api.api_client.rest_client.pool_manager.clear()
