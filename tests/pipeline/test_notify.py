"""Notifications through apprise to a real local HTTP receiver (``json://``): delivered,
batched per agreement, once per state change; a recipient without its secret is skipped."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from sla_sync.pipeline.alerts import RESOLVE_AFTER
from sla_sync.pipeline.connect import connector_for
from sla_sync.pipeline.cycle import CycleReport, run_cycle
from sla_sync.pipeline.notify import Notifier
from sla_sync.settings import read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import AlertKind, RunOutcome
from tests.pipeline.alerts_support import BREACH_ENV, HEAD_ENV, Receiver, alerts_config, receiver
from tests.pipeline.support import AS_OF, CONNECTION, Portal


@pytest.fixture
def inbox() -> Any:
    with receiver() as r:
        yield r


def test_send_posts_title_and_body_to_every_recipient(inbox: Receiver, sandbox: Any) -> None:
    config = alerts_config(sandbox.hubspot_url)
    environ = {BREACH_ENV: inbox.url("desk"), HEAD_ENV: f"{inbox.url('head')}, {inbox.url('cc')}"}
    notifier = Notifier.from_config(config, read_secret, environ)

    assert notifier.send(["breach-desk", "sales-na-head"], "Title", "- one\n- two") is True

    for path in ("desk", "head", "cc"):
        [body] = inbox.bodies(path)
        assert body["title"] == "Title" and "- two" in body["message"]


def test_a_recipient_without_its_secret_is_skipped_with_one_warning(
    inbox: Receiver, sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = alerts_config(sandbox.hubspot_url)
    secret_url = inbox.url("desk") + "?token=s3cret"
    notifier = Notifier.from_config(config, read_secret, {BREACH_ENV: secret_url})
    with caplog.at_level(logging.WARNING):
        assert notifier.send(["sales-na-head"], "t", "b") is False
        assert notifier.send(["sales-na-head", "breach-desk"], "t", "b") is True
    warnings = [r for r in caplog.records if "sales-na-head" in r.getMessage()]
    assert len(warnings) == 1
    assert "s3cret" not in caplog.text and str(inbox.port) not in caplog.text
    assert len(inbox.bodies("desk")) == 1


def test_a_channel_that_is_down_answers_false(sandbox: Any) -> None:
    config = alerts_config(sandbox.hubspot_url)
    notifier = Notifier.from_config(config, read_secret, {BREACH_ENV: "json://127.0.0.1:9/x"})
    assert notifier.send(["breach-desk"], "t", "b") is False
    assert Notifier.disabled().send(["breach-desk"], "t", "b") is False


def _sync(
    store: Engine, config: Any, environ: dict[str, str], portal: Portal, at: Any, notifier: Notifier
) -> CycleReport:
    portal.at(at)
    connector = connector_for(store, config, CONNECTION, now=at, environ=environ, rate_limits=False)
    try:
        return run_cycle(store, config, CONNECTION, connector, now=lambda: at, notifier=notifier)
    finally:
        connector.close()


def test_breaches_batched_per_agreement_and_sent_once(
    inbox: Receiver, portal: Portal, store: Engine, sandbox: Any, environ: dict[str, str]
) -> None:
    config = alerts_config(sandbox.hubspot_url)
    channels = {BREACH_ENV: inbox.url("desk"), HEAD_ENV: inbox.url("head")}
    notifier = Notifier.from_config(config, read_secret, channels)

    first = _sync(store, config, environ, portal, AS_OF, notifier)
    assert first.outcome is RunOutcome.SUCCESS, first.error
    [message] = inbox.bodies("desk")  # one message for the agreement, however many breaches
    breaches = first.alerts.breaches_notified
    assert breaches > 0
    assert message["title"] == f"{breaches} new SLA breach{'es' if breaches > 1 else ''} in na"
    assert message["message"].count("- lead ") == breaches
    with session_factory(store)() as session:
        noted = [a for a in repo.list_alerts(session) if a.kind is AlertKind.BREACH_NOTICE]
    assert len(noted) == breaches and {a.agreement for a in noted} == {"na"}
    # HubSpot owners have no manager: escalations go to escalate_to, batched too.
    escalations = inbox.bodies("head")
    assert first.alerts.escalations_notified > 0
    assert len(escalations) == 1 and "escalated in na" in escalations[0]["title"]

    later = AS_OF + RESOLVE_AFTER + timedelta(minutes=1)
    second = _sync(store, config, environ, portal, later, notifier)
    assert second.outcome is RunOutcome.SUCCESS, second.error
    assert second.alerts.notifications == 0
    assert len(inbox.bodies("desk")) == 1 and len(inbox.bodies("head")) == len(escalations)


def test_an_undelivered_notification_is_tried_again(
    inbox: Receiver, portal: Portal, store: Engine, sandbox: Any, environ: dict[str, str]
) -> None:
    config = alerts_config(sandbox.hubspot_url, tasks=False)
    down = Notifier.from_config(config, read_secret, {BREACH_ENV: "json://127.0.0.1:9/x"})
    first = _sync(store, config, environ, portal, AS_OF, down)
    assert first.outcome is RunOutcome.SUCCESS and first.alerts.notifications == 0

    up = Notifier.from_config(config, read_secret, {BREACH_ENV: inbox.url("desk")})
    second = _sync(store, config, environ, portal, AS_OF + timedelta(minutes=5), up)
    assert second.alerts.breaches_notified > 0 and len(inbox.bodies("desk")) == 1
