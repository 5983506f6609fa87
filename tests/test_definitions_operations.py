"""Operating keys of the definition language: recipients, worker, weekly report, close, alerts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sla_sync.definitions import check_config_file, check_config_text, load_config_text
from sla_sync.definitions.operations import AlertsSpec, CloseSpec, WeeklyReportSpec, WorkerSpec

ROOT = Path(__file__).resolve().parents[1]

BASE = """\
connections:
  - {name: hs, kind: hubspot, token_env: HS_TOKEN}
calendars:
  c: {timezone: UTC, hours: {mon-fri: ["09:00-17:00"]}}
agreements:
  - id: a
    parties: {provider: m, recipient: s}
    reporting:
      timezone: America/New_York
      weekly_report: {day: fri, at: "16:30", to: [heads]}
      close: {day: 2, at: "07:15"}
    connections: [hs]
    calendar: c
    sales: {acceptance: {within: 1 business_days}}
    alerts: {tasks: false, breaches_to: [heads], escalate_to: [ops]}
    consequences:
      - metric: acceptance
        below: 90%
        actions:
          - notify: [heads]
          - escalate: [ops]
recipients:
  heads: {url_env: NOTIFY_HEADS, description: both heads}
  ops: {url_env: NOTIFY_OPS}
worker:
  sync_every: 2 minutes
  health_host: 0.0.0.0
  health_port: 0
  stale_after: 5
  notify_failures: [ops]
"""


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1
    return text[: text.index(needle)].count("\n") + 1


def problems_of(text: str) -> dict[str, tuple[int | None, str]]:
    return {p.path: (p.line, p.message) for p in check_config_text(text)}


def test_shipped_files_are_valid() -> None:
    for name in ("sla-sync.example.yaml", "sandbox.yaml"):
        assert check_config_file(ROOT / "config" / name) == []


def test_every_key_is_read() -> None:
    config = load_config_text(BASE)
    assert config.worker == WorkerSpec(
        sync_every=timedelta(minutes=2),
        health_host="0.0.0.0",
        health_port=0,
        stale_after=5,
        notify_failures=("ops",),
    )
    assert set(config.recipients) == {"heads", "ops"}
    assert config.recipients["heads"].url_env == "NOTIFY_HEADS"
    spec = config.agreement_spec("a")
    assert spec.reporting.weekly_report == WeeklyReportSpec(day="fri", at="16:30", to=("heads",))
    assert spec.reporting.close == CloseSpec(day=2, at="07:15")
    assert spec.alerts == AlertsSpec(tasks=False, breaches_to=("heads",), escalate_to=("ops",))
    with pytest.raises(KeyError):
        config.agreement_spec("nope")


def test_defaults_when_omitted() -> None:
    text = BASE.split("    alerts:")[0].replace(
        "    reporting:\n      timezone: America/New_York\n"
        '      weekly_report: {day: fri, at: "16:30", to: [heads]}\n'
        '      close: {day: 2, at: "07:15"}\n',
        "    reporting: {timezone: UTC}\n",
    )
    config = load_config_text(text)
    assert config.worker.sync_every == timedelta(minutes=5)
    assert (config.worker.health_host, config.worker.health_port) == ("127.0.0.1", 9464)
    assert config.worker.stale_after == 3 and config.worker.notify_failures == ()
    assert config.recipients == {}
    spec = config.agreement_spec("a")
    assert spec.reporting.weekly_report == WeeklyReportSpec(day="mon", at="08:00", to=())
    assert spec.reporting.close == CloseSpec(day=1, at="06:00")
    assert spec.alerts == AlertsSpec(tasks=True)


def test_undefined_recipients_are_reported_on_their_line() -> None:
    text = (
        BASE.replace('"16:30", to: [heads]', '"16:30", to: [heads, cfo]')
        .replace("breaches_to: [heads]", "breaches_to: [hedas]")
        .replace("- escalate: [ops]", "- escalate: [cro]")
        .replace("notify_failures: [ops]", "notify_failures: [oncall]")
    )
    found = problems_of(text)
    assert found["agreements[0].reporting.weekly_report.to[1]"][0] == line_of(text, "cfo")
    assert (
        "undefined recipient 'cfo' (defined: heads, ops)"
        in (found["agreements[0].reporting.weekly_report.to[1]"][1])
    )
    assert found["agreements[0].alerts.breaches_to[0]"][0] == line_of(text, "hedas")
    assert found["agreements[0].consequences[0].actions[1].escalate[0]"][0] == line_of(text, "cro")
    assert found["worker.notify_failures[0]"][0] == line_of(text, "oncall")
    assert len(found) == 4


def test_consequence_names_need_recipients() -> None:
    text = BASE.split("recipients:")[0]
    found = problems_of(text)
    assert set(found) == {
        "agreements[0].reporting.weekly_report.to[0]",
        "agreements[0].alerts.breaches_to[0]",
        "agreements[0].alerts.escalate_to[0]",
        "agreements[0].consequences[0].actions[0].notify[0]",
        "agreements[0].consequences[0].actions[1].escalate[0]",
    }
    assert "(none is defined)" in found["agreements[0].alerts.breaches_to[0]"][1]


@pytest.mark.parametrize(
    ("old", "new", "path", "says"),
    [
        (
            "sync_every: 2 minutes",
            "sync_every: 2 business_hours",
            "worker.sync_every",
            "wall-clock",
        ),
        ("sync_every: 2 minutes", "sync_every: often", "worker.sync_every", "not a duration"),
        ("health_port: 0", "health_port: 70000", "worker.health_port", "65535"),
        ("stale_after: 5", "stale_after: 0", "worker.stale_after", "greater than or equal to 1"),
        ("day: fri", "day: friday", "agreements[0].reporting.weekly_report.day", "'mon'"),
        ('at: "16:30"', 'at: "4pm"', "agreements[0].reporting.weekly_report.at", "HH:MM"),
        ('at: "07:15"', 'at: "24:00"', "agreements[0].reporting.close.at", "HH:MM"),
        ("day: 2,", "day: 31,", "agreements[0].reporting.close.day", "less than or equal to 28"),
        ("url_env: NOTIFY_OPS", "url_env: notify_ops", "recipients.ops.url_env", "NAME"),
        ("tasks: false", "tasks: maybe", "agreements[0].alerts.tasks", "boolean"),
    ],
)
def test_bad_values_are_reported_with_their_line(old: str, new: str, path: str, says: str) -> None:
    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    found = problems_of(text)
    assert path in found, found
    line, message = found[path]
    assert says in message
    assert line == line_of(text, new)


def test_short_intervals_in_seconds() -> None:
    text = BASE.replace("sync_every: 2 minutes", "sync_every: 30 seconds")
    assert load_config_text(text).worker.sync_every == timedelta(seconds=30)


def test_a_notification_url_is_never_written_in_the_file() -> None:
    text = BASE.replace(
        "ops: {url_env: NOTIFY_OPS}", "ops: {url: 'mailtos://ops:hunter22@mail.example.com'}"
    )
    problems = check_config_text(text)
    assert any(p.path.startswith("recipients.ops") for p in problems)
    assert all("hunter22" not in str(p) for p in problems)
