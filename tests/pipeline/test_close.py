"""The monthly period close on a seeded sandbox month (real cycle, real store, real apprise).

October 2026 is synced on Thu 29 Oct (the seed's snapshot), then closed on Sun 1 Nov 06:00 in
New York. Agreement ``na`` misses its speed rule (notify ``sales-na-head``) and its marketing
rule (escalate to ``marketing-head``, carry 50 % of the shortfall into November's goal).
Notifications go through apprise ``json://`` to a real local HTTP receiver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from sla_sync.definitions import SlaSyncConfig
from sla_sync.domain import ScopeKind, ceil_guarded
from sla_sync.pipeline.close import CloseError, close_period_and_notify
from sla_sync.pipeline.notify import Notifier
from sla_sync.sandbox.runner import Sandbox
from sla_sync.settings import read_secret
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from sla_sync.store.records import AlertKind
from tests.pipeline.report_support import (
    MARKETING_HEAD_ENV,
    SALES_HEAD_ENV,
    Receiver,
    receiver,
    report_config,
)
from tests.pipeline.support import AS_OF, Portal, sync

CLOSE_AT = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)  # Sun 1 Nov 06:00 in New York
OCTOBER, NOVEMBER = "2026-10", "2026-11"


@pytest.fixture
def close_config(sandbox: Sandbox) -> SlaSyncConfig:
    return report_config(sandbox.hubspot_url)


@pytest.fixture
def seeded(
    portal: Portal, store: Engine, close_config: SlaSyncConfig, environ: dict[str, str]
) -> Engine:
    report = sync(store, close_config, environ)
    assert report.error is None, report.error
    return store


def _notifier(config: SlaSyncConfig, box: Receiver) -> Notifier:
    environ = {SALES_HEAD_ENV: box.url("sales"), MARKETING_HEAD_ENV: box.url("marketing")}
    return Notifier.from_config(config, read_secret, environ=environ)


def test_close_freezes_publishes_the_carry_and_notifies_once(
    seeded: Engine, close_config: SlaSyncConfig
) -> None:
    with receiver() as box:
        notifier = _notifier(close_config, box)
        first = close_period_and_notify(seeded, close_config, "na", now=CLOSE_AT, notifier=notifier)
        again = close_period_and_notify(seeded, close_config, "na", now=CLOSE_AT, notifier=notifier)

    assert (first.period, first.already_closed, first.scopes_closed > 0) == (OCTOBER, False, True)
    with session_factory(seeded)() as session:
        records = repo.load_attainments(session, "na", OCTOBER)
        october = repo.current_goal(session, "na", OCTOBER)
        november = repo.goal_history(session, "na", NOVEMBER)
        alerts = repo.list_alerts(session, agreement="na")
    # Frozen: every scope has its snapshot; October's goal is frozen.
    assert records and all(r.closed_at == CLOSE_AT and r.final == r.current for r in records)
    assert october is not None and october.frozen and first.goal_frozen == october.goal.version
    total = next(r.final for r in records if r.current.scope is ScopeKind.AGREEMENT)
    assert total is not None
    # The consequences are the engine's on the frozen figures, as the evaluate step describes them.
    assert first.consequences == total.consequences
    assert first.consequences == (
        "speed < 80 %: notify sales-na-head",
        "marketing < 100 %: escalate marketing-head; carry_shortfall 50 %",
    )
    # Exactly one November version, carrying half of October's lead shortfall.
    shortfall = october.goal.leads_goal - total.mqls_delivered
    assert shortfall > 0
    [version] = november
    assert first.next_goal_action == "published" and first.next_goal == version.goal
    assert version.goal.carried_over == Decimal(shortfall) / 2 == first.carried_over
    assert version.goal.leads_goal == ceil_guarded(
        Decimal(version.goal.computed.leads) + Decimal(shortfall) / 2
    )
    assert version.goal.carried_over_value == (
        (october.goal.value_goal - Decimal(str(total.value_delivered))) / 2
    )
    # Each notify/escalate action was sent once, to its recipient, and recorded.
    assert sorted(box.paths) == ["/marketing", "/sales"]
    by_path = dict(zip(box.paths, box.received, strict=True))
    assert by_path["/sales"]["title"] == "SLA consequence: na 2026-10: speed below 80 %"
    assert f"{total.speed.met} met of {total.speed.decided} decided" in by_path["/sales"]["message"]
    assert by_path["/marketing"]["title"] == "SLA escalation: na 2026-10: marketing below 100 %"
    assert "carried into 2026-11's goal" in by_path["/marketing"]["message"]
    consequence_alerts = [a for a in alerts if a.kind is AlertKind.CONSEQUENCE]
    assert len(consequence_alerts) == 2
    assert [n.status for n in first.notices] == ["sent", "sent"]

    # The second close changes nothing and sends nothing.
    assert again.already_closed and again.scopes_closed == 0
    assert again.next_goal_action == "kept" and again.next_goal == version.goal
    assert [n.status for n in again.notices] == ["already", "already"]
    assert len(box.received) == 2
    with session_factory(seeded)() as session:
        assert repo.goal_history(session, "na", NOVEMBER) == november
        assert repo.load_attainments(session, "na", OCTOBER) == records


def test_a_goal_published_before_the_close_gets_one_version_with_the_carry(
    portal: Portal, seeded: Engine, close_config: SlaSyncConfig, environ: dict[str, str]
) -> None:
    # A sync after midnight on 1 Nov publishes November's goal from the inputs alone.
    early = portal.at(datetime(2026, 11, 1, 5, 0, tzinfo=UTC))
    assert sync(seeded, close_config, environ, now=early).error is None
    with session_factory(seeded)() as session:
        [plain] = repo.goal_history(session, "na", NOVEMBER)
    assert plain.goal.carried_over == 0

    outcome = close_period_and_notify(seeded, close_config, "na", now=CLOSE_AT)
    again = close_period_and_notify(seeded, close_config, "na", now=CLOSE_AT)

    with session_factory(seeded)() as session:
        history = repo.goal_history(session, "na", NOVEMBER)
    assert [v.goal.version for v in history] == [plain.goal.version, plain.goal.version + 1]
    carried = history[-1].goal
    assert outcome.next_goal_action == "carried" and outcome.next_goal == carried
    assert carried.computed == plain.goal.computed and carried.carried_over > 0
    assert again.next_goal_action == "kept" and again.next_goal == carried
    # Without a notifier nothing is sent or recorded: a later close (with one) sends them.
    assert [n.status for n in outcome.notices] == ["pending", "pending"]


def test_dry_run_changes_nothing(seeded: Engine, close_config: SlaSyncConfig) -> None:
    with receiver() as box:
        outcome = close_period_and_notify(
            seeded,
            close_config,
            "na",
            now=CLOSE_AT,
            notifier=_notifier(close_config, box),
            dry_run=True,
        )
    assert outcome.dry_run and outcome.scopes_closed > 0
    assert outcome.next_goal_action == "published" and outcome.carried_over > 0
    assert box.received == []
    with session_factory(seeded)() as session:
        assert all(r.closed_at is None for r in repo.load_attainments(session, "na", OCTOBER))
        assert repo.goal_history(session, "na", NOVEMBER) == []
        alerts = repo.list_alerts(session, agreement="na")
        assert not [a for a in alerts if a.kind is AlertKind.CONSEQUENCE]


def test_a_failed_notification_is_sent_by_the_next_close(
    seeded: Engine, close_config: SlaSyncConfig
) -> None:
    with receiver() as box:
        notifier = _notifier(close_config, box)
        box.status = 500
        failed = close_period_and_notify(
            seeded, close_config, "na", now=CLOSE_AT, notifier=notifier
        )
        box.status = 200
        retried = close_period_and_notify(
            seeded, close_config, "na", now=CLOSE_AT, notifier=notifier
        )
    assert [n.status for n in failed.notices] == ["failed", "failed"]
    assert retried.already_closed and [n.status for n in retried.notices] == ["sent", "sent"]
    assert sorted(box.paths) == ["/marketing", "/sales"]


def test_a_period_not_over_is_refused(seeded: Engine, close_config: SlaSyncConfig) -> None:
    with pytest.raises(CloseError, match="has not ended"):
        close_period_and_notify(seeded, close_config, "na", now=AS_OF, period=OCTOBER)
