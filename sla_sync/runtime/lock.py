"""One worker per store: a lock the worker holds for as long as it runs.

* SQLite: an exclusive ``flock`` on a lock file next to the database (``sla-sync.db.lock``),
  taken without blocking. The file holds the holder's pid, host and start time, so a second
  worker exits saying who holds it. The kernel drops the lock when the process dies (even on
  ``kill -9``), so there is never a stale lock to clean up; the file itself stays.
* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection outside the pool, held until the worker stops or the connection dies. A second
  worker either exits (``wait=False``) or waits as a hot standby, polling, and takes over when
  the leader's session ends. The holder is shown from ``pg_stat_activity`` (the worker's
  connection carries ``application_name`` = ``sla-sync worker <host> pid <pid>``). Needs a
  session, so not through PgBouncer in transaction pooling mode (use a direct DSN).

:meth:`WorkerLock.check` tells whether the lock is still held (the PostgreSQL connection still
answers); the worker stops at once when it is not, since another instance may already lead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sla_sync.runtime.logging import get_logger
from sla_sync.store.engine import create_engine

log = get_logger(__name__)

#: The advisory lock key: the first 8 bytes of sha256("sla_sync:worker"), signed.
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"sla_sync:worker").digest()[:8], "big", signed=True)


class WorkerLockError(RuntimeError):
    """Another worker holds the lock; the message says who (pid, host, since when)."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock (as far as can be told)."""

    pid: int | None
    host: str | None
    since: str | None

    def describe(self) -> str:
        pid = self.pid if self.pid is not None else "?"
        host = self.host or "?"
        since = self.since or "?"
        return f"pid {pid} on host {host} since {since}"


class WorkerLock(Protocol):
    """The worker's lock on its store."""

    where: str

    def acquire(self, *, wait: bool = False, stop: threading.Event | None = None) -> bool:
        """Take the lock. ``wait=False``: raise :class:`WorkerLockError` when held elsewhere;
        ``wait=True``: wait until it is free (``False`` when ``stop`` was set meanwhile)."""

    def check(self) -> bool:
        """Whether the lock is still held by this process."""

    def release(self) -> None:
        """Give the lock up (safe to call twice)."""


def me() -> Holder:
    """This process as a holder."""
    return Holder(
        pid=os.getpid(),
        host=socket.gethostname(),
        since=datetime.now(UTC).isoformat(timespec="seconds"),
    )


class FileLock:
    """The SQLite worker lock: ``flock`` on ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._fd: int | None = None

    def acquire(self, *, wait: bool = False, stop: threading.Event | None = None) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WorkerLockError(
                f"another worker holds {self.path} ({self.holder().describe()})"
            ) from None
        holder = me()
        data = json.dumps({"pid": holder.pid, "host": holder.host, "since": holder.since})
        os.ftruncate(fd, 0)
        os.pwrite(fd, (data + "\n").encode("utf-8"), 0)
        os.fsync(fd)
        self._fd = fd
        return True

    def holder(self) -> Holder:
        """Who the file says holds it (fields ``None`` when it cannot be read)."""
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        pid = data.get("pid")
        return Holder(
            pid=pid if isinstance(pid, int) else None,
            host=str(data["host"]) if data.get("host") else None,
            since=str(data["since"]) if data.get("since") else None,
        )

    def check(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # the next reader sees no holder rather than a stale one
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class AdvisoryLock:
    """The PostgreSQL worker lock (see the module docstring)."""

    def __init__(self, url: str, *, key: int = ADVISORY_KEY, poll_seconds: float = 2.0) -> None:
        self._url = url
        parsed = make_url(url)
        self.where = f"PostgreSQL advisory lock {key} on {parsed.database or '?'}@{parsed.host}"
        self._key = key
        self._poll = poll_seconds
        holder = me()
        self._name = f"sla-sync worker {holder.host} pid {holder.pid}"[:63]
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": self._name},
        )
        self._connection: Connection | None = None
        self._mutex = threading.Lock()

    def acquire(self, *, wait: bool = False, stop: threading.Event | None = None) -> bool:
        if self._connection is not None:
            return True
        connection = self._engine.connect()
        announced = False
        try:
            while True:
                got = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                ).scalar_one()
                if got:
                    self._connection = connection
                    return True
                holder = self.holder(connection)
                if not wait:
                    raise WorkerLockError(
                        f"another worker holds the {self.where} ({holder.describe()})"
                    )
                if not announced:
                    log.info(
                        "standby: another worker holds the lock; waiting to take over",
                        lock=self.where,
                        holder=holder.describe(),
                    )
                    announced = True
                if stop is not None and stop.wait(self._poll):
                    connection.close()
                    return False
                if stop is None:
                    time.sleep(self._poll)
        except BaseException:
            if self._connection is None:
                connection.close()
            raise

    def holder(self, connection: Connection | None = None) -> Holder:
        """The session holding the lock, from ``pg_locks`` and ``pg_stat_activity``."""
        query = text(
            "SELECT a.pid, a.application_name, a.client_hostname, host(a.client_addr), "
            "a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
        )
        unsigned = self._key & 0xFFFFFFFFFFFFFFFF
        params = {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF}
        try:
            if connection is not None:
                row = connection.execute(query, params).first()
            else:
                with self._engine.connect() as own:
                    row = own.execute(query, params).first()
        except Exception:
            row = None
        if row is None:
            return Holder(pid=None, host=None, since=None)
        pid, app, client_host, client_addr, started = row
        host = None
        if isinstance(app, str) and app.startswith("sla-sync worker "):
            host = app.removeprefix("sla-sync worker ").split(" pid ")[0]
            pid_text = app.rsplit(" pid ", 1)[-1]
            pid = int(pid_text) if pid_text.isdigit() else pid
        host = host or client_host or client_addr
        since = started.astimezone(UTC).isoformat(timespec="seconds") if started else None
        return Holder(pid=pid, host=host, since=since)

    def check(self) -> bool:
        with self._mutex:
            if self._connection is None:
                return False
            try:
                self._connection.execute(text("SELECT 1"))
            except Exception:
                return False
            return True

    def release(self) -> None:
        with self._mutex:
            connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            except Exception:  # the session is gone: so is the lock
                pass
            finally:
                connection.close()
        self._engine.dispose()


def lock_for(url: str) -> WorkerLock | None:
    """The worker lock for the store at ``url``: a :class:`FileLock` next to a SQLite file, an
    :class:`AdvisoryLock` on PostgreSQL; ``None`` for an in-memory SQLite database (nothing
    another process could share)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return FileLock(Path(database).resolve().with_name(Path(database).name + ".lock"))
    return AdvisoryLock(url)


__all__ = [
    "ADVISORY_KEY",
    "AdvisoryLock",
    "FileLock",
    "Holder",
    "WorkerLock",
    "WorkerLockError",
    "lock_for",
]
