"""``sla-sync demo``: what a user notices, checked against the store the demo leaves behind.

The demo runs as the user runs it (a subprocess of ``python -m sla_sync demo``, with a timeout so a
hang fails instead of blocking the suite) on a small seed in a temporary data directory. Its
output is then read like a user reads it and compared with the SQLite store: the MQL count and
goal shown per agreement, the speed attainment, the contacts' SLA properties read back from the
sandbox, and the run summary.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sla_sync.demo.run import MARKER_FILE, DemoError, prepare_data_dir
from sla_sync.settings import DATABASE_FILE_NAME
from sla_sync.sla.periods import Period
from sla_sync.store.engine import create_engine, session_factory
from sla_sync.store.repositories import (
    connection_ids,
    current_goal,
    load_attainments,
    load_confirmed,
    recent_runs,
)

REPO = Path(__file__).resolve().parents[1]
LEADS = 150
TIMEOUT_S = 90
AGREEMENTS = ("smarketing-na", "smarketing-emea")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo's output and its data directory (run once for the module)."""
    data_dir = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "sla_sync", "demo", "--leads", str(LEADS), "--data-dir", data_dir],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, data_dir


@pytest.fixture
def session(demo: tuple[str, Path]) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{demo[1] / DATABASE_FILE_NAME}")
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _section(output: str, title: str) -> str:
    """The text from the rule line containing ``title`` to the next rule line."""
    match = re.search(rf"─+ {re.escape(title)}.*?\n(.*?)(?=\n─|\Z)", output, re.S)
    assert match, f"no section {title!r} in:\n{output}"
    return match.group(1)


def test_marketing_figures_are_the_stored_ones(demo: tuple[str, Path], session: Session) -> None:
    output, _ = demo
    for agreement in AGREEMENTS:
        text = _section(output, f"marketing: {agreement} ")
        period = re.search(r"period (\S+) \((\S+)\): goal (\d+) MQLs", text)
        delivered = re.search(r"delivered (\d+) MQLs", text)
        assert period and delivered, text
        label, zone, goal = period.group(1), period.group(2), int(period.group(3))
        assert label == Period.parse(label, zone).label
        stored = {
            r.current.scope.value: r.current for r in load_attainments(session, agreement, label)
        }
        assert int(delivered.group(1)) == stored["agreement"].mqls_delivered
        stored_goal = current_goal(session, agreement, label)
        assert stored_goal is not None and stored_goal.goal.leads_goal == goal
        assert "pace index" in text and "if the period closed now" in text


def test_sales_attainment_is_the_stored_one(demo: tuple[str, Path], session: Session) -> None:
    output, _ = demo
    label = re.search(r"period (\S+) \(America/New_York\)", output)
    assert label
    for agreement in AGREEMENTS:
        text = _section(output, f"sales: {agreement} ")
        row = re.search(rf"agreement {agreement}\s+(\d+)/(\d+) ", text)
        assert row, text
        figures = [
            r.current
            for r in load_attainments(session, agreement, label.group(1))
            if r.current.scope.value == "agreement"
        ]
        assert (int(row.group(1)), int(row.group(2))) == (
            figures[0].speed.met,
            figures[0].speed.decided,
        )
        assert "team " in text, "teams and reps are listed"


def test_contacts_read_back_match_the_confirmed_values(
    demo: tuple[str, Path], session: Session
) -> None:
    output, _ = demo
    text = _section(output, "what reps see on contacts")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("contact "))
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[header + 1 :]]
    rows = [row for row in rows if row and row[0].isdigit()]
    assert len(rows) >= 3, text
    connection_id = connection_ids(session)["sandbox-hubspot"]
    confirmed = load_confirmed(session, connection_id, "lead", [row[0] for row in rows])
    for contact, status, due, _first, minutes, attempts, tier, agreement, _mtd, same in rows:
        stored = confirmed[contact]
        assert same == "yes"
        # A field never confirmed is empty in the CRM (the push sends no value for it).
        assert status == stored["status"]
        assert agreement == stored["agreement"]
        assert tier == (stored.get("tier") or "-")
        assert minutes == (stored.get("minutes_to_first_touch") or "-")
        due_at = stored.get("due_at")
        assert due == (due_at[:16].replace("T", " ") + "Z" if due_at else "-")
        if stored.get("attempts_made") is not None:
            assert attempts == f"{stored['attempts_made']}/{stored['attempts_required']}"


def test_run_summary_is_the_ledger(demo: tuple[str, Path], session: Session) -> None:
    output, _ = demo
    text = _section(output, "run summary")
    written = re.search(r"records written\s+(\d+)", text)
    calls = re.search(r"API calls\s+(.+)", text)
    assert written and calls, text
    (run,) = recent_runs(session, kind="sync")
    assert run.outcome.value == "success" and "success" in text
    assert int(written.group(1)) == run.counts["records_written"] > 0
    shown = {name: int(count) for name, count in re.findall(r"(\w+) (\d+)", calls.group(1))}
    assert shown == {k: v for k, v in run.api_calls["calls"].items() if v}
    assert "sla-sync sync" in _section(output, "look further")


def test_data_dir_of_another_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / DATABASE_FILE_NAME).write_bytes(b"not the demo's")
    with pytest.raises(DemoError, match="not created by the demo"):
        prepare_data_dir(tmp_path)
    assert (tmp_path / DATABASE_FILE_NAME).read_bytes() == b"not the demo's"


def test_rerun_replaces_the_demo_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    url, note = prepare_data_dir(data_dir)
    assert url.endswith(f"/demo/{DATABASE_FILE_NAME}") and note == "new database"
    assert (data_dir / MARKER_FILE).is_file()
    (data_dir / DATABASE_FILE_NAME).write_bytes(b"previous demo")
    _, note = prepare_data_dir(data_dir)
    assert note == "replaced the previous demo's database"
    assert not (data_dir / DATABASE_FILE_NAME).exists()
