"""One worker per store: the SQLite lock file and the PostgreSQL advisory lock."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from sla_sync.runtime.lock import AdvisoryLock, FileLock, WorkerLockError, lock_for
from sla_sync.store.engine import create_engine


def test_lock_file_sits_next_to_the_sqlite_database(tmp_path: Path) -> None:
    lock = lock_for(f"sqlite:///{tmp_path / 'data' / 'sla-sync.db'}")
    assert isinstance(lock, FileLock)
    assert lock.path == (tmp_path / "data" / "sla-sync.db.lock").resolve()
    assert lock_for("sqlite://") is None  # in memory: nothing another process could share


def test_a_second_holder_is_told_who_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sla-sync.db.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.acquire()
    try:
        with pytest.raises(WorkerLockError) as caught:
            second.acquire()
        message = str(caught.value)
        assert message.startswith(f"another worker holds {path} (pid {os.getpid()} on host ")
        assert socket.gethostname() in message and " since 20" in message
        assert first.check() and not second.check()
    finally:
        first.release()
    assert second.acquire()  # free again once released
    second.release()
    second.release()  # twice is harmless


@pytest.mark.postgres
def test_advisory_lock_refuses_or_waits_then_takes_over(postgres_url: str) -> None:
    leader = AdvisoryLock(postgres_url, poll_seconds=0.1)
    standby = AdvisoryLock(postgres_url, poll_seconds=0.1)
    assert leader.acquire()
    try:
        with pytest.raises(WorkerLockError) as caught:
            standby.acquire(wait=False)
        message = str(caught.value)
        assert "another worker holds the PostgreSQL advisory lock" in message
        assert f"(pid {os.getpid()} on host {socket.gethostname()} since 20" in message

        took_over = threading.Event()
        stop = threading.Event()

        def wait() -> None:
            if standby.acquire(wait=True, stop=stop):
                took_over.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.4)
        assert not took_over.is_set()  # the standby waits while the leader lives
        leader.release()
        assert took_over.wait(5), "the standby did not take over"
        waiter.join(5)
        assert standby.check()
    finally:
        leader.release()
        standby.release()


@pytest.mark.postgres
def test_a_lost_session_is_noticed_and_a_waiting_standby_can_be_stopped(
    postgres_url: str,
) -> None:
    leader = AdvisoryLock(postgres_url)
    assert leader.acquire() and leader.check()
    admin = create_engine(postgres_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'sla-sync worker %' "
                    "AND datname = current_database()"
                )
            )
        assert not leader.check()  # the worker stops when this turns False
        other = AdvisoryLock(postgres_url, poll_seconds=0.1)
        assert other.acquire()  # the server dropped the lock with the session
        third = AdvisoryLock(postgres_url, poll_seconds=0.1)
        stop = threading.Event()
        stop.set()
        assert third.acquire(wait=True, stop=stop) is False
        other.release()
        third.release()
    finally:
        leader.release()
        admin.dispose()
