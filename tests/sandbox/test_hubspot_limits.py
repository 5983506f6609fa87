"""HubSpot emulator rate limits, 429 bodies and retries, the 10,000-result search cap and the
bulk-update timestamp trap, driven through the real client. Rate-limit tests freeze the sandbox
clock instead of sleeping.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

FROZEN = {"now": "2026-11-20T12:00:00Z", "frozen": True}
SEARCH = "/crm/v3/objects/contacts/search"


def _lead(i: int) -> dict[str, Any]:
    return {
        "id": f"l{i:06d}",
        "created_at": "2026-11-01T00:00:00Z",
        "email": f"lead{i}@example.com",
        "stage_history": [{"at": "2026-11-01T00:00:00Z", "stage": "lead"}],
    }


def test_ten_secondly_window_429_body_and_headers(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "clock", FROZEN)
    hubspot_env.control("POST", "ratelimits", {"tier": 100})
    api = hubspot_env.client().crm.contacts.basic_api
    _, _, headers = api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Daily"] == "250000"
    for _ in range(99):
        api.get_page()
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert caught.value.status == 429
    body = json.loads(caught.value.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert "Retry-After" not in caught.value.headers
    hubspot_env.control("POST", "clock", {"advance_seconds": 10})
    assert api.get_page() is not None


@pytest.mark.parametrize("tier", [190, 250])
def test_tier_is_configurable(hubspot_env: Any, tier: int) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": tier})
    _, _, headers = hubspot_env.client().crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Max"] == str(tier)


def test_search_secondly_limit_and_no_ratelimit_headers(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "clock", FROZEN)
    search = hubspot_env.client().crm.contacts.search_api
    request = PublicObjectSearchRequest(limit=1)
    _, _, headers = search.do_search_with_http_info(request)
    assert not [h for h in headers if h.lower().startswith("x-hubspot-ratelimit")]
    for _ in range(4):
        search.do_search(request)
    with pytest.raises(ApiException) as caught:
        search.do_search(request)
    assert json.loads(caught.value.body)["message"] == "You have reached your secondly limit."
    hubspot_env.control("POST", "clock", {"advance_seconds": 1})
    assert search.do_search(request) is not None


def test_daily_budget(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "ratelimits", {"daily": 3})
    api = hubspot_env.client().crm.contacts.basic_api
    for _ in range(3):
        api.get_page()
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert json.loads(caught.value.body)["policyName"] == "DAILY"


def test_rate_limits_off(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "clock", FROZEN)
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})
    search = hubspot_env.client().crm.contacts.search_api
    for _ in range(20):
        search.do_search(PublicObjectSearchRequest(limit=1))


def test_injected_429_is_retried_on_post_with_allowed_methods_none(hubspot_env: Any) -> None:
    hubspot_env.control(
        "POST", "faults", {"kind": "status", "status": 429, "path": SEARCH, "times": 2}
    )
    retry = Retry(
        total=3,
        backoff_factor=0,
        status_forcelist=[429],
        allowed_methods=None,
        respect_retry_after_header=True,
    )
    search = hubspot_env.client(retry=retry).crm.contacts.search_api
    assert search.do_search(PublicObjectSearchRequest(limit=1)) is not None
    counters = hubspot_env.control("GET", "counters")
    assert counters["by_endpoint"]["POST /crm/v3/objects/{objectType}/search"] == 3


def test_injected_429_with_retry_after_is_honoured(hubspot_env: Any) -> None:
    rule = {"kind": "status", "status": 429, "path": SEARCH, "times": 1, "retry_after": 1}
    hubspot_env.control("POST", "faults", rule)
    raw = requests.post(
        hubspot_env.url + SEARCH,
        json={},
        headers={"Authorization": f"Bearer {hubspot_env.token}"},
        timeout=10,
    )
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"
    assert raw.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    hubspot_env.control("POST", "faults", rule)
    retry = Retry(total=2, status_forcelist=[429], allowed_methods=None)
    search = hubspot_env.client(retry=retry).crm.contacts.search_api
    assert search.do_search(PublicObjectSearchRequest(limit=1)) is not None


def test_default_retry_does_not_retry_post(hubspot_env: Any) -> None:
    hubspot_env.control(
        "POST", "faults", {"kind": "status", "status": 429, "path": SEARCH, "times": 1}
    )
    retry = Retry(total=3, backoff_factor=0, status_forcelist=[429])
    search = hubspot_env.client(retry=retry).crm.contacts.search_api
    with pytest.raises(ApiException) as caught:
        search.do_search(PublicObjectSearchRequest(limit=1))
    assert caught.value.status == 429


def test_retries_exhausted_raise_max_retry_error(hubspot_env: Any) -> None:
    hubspot_env.control(
        "POST", "faults", {"kind": "status", "status": 503, "path": "/crm/*", "times": 5}
    )
    retry = Retry(total=1, backoff_factor=0, status_forcelist=[503], allowed_methods=None)
    with pytest.raises(MaxRetryError):
        hubspot_env.client(retry=retry).crm.contacts.basic_api.get_page()


def test_injected_5xx_has_hubspot_error_body(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "faults", {"kind": "status", "status": 502, "path": "/crm/*"})
    from hubspot.crm.contacts.exceptions import ServiceException

    with pytest.raises(ServiceException) as caught:
        hubspot_env.client().crm.contacts.basic_api.get_page()
    body = json.loads(caught.value.body)
    assert body["status"] == "error" and body["correlationId"]


def test_search_cap_10000_and_bulk_touch_trap(hubspot_env: Any) -> None:
    hubspot_env.control("POST", "ratelimits", {"tier": "off"})
    seeded = hubspot_env.control("POST", "seed", {"leads": [_lead(i) for i in range(10_050)]})
    assert seeded["seeded"]["contacts"] == 10_050
    search = hubspot_env.client().crm.contacts.search_api
    page = search.do_search(PublicObjectSearchRequest(limit=200, after="9800"))
    assert page.total == 10_050 and page.paging.next.after == "10000"
    with pytest.raises(ApiException) as caught:
        search.do_search(PublicObjectSearchRequest(limit=200, after="10000"))
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"
    touched = hubspot_env.control(
        "POST", "hubspot/bulk-touch", {"count": 10_001, "at": "2026-11-20T12:00:00.000Z"}
    )
    assert touched["touched"] == 10_001
    tie = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "EQ",
                            "value": "1795176000000",  # 2026-11-20T12:00:00Z in ms
                        }
                    ]
                }
            ],
            limit=1,
        )
    )
    assert tie.total == 10_001
