"""``sla-sync report`` and ``sla-sync period close`` on a store filled by a real cycle against
the HubSpot emulator; notifications through apprise to a real local HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from matplotlib import image

from sla_sync.cli import main
from sla_sync.definitions import load_config
from sla_sync.pipeline.sync import init_schemas
from sla_sync.sandbox.runner import Sandbox
from sla_sync.store.engine import create_engine
from sla_sync.store.migrate import upgrade
from tests.pipeline.report_support import (
    MARKETING_HEAD_ENV,
    SALES_HEAD_ENV,
    receiver,
    report_config_text,
)
from tests.pipeline.support import CONNECTION, TOKEN_ENV, Portal, sync


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def setup(sandbox: Sandbox, tmp_path: Path) -> tuple[Path, Path]:
    """A synced October (the seed's snapshot instant): ``(config file, data dir)``."""
    config_file = tmp_path / "sla-sync.yaml"
    config_file.write_text(report_config_text(sandbox.hubspot_url), encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'sla-sync.db'}"
    upgrade(url)
    config = load_config(config_file)
    environ = {TOKEN_ENV: sandbox.hubspot_token}
    with requests.Session() as http:
        Portal(url=sandbox.hubspot_url, token=sandbox.hubspot_token, http=http).reset(leads=120)
    [schema] = init_schemas(config, [CONNECTION], environ=environ)
    assert schema.error is None
    engine = create_engine(url)
    try:
        assert sync(engine, config, environ).error is None
    finally:
        engine.dispose()
    return config_file, data_dir


def run(data_dir: Path, *args: str, **env: str) -> Result:
    environ = {"SLA_SYNC_DATABASE_URL": "", "SLA_SYNC_DATA_DIR": str(data_dir), **env}
    return CliRunner().invoke(main, list(args), env=environ, catch_exceptions=False)


def test_report_for_a_month_writes_the_files_and_sends_them(setup: tuple[Path, Path]) -> None:
    config_file, data_dir = setup
    with receiver() as box:
        result = run(
            data_dir,
            "report",
            "--config",
            str(config_file),
            "--agreement",
            "na",
            "--period",
            "2026-10",
            "--send",
            **{SALES_HEAD_ENV: box.url("sales")},
        )
    assert result.exit_code == 0, result.output
    folder = data_dir / "reports" / "na"
    assert f"na 2026-10: {folder / '2026-10.md'}" in result.output
    assert "sent to sales-na-head" in result.output
    assert image.imread(folder / "2026-10.png").shape == (500, 1000, 4)
    assert "| scope | speed |" in (folder / "2026-10.md").read_text(encoding="utf-8")
    [message] = box.received
    assert message["title"] == "SLA report: na 2026-10"


def test_report_out_dir_and_bad_labels(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config_file, data_dir = setup
    out = tmp_path / "out"
    result = run(
        data_dir, "report", "--config", str(config_file), "--week", "2026-W43", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert (out / "na" / "2026-W43.html").is_file() and (out / "hot" / "2026-W43.png").is_file()
    bad = run(data_dir, "report", "--config", str(config_file), "--period", "2026-W43")
    assert bad.exit_code == 1 and "reports by month" in bad.output
    unknown = run(data_dir, "report", "--config", str(config_file), "--agreement", "nope")
    assert unknown.exit_code == 1 and "no agreement 'nope'" in unknown.output


def test_period_close_dry_run_then_close_then_again(setup: tuple[Path, Path]) -> None:
    config_file, data_dir = setup
    args = ("period", "close", "--config", str(config_file), "--agreement", "na")
    with receiver() as box:
        env = {SALES_HEAD_ENV: box.url("sales"), MARKETING_HEAD_ENV: box.url("marketing")}
        dry = run(data_dir, *args, "--period", "2026-10", "--dry-run", **env)
        assert dry.exit_code == 0, dry.output
        assert "na 2026-10: (dry run: nothing stored or sent)" in dry.output
        assert box.received == []
        closed = run(data_dir, *args, "--period", "2026-10", **env)
        again = run(data_dir, *args, "--period", "2026-10", **env)
    assert closed.exit_code == 0, closed.output
    assert "froze the figures of" in closed.output
    assert "2026-11: goal" in closed.output and "carried over" in closed.output
    assert "escalate marketing-head" in closed.output and "[sent]" in closed.output
    assert again.exit_code == 0 and "already closed" in again.output
    assert "[already]" in again.output and "[sent]" not in again.output
    assert sorted(box.paths) == ["/marketing", "/sales"]
