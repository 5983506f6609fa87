"""``HubSpotClient``: the real SDK over real HTTP against the emulator, faults injected through
its control API (no HTTP mocks)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Sandbox

from sla_sync.connectors.base import (
    AuthenticationError,
    FatalConnectorError,
    QuotaExhaustedError,
    RetriableConnectorError,
    SkippableRecordError,
)
from sla_sync.connectors.hubspot.client import (
    Endpoint,
    HubSpotClient,
    documented_daily_limit,
    hubspot_limiter,
)
from sla_sync.sandbox.server import ServerThread

SEARCH_PATH = "/crm/v3/objects/contacts/search"
LIST_PATH = "/crm/v3/objects/contacts"
SEARCH_BODY: dict[str, Any] = {"limit": 1}

MakeClient = Callable[..., HubSpotClient]


def list_contacts(client: HubSpotClient, **kwargs: Any) -> Any:
    api = client.sdk.crm.contacts.basic_api
    return client.call(Endpoint.READ, api.get_page, limit=5, **kwargs)


def search(client: HubSpotClient) -> Any:
    api = client.sdk.crm.contacts.search_api
    return client.call(Endpoint.SEARCH, api.do_search, public_object_search_request=SEARCH_BODY)


class RecordingSleep:
    """An injected sleep that records the waits (and sleeps at most a few ms)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, 0.005))


# ------------------------------------------------------------------------------ wiring


def test_sub_apis_are_cached_and_calls_reach_the_emulator(
    hs: Sandbox, hubspot_client: HubSpotClient
) -> None:
    sdk = hubspot_client.sdk
    assert sdk.crm.contacts.basic_api is sdk.crm.contacts.basic_api
    assert sdk.crm.objects.search_api is sdk.crm.objects.search_api
    hs.create_contacts(3)
    page = list_contacts(hubspot_client)
    assert len(page.results) == 3
    usage = hubspot_client.usage()
    assert usage.calls == {"read": 1}
    assert usage.daily_limit is None  # the emulator's limits are off: no headers sent


def test_rate_limit_headers_feed_the_daily_figures(
    hs: Sandbox, hubspot_client: HubSpotClient
) -> None:
    hs.ratelimits(tier=190, daily=5000, reset_counters=True)
    list_contacts(hubspot_client)
    list_contacts(hubspot_client)
    usage = hubspot_client.usage()
    assert usage.daily_limit == 5000
    assert usage.daily_remaining == 4998


