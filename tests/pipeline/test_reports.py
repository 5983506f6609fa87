"""The weekly report of a seeded sandbox month: its numbers are the engine's and the store's.

A real cycle (HubSpot emulator, real connector) fills the store; the report is then read back
and checked against the stored attainment, the stored MQL entries and the engine's own
aggregation of the stored cycles. The PNG is decoded by matplotlib; the notification goes through
apprise to a real local HTTP receiver.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matplotlib import image
from sqlalchemy import Engine

from sla_sync.definitions import SlaSyncConfig
from sla_sync.domain import ScopeKind
from sla_sync.pipeline.notify import Notifier
from sla_sync.pipeline.reports import (
    ReportError,
    build_report,
    report_dir,
    send_weekly_report,
    write_report,
)
from sla_sync.sandbox.runner import Sandbox
from sla_sync.settings import read_secret
from sla_sync.sla.attainment import aggregate_sales
from sla_sync.sla.pacing import weekly_goals
from sla_sync.sla.periods import Period
from sla_sync.store import repositories as repo
from sla_sync.store.engine import session_factory
from tests.pipeline.report_support import SALES_HEAD_ENV, receiver, report_config
from tests.pipeline.support import AS_OF, CONNECTION, Portal, sync

WEEK = "2026-W44"  # Mon 26 Oct - Sun 1 Nov 2026; its Thursday (AS_OF) is in October
MONTH = "2026-10"


@pytest.fixture
def seeded(portal: Portal, store: Engine, config: SlaSyncConfig, environ: dict[str, str]) -> Engine:
    report = sync(store, config, environ)
    assert report.error is None, report.error
    return store


def test_report_numbers_are_the_stores_and_the_engines(
    seeded: Engine, config: SlaSyncConfig
) -> None:
    policy = config.agreement_policy("na")
    report = build_report(seeded, policy, now=AS_OF, week=WEEK)
    assert (report.label, report.period.label, report.as_of) == (WEEK, MONTH, AS_OF)
    with session_factory(seeded)() as session:
        stored = {
            (r.current.scope, r.current.scope_id): r.current
            for r in repo.load_attainments(session, "na", MONTH)
        }
        goal = repo.current_goal(session, "na", MONTH)
        period = Period.parse(MONTH, policy.timezone)
        mqls = repo.load_mqls(session, "na", start=period.utc_start, end=period.utc_end)
        cycles = repo.load_cycles(
            session, agreement="na", started_from=period.utc_start, started_before=period.utc_end
        )
        owners = repo.load_owners(session, repo.connection_ids(session)[CONNECTION])
    total = stored[(ScopeKind.AGREEMENT, "na")]
    marketing = report.marketing
    assert marketing is not None and goal is not None

    # Marketing: what the evaluate step stored at the same instant.
    assert marketing.status.delivered == total.mqls_delivered > 0
    assert marketing.goal.leads_goal == goal.goal.leads_goal == total.mql_goal
    assert float(marketing.status.expected_leads) == pytest.approx(total.expected_to_date)
    assert marketing.status.pace_index == pytest.approx(total.pace_index)
    assert float(marketing.status.delivered_value or 0) == pytest.approx(total.value_delivered)
    # This week: leads whose first MQL of the month falls in the week (up to now).
    first: dict[str, datetime] = {}
    for lead, at, _segment in mqls:
        first.setdefault(lead, at)
    week = Period.parse(WEEK, policy.timezone)
    in_week = [at for at in first.values() if week.utc_start <= at <= AS_OF]
    assert marketing.window_delivered == len(in_week)
    # The weekly goal is W44's share of the month's goal (the shares sum to the goal).
    assert policy.volume is not None
    shares = dict(
        weekly_goals(
            goal.goal.leads_goal,
            period,
            basis=policy.volume.pacing,
            calendar=policy.volume.pacing_calendar,
        )
    )
    assert marketing.window_goal == shares[week]
    # The chart's last point is the period's delivered count, its ideal line ends at the goal.
    points = [p for p in marketing.days if p.delivered is not None]
    assert points[-1].delivered == total.mqls_delivered and points[-1].day == AS_OF.date()
    assert marketing.days[-1].ideal == goal.goal.leads_goal

    # Sales: stored rows, equal to the engine's aggregation of the stored cycles.
    engine_rows = {
        (row.scope, row.scope_id): row
        for row in aggregate_sales(cycles, agreement="na", period=period, owners=owners)
    }
    for row in (*report.figures.reps, *report.figures.teams):
        assert row == stored[(row.scope, row.scope_id)]
        mine = engine_rows[(row.scope, row.scope_id)]
        assert (row.speed, row.depth) == (mine.speed, mine.depth)
        assert row.median_first_touch_minutes == mine.median_first_touch_minutes
        assert row.p90_first_touch_minutes == mine.p90_first_touch_minutes
    assert len(report.figures.reps) >= 5
    assert report.at_risk_total == report.figures.at_risk.get("na", 0)
    assert report.misses and all(
        earlier.late_by >= later.late_by
        for earlier, later in zip(report.misses, report.misses[1:], strict=False)
    )


def test_report_files_markdown_html_and_a_real_png(
    seeded: Engine, config: SlaSyncConfig, tmp_path: Path
) -> None:
    policy = config.agreement_policy("na")
    report = build_report(seeded, policy, now=AS_OF, week=WEEK)
    files = write_report(report, report_dir(tmp_path, "na"))
    assert files.png == tmp_path / "reports" / "na" / f"{WEEK}.png"

    data = files.png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < len(data) < 1_000_000
    assert image.imread(files.png).shape == (500, 1000, 4)

    markdown = files.markdown.read_text(encoding="utf-8")
    assert markdown.startswith(f"# SLA weekly report: na {WEEK} ({MONTH})")
    assert "| scope | speed | depth | acceptance |" in markdown
    assert "|---|---:|" in markdown
    total = report.figures.total
    assert total is not None
    speed = f"{total.speed.met}/{total.speed.decided} {total.speed.pct:.1f} %"
    assert f"| **agreement na** | {speed} |" in markdown
    assert report.marketing is not None
    assert f"| MQLs delivered in {MONTH} to date | {total.mqls_delivered} |" in markdown

    page = files.html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    embedded = page.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(embedded) == data  # self-contained: the same chart inside
    assert speed in page


def test_crm_text_is_escaped(seeded: Engine, config: SlaSyncConfig, tmp_path: Path) -> None:
    policy = config.agreement_policy("na")
    hostile = "<script>alert('x')</script> | **Eve**"
    report = build_report(seeded, policy, now=AS_OF, week=WEEK)
    rep = report.figures.reps[0].scope_id
    with session_factory(seeded)() as session, session.begin():
        cid = repo.connection_ids(session)[CONNECTION]
        owner = repo.load_owners(session, cid)[rep]
        repo.upsert_owners(session, cid, [replace(owner, name=hostile)])
    report = build_report(seeded, policy, now=AS_OF, week=WEEK)
    files = write_report(report, tmp_path)

    page = files.html.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; | **Eve**" in page
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "<script>" not in markdown
    assert r"&lt;script&gt;alert('x')&lt;/script&gt; \| \*\*Eve\*\*" in markdown


def test_weekly_report_is_saved_and_sent_with_its_attachments(
    seeded: Engine, sandbox: Sandbox, tmp_path: Path
) -> None:
    config = report_config(sandbox.hubspot_url)
    monday = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # Mon 08:00 in New York
    with receiver() as box:
        notifier = Notifier.from_config(
            config, read_secret, environ={SALES_HEAD_ENV: box.url("sales")}
        )
        sent = send_weekly_report(
            seeded, config, "na", now=monday, data_dir=tmp_path, notifier=notifier
        )
    assert sent.sent and sent.report.label == WEEK  # the week that ended on Sunday
    assert sent.files.html == tmp_path / "reports" / "na" / f"{WEEK}.html"
    [message] = box.received
    assert message["title"] == f"SLA weekly report: na {WEEK} ({MONTH})"
    assert "| scope | speed |" in message["message"]
    attached = {
        item["filename"]: base64.b64decode(item["base64"]) for item in message["attachments"]
    }
    assert attached[f"{WEEK}.png"] == sent.files.png.read_bytes()
    assert attached[f"{WEEK}.html"] == sent.files.html.read_bytes()


def test_unknown_windows_are_refused(seeded: Engine, config: SlaSyncConfig) -> None:
    policy = config.agreement_policy("na")
    with pytest.raises(ReportError, match="has not started"):
        build_report(seeded, policy, now=AS_OF, week="2026-W46")
    with pytest.raises(ReportError, match="reports by month"):
        build_report(seeded, policy, now=AS_OF, period="2026-W40")
    with pytest.raises(ReportError):
        build_report(seeded, policy, now=AS_OF, week="2026-13")
