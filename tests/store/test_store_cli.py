"""``sla-sync db upgrade`` as ops runs it: a real process, a real database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sla_sync.store.migrate import current_revision, head_revision


def _sla_sync(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLA_SYNC_")}
    return subprocess.run(
        [sys.executable, "-m", "sla_sync", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_creates_sqlite_in_data_dir_with_wal(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _sla_sync("db", "upgrade", "--data-dir", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    database = data_dir / "sla-sync.db"
    assert database.is_file()
    assert "is at revision head" in result.stdout
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert current_revision(f"sqlite:///{database}") == head_revision()
    # Running it again is harmless.
    assert _sla_sync("db", "upgrade", "--data-dir", str(data_dir), cwd=tmp_path).returncode == 0


@pytest.mark.postgres
def test_db_upgrade_with_database_url(postgres_url: str, tmp_path: Path) -> None:
    result = _sla_sync("db", "upgrade", "--database-url", postgres_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert current_revision(postgres_url) == head_revision()
    assert not (tmp_path / ".sla-sync").exists()  # no SQLite file on the side