def test_every_call_has_a_timeout(hs: Sandbox, make_client: MakeClient) -> None:
    hs.fault(kind="latency", latency_ms=1500, path=LIST_PATH, times=None)
    client = make_client(timeout=0.2, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(RetriableConnectorError, match="timed out"):
        list_contacts(client)
    assert time.monotonic() - started < 1.4
    assert client.usage().retries == {"read": 1}


def test_a_timeout_is_retried(hs: Sandbox, make_client: MakeClient) -> None:
    hs.fault(kind="latency", latency_ms=600, path=LIST_PATH, times=1)
    client = make_client(timeout=0.2)
    list_contacts(client)
    assert client.usage().retries == {"read": 1}


# ------------------------------------------------------------------------------ retries


def test_5xx_then_success(hs: Sandbox, hubspot_client: HubSpotClient) -> None:
    hs.fault(kind="status", status=503, path=LIST_PATH, times=2)
    list_contacts(hubspot_client)
    assert hubspot_client.usage().retries == {"read": 2}
    assert hs.counters()["by_status"] == {"200": 1, "503": 2}


def test_posts_are_retried_too(hs: Sandbox, hubspot_client: HubSpotClient) -> None:
    hs.fault(kind="status", status=502, path=SEARCH_PATH, method="POST", times=1)
    search(hubspot_client)
    assert hubspot_client.usage().calls == {"search": 2}


def test_persistent_5xx_becomes_retriable_error(hs: Sandbox, make_client: MakeClient) -> None:
    hs.fault(kind="status", status=503, path=LIST_PATH, times=None)
    client = make_client(max_attempts=4)
    with pytest.raises(RetriableConnectorError) as caught:
        list_contacts(client)
    assert caught.value.status == 503
    assert "after 4 attempts" in str(caught.value)
    assert hs.counters()["total"] == 4


def test_429_storm_without_retry_after_ends_in_bounded_time(
    hs: Sandbox, make_client: MakeClient
) -> None:
    hs.fault(kind="status", status=429, path=SEARCH_PATH, times=None)
    sleep = RecordingSleep()
    client = make_client(max_attempts=5, sleep=sleep, backoff_base=0.01, backoff_cap=1.0)
    started = time.monotonic()
    with pytest.raises(RetriableConnectorError) as caught:
        search(client)
    assert time.monotonic() - started < 2.0
    usage = client.usage()
    assert (usage.calls, usage.retries, usage.rate_limited) == ({"search": 5}, {"search": 4}, 5)
    assert caught.value.status == 429
    # TEN_SECONDLY_ROLLING backs off ten times longer than a 5xx would.
    assert sleep.waits[0] >= 0.05


def test_429_with_retry_after_waits_what_hubspot_asked(
    hs: Sandbox, make_client: MakeClient
) -> None:
    hs.fault(kind="status", status=429, retry_after=1, path=SEARCH_PATH, times=2)
    sleep = RecordingSleep()
    client = make_client(sleep=sleep)
    search(client)
    assert sleep.waits == [1.0, 1.0]
    assert client.usage().rate_limited == 2


def test_retry_after_beyond_the_wait_bound_gives_up_at_once(
    hs: Sandbox, make_client: MakeClient
) -> None:
    hs.fault(kind="status", status=429, retry_after=30, path=SEARCH_PATH, times=None)
    sleep = RecordingSleep()
    client = make_client(sleep=sleep, max_wait=2.0)
    with pytest.raises(RetriableConnectorError) as caught:
        search(client)
    assert caught.value.retry_after == 30
    assert sleep.waits == []


def test_search_secondly_limit_is_retried(hs: Sandbox, make_client: MakeClient) -> None:
    hs.ratelimits(tier=190, search_per_second=1)
    client = make_client(rate_limits=False, backoff_base=0.1, backoff_cap=1.0)
    for _ in range(2):
        search(client)  # the second one meets the 1-per-second limit
    usage = client.usage()
    assert usage.rate_limited >= 1
    assert usage.retries["search"] == usage.rate_limited


def test_the_limiter_keeps_search_under_hubspots_limit(
    hs: Sandbox, make_client: MakeClient
) -> None:
    hs.ratelimits(tier=190)  # 5 searches per second
    limited = make_client(max_attempts=1)
    for _ in range(7):
        search(limited)  # 4 per second: a 429 would raise (one attempt only)
    unlimited = make_client(max_attempts=1, rate_limits=False)
    with pytest.raises(RetriableConnectorError, match="secondly"):
        for _ in range(12):
            search(unlimited)


def test_non_idempotent_call_is_not_retried_after_a_5xx(
    hs: Sandbox, hubspot_client: HubSpotClient
) -> None:
    path = "/crm/v3/objects/contacts/batch/create"
    hs.fault(kind="commit_then_fail", status=502, path=path, times=1)
    api = hubspot_client.sdk.crm.contacts.batch_api
    body = {"inputs": [{"properties": {"email": "once@example.com"}}]}
    with pytest.raises(RetriableConnectorError):
        hubspot_client.call_non_idempotent(Endpoint.WRITE, api.create, body)
    assert hs.calls("batch/create") == 1  # the write happened once; no blind retry
    hs.fault(kind="status", status=429, path=path, times=1)
    body = {"inputs": [{"properties": {"email": "twice@example.com"}}]}
    hubspot_client.call_non_idempotent(Endpoint.WRITE, api.create, body)  # 429: not processed
    assert hs.calls("batch/create") == 3


# ------------------------------------------------------------------------------ auth


def test_rotated_token_is_reread_after_a_401(hs: Sandbox, make_client: MakeClient) -> None:
    hs.add_token("pat-rotated-0001")
    current = {"token": hs.token}
    client = make_client(token_source=lambda: current["token"])
    list_contacts(client)
    hs.expire_token()
    current["token"] = "pat-rotated-0001"  # ops replaced the secret file
    list_contacts(client)
    search(client)  # other sub-APIs use the new token too
    assert client.usage().retries == {"read": 1}
    assert hs.counters()["by_status"] == {"200": 3, "401": 1}


def test_unchanged_token_after_a_401_is_an_authentication_error(
    hs: Sandbox, make_client: MakeClient
) -> None:
    client = make_client(connection="hs-main")
    list_contacts(client)
    hs.expire_token()
    with pytest.raises(AuthenticationError) as caught:
        list_contacts(client)
    text = "".join(traceback.format_exception(caught.value))
    assert hs.token not in text
    assert "hs-main" in str(caught.value)
    assert caught.value.status == 401
    assert hs.counters()["by_status"]["401"] == 1  # one try: the re-read token was the same


def test_missing_scope_is_fatal(hs: Sandbox, hubspot_client: HubSpotClient) -> None:
    hs.fault(kind="status", status=403, path=LIST_PATH, times=1)
    with pytest.raises(FatalConnectorError, match="permission") as caught:
        list_contacts(hubspot_client)
    assert not isinstance(caught.value, AuthenticationError)
    assert hs.counters()["total"] == 1


def test_404_of_one_record_is_skippable(hs: Sandbox, hubspot_client: HubSpotClient) -> None:
    api = hubspot_client.sdk.crm.contacts.basic_api
    with pytest.raises(SkippableRecordError) as caught:
        hubspot_client.call_for_record(Endpoint.READ, "999999", api.get_by_id, "999999")
    assert caught.value.record_id == "999999"


# ------------------------------------------------------------------------------ daily budget


def test_daily_429_is_quota_exhausted_without_retry(
    hs: Sandbox, hubspot_client: HubSpotClient
) -> None:
    body = {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "category": "RATE_LIMITS",
        "policyName": "DAILY",
        "correlationId": "x",
    }
    hs.fault(kind="status", status=429, body=body, path=LIST_PATH, times=None)
    with pytest.raises(QuotaExhaustedError, match="daily"):
        list_contacts(hubspot_client)
    with pytest.raises(QuotaExhaustedError):
        search(hubspot_client)  # stops before calling now
    assert hs.counters()["total"] == 1


def test_emulator_daily_limit_reached(hs: Sandbox, make_client: MakeClient) -> None:
    hs.ratelimits(tier=190, daily=3, reset_counters=True)
    client = make_client()
    for _ in range(3):
        list_contacts(client)
    with pytest.raises(QuotaExhaustedError):  # Daily-Remaining said 0: no 4th request
        list_contacts(client)
    assert hs.counters()["total"] == 3


def test_quota_share_spent_refuses_before_calling(hs: Sandbox, make_client: MakeClient) -> None:
    allowance = documented_daily_limit("professional") // 2
    client = make_client(daily_quota_share=0.5, spent_today_before=allowance)
    with pytest.raises(QuotaExhaustedError, match="daily API budget"):
        list_contacts(client)
    assert hs.counters()["total"] == 0


def test_quota_share_follows_the_limit_hubspot_reports(
    hs: Sandbox, make_client: MakeClient
) -> None:
    hs.ratelimits(tier=190, daily=1000, reset_counters=True)
    client = make_client(daily_quota_share=0.5, spent_today_before=497)
    for _ in range(3):  # 497 + 3 = 500 = half of 1000
        list_contacts(client)
    with pytest.raises(QuotaExhaustedError):
        list_contacts(client)
    assert hs.counters()["total"] == 3
    assert client.usage().daily_limit == 1000


def test_limiter_figures_follow_the_tier() -> None:
    assert documented_daily_limit("starter") == 250_000
    assert documented_daily_limit("enterprise", True) == 2_000_000
    free = hubspot_limiter(api_tier="free", clock=lambda: 0.0, sleep=lambda s: None)
    waits = [free.acquire("read") for _ in range(91)]
    assert waits[:90] == [0.0] * 90 and waits[90] == 10.0  # 90 % of 100 per 10 s
    boosted = hubspot_limiter(api_limit_increase=True, clock=lambda: 0.0, sleep=lambda s: None)
    assert [boosted.acquire("write") for _ in range(226)][-1] == 10.0  # 90 % of 250
    with pytest.raises(ValueError, match="api_tier"):
        hubspot_limiter(api_tier="gold")


# ------------------------------------------------------------------------------ TLS


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    from sla_sync.sandbox.hubspot import create_app
    from sla_sync.sandbox.tls import make_tls

    tls = make_tls(tmp_path / "tls")
    server = ServerThread(create_app(), tls=tls).start()
    yield server, tls.ca_path
    server.stop()


def test_ca_bundle_is_trusted_and_verification_stays_on(
    tls_server: tuple[ServerThread, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca_path = tls_server
    assert server.url.startswith("https://")
    # requests honours this variable over its own settings; the SDK (urllib3) must not care.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    trusted = HubSpotClient(token="pat-sandbox-demo", base_url=server.url, ca_bundle=ca_path)
    untrusted = HubSpotClient(token="pat-sandbox-demo", base_url=server.url, max_attempts=1)
    try:
        list_contacts(trusted)
        with pytest.raises(FatalConnectorError, match="TLS"):
            list_contacts(untrusted)
    finally:
        trusted.close()
        untrusted.close()


def test_unreadable_ca_bundle_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalConnectorError, match="CA bundle"):
        HubSpotClient(token="t0ken", ca_bundle=tmp_path / "missing.pem")


def test_closed_client_refuses_calls(hubspot_client: HubSpotClient) -> None:
    api = hubspot_client.sdk.crm.contacts.basic_api
    hubspot_client.close()
    with pytest.raises(RuntimeError, match="closed"):
        hubspot_client.call(Endpoint.READ, api.get_page)
