"""Opening the SQLite store: pragmas, the cross-process locks, transactions, migrations.

Choices, and why:

* WAL journal, so the UI reads while the sync thread writes, and the command line
  (``cs-console reply``, ``conversations``) reads and queues beside a running console.
* ``synchronous=FULL``: the outbox is the only copy of a reply the agent has
  typed until the server has it; FULL survives a power cut, NORMAL only a crash.
  It costs about a third of write speed here, which batching more than repays.
* Write transactions begin ``IMMEDIATE`` and wait up to ``busy_timeout``: a plain
  ``BEGIN`` that reads and then writes fails at once on the lock upgrade instead of
  waiting.
* One write at a time across every process and thread: SQLite 3.40 (bundled with this
  Python) can corrupt a WAL file when two connections write or checkpoint at the same
  moment (the WAL-reset bug, fixed in 3.51.3). So each write transaction holds an
  exclusive ``flock`` on ``store.db.lock`` from before ``BEGIN`` until after ``COMMIT``,
  and only for that long. Checkpoints happen under it too: SQLite's automatic one runs
  inside the ``COMMIT`` that grew the WAL past 1000 pages (so inside the lock, with no
  bookkeeping of ours), and the one SQLite runs when the last connection closes is
  wrapped in the lock by :meth:`Database.close`. The lock waits ``BUSY_TIMEOUT_MS`` at
  most, then says in plain words that the store stayed busy. A kill -9 releases a
  ``flock`` with the process, and WAL with FULL sync keeps every commit that returned.
* One session per store: a console (or ``cs-console sync`` while it runs) holds
  ``store.db.session.lock`` for as long as it is open, so that a second console is
  refused with the first one's pid and two sync loops never push one outbox row twice.
  Command-line reads and writes take no session and work beside it.
* Connections are pooled and kept open: opening one and setting its pragmas cost
  more than the indexed reads the UI makes on every keystroke. A connection serves
  one thread at a time; every checkout is a fresh transaction.
* A writing handle counts commits per table (:meth:`Database.generation`), so derived
  figures such as the queue's counts can be kept until their table changes; a commit
  by another process shows as a change of ``PRAGMA data_version`` and makes every
  table count as changed.
* The store holds customers' messages: it and its ``-wal``/``-shm`` files are the
  owner's alone (0600), like the token file; an older, wider file is tightened on open.

The errors are in :mod:`cs_console.store.errors`, the lock files and file modes in
:mod:`cs_console.store.locks`, and the reading of which tables a write touched in
:mod:`cs_console.store.touched_tables`.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import QueuePool

from cs_console.store.errors import (
    SessionHolder,
    StoreBusy,
    StoreDamaged,
    StoreError,
    StoreInUse,
    busy,
    is_busy,
    refused_write,
)
from cs_console.store.locks import (
    PID_WIDTH,
    PRIVATE,
    create_private,
    flock_within,
    in_use_message,
    open_lock_file,
    read_holder,
    session_holder,
    session_lock_path,
    tighten,
    write_lock_path,
)
from cs_console.store.migrations import LATEST_VERSION, MIGRATIONS
from cs_console.store.search_index import install as install_search_index
from cs_console.store.touched_tables import ANY_TABLE, TOUCHED, note_written_table

# The errors, the lock files and the table tracking live beside this module;
# importers of this one keep finding them here.
__all__ = [
    "BUSY_TIMEOUT_MS",
    "MAX_CACHED",
    "POOL_SIZE",
    "PRIVATE",
    "Database",
    "SessionHolder",
    "SessionKind",
    "StoreBusy",
    "StoreDamaged",
    "StoreError",
    "StoreInUse",
    "configure_sqlite",
    "session_holder",
    "session_lock_path",
    "take_session",
]

T = TypeVar("T")

#: What a session is: the console, or one ``cs-console sync`` run.
SessionKind = Literal["console", "sync"]

#: How long anything waits for the store: SQLite for a lock, us for a lock file.
BUSY_TIMEOUT_MS = 10_000
#: Derived figures kept by :meth:`Database.cached` (a few per queue filter).
MAX_CACHED = 64
#: Connections kept open: the UI thread, the sync worker and a few short-lived workers.
POOL_SIZE = 4


class Database:
    """A handle on one store file: ``read()`` and ``write()`` hand out transactions.

    Args:
        path: The SQLite file (created, owner-only, when ``writer`` and missing).
        writer: False opens the file read-only and never creates it.
        session: For a writer, hold the store's session for as long as this handle is
            open: a ``"console"`` is refused at once if another session holds it, a
            ``"sync"`` waits a while for another ``cs-console sync`` to finish. None
            (the command line queuing a reply) works beside whoever holds it, and so
            does every read-only handle.
    """

    def __init__(
        self, path: Path, *, writer: bool = True, session: SessionKind | None = "console"
    ) -> None:
        self.path = path
        self.writer = writer
        self._write_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._session_fd: int | None = None
        self._monitor: sqlite3.Connection | None = None
        self._monitor_lock = threading.Lock()
        self._data_version = 0
        if writer:
            create_private(path)
        elif not path.exists():
            raise StoreError(f"no store at {path}: run cs-console once to create it")
        tighten(path)
        if writer and session is not None:
            self._session_fd = take_session(path, session)
        if writer:
            try:
                self._lock_fd = open_lock_file(write_lock_path(path))
            except StoreError:
                self._release_session()
                raise
        self._generations: Counter[str] = Counter()
        self._cache: dict[Hashable, tuple[int, Any]] = {}
        self._cache_lock = threading.Lock()
        url = f"sqlite:///{path}" if writer else f"sqlite:///file:{path}?mode=ro&uri=true"
        # Overflow connections beyond POOL_SIZE are closed when given back, so a burst
        # of worker threads never waits for a connection and leaves none behind.
        self.engine: Engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=POOL_SIZE,
            max_overflow=-1,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        configure_sqlite(self.engine)
        if writer:
            event.listen(self.engine, "before_cursor_execute", note_written_table)
            try:
                self._migrate()
                self._monitor = self._open_monitor()
            except DatabaseError as exc:
                self.close()
                raise StoreDamaged(
                    f"cannot read the store {path} ({exc.orig}). Nothing was changed. Keep a "
                    "copy of the file, then move it aside and start again: everything already "
                    "synced comes back from the server, but unsent replies live only in it."
                ) from None
            except BaseException:
                self.close()
                raise
            tighten(path)  # SQLite made the -wal and -shm files just now

    def close(self) -> None:
        """Release the engine, the monitor connection and the session."""
        # The last connection to close checkpoints the WAL: under the write lock, like
        # every checkpoint. Waited for with the usual bound; a close never fails on it.
        with self._cross_process_write_lock(required=False):
            self.engine.dispose()
            with self._monitor_lock:
                if self._monitor is not None:
                    self._monitor.close()
                    self._monitor = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self._release_session()

    def _release_session(self) -> None:
        if self._session_fd is not None:
            fcntl.flock(self._session_fd, fcntl.LOCK_UN)
            os.close(self._session_fd)
            self._session_fd = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: a consistent snapshot for several queries."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            if is_busy(exc):
                raise busy(self.path, BUSY_TIMEOUT_MS / 1000) from None
            raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, begun IMMEDIATE; commits on success, rolls back on error.

        Raises:
            StoreBusy: another process kept the store's write lock for longer than
                ``BUSY_TIMEOUT_MS``; nothing was written.
            StoreError: SQLite refused the write (disk full, read-only file).
        """
        if not self.writer:
            raise StoreError("this store was opened read-only")
        with self._write_lock, self._cross_process_write_lock(required=True):
            self._note_foreign_commits()
            with self.engine.connect() as raw:
                conn = raw.execution_options(cs_immediate=True)
                touched: set[str] = set()
                conn.info[TOUCHED] = touched
                try:
                    with conn.begin():
                        yield conn
                except OperationalError as exc:
                    # In plain words: the raw error carries SQL and a documentation URL.
                    raise refused_write(exc, self.path, BUSY_TIMEOUT_MS / 1000) from None
                finally:
                    conn.info.pop(TOUCHED, None)
                    # Counted after the commit (or rollback): a reader that saw the old
                    # generation cannot have cached figures taken before this commit.
                    self._count_own_commit(touched)

    @contextmanager
    def _cross_process_write_lock(self, *, required: bool) -> Iterator[None]:
        """Hold ``store.db.lock`` (no-op on a read-only handle). ``required``: raise
        :class:`StoreBusy` when the wait runs out; else go on without it."""
        fd = self._lock_fd
        if fd is None:
            yield
            return
        if not flock_within(fd, BUSY_TIMEOUT_MS / 1000):
            if required:
                holder = read_holder(fd)
                raise StoreBusy(
                    f"the store {self.path} stayed busy for {BUSY_TIMEOUT_MS / 1000:g} s: "
                    f"another cs-console (pid {holder.pid}) kept writing to it. Nothing was "
                    "written; try again in a moment."
                )
            yield
            return
        try:
            os.pwrite(fd, str(os.getpid()).ljust(PID_WIDTH).encode(), 0)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _open_monitor(self) -> sqlite3.Connection:
        """A connection kept only to ask ``PRAGMA data_version``: it changes when any
        other connection, in this process or another, commits."""
        monitor = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self._data_version = int(monitor.execute("PRAGMA data_version").fetchone()[0])
        return monitor

    def _poll_data_version(self) -> int | None:
        if self._monitor is None:
            return None
        try:
            return int(self._monitor.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def _note_foreign_commits(self) -> None:
        """Count a commit made by another handle since we last looked as a change of
        every table: we cannot tell which tables it wrote."""
        with self._monitor_lock:
            version = self._poll_data_version()
            if version is not None and version != self._data_version:
                self._data_version = version
                self._generations[ANY_TABLE] += 1

    def _count_own_commit(self, touched: set[str]) -> None:
        # Still under the write lock, so no other writer can have committed since our
        # own commit: the change the monitor sees now is ours, counted here by table.
        with self._monitor_lock:
            self._generations.update(touched)
            version = self._poll_data_version()
            if version is not None:
                self._data_version = version

    def generation(self, table: str) -> int | None:
        """How many write transactions have changed ``table`` since the store opened,
        including any other process's commit, or None on a read-only handle (it keeps
        no counts): figures derived from the table can be cached for as long as this
        number stays the same."""
        if not self.writer:
            return None
        self._note_foreign_commits()
        with self._monitor_lock:
            return self._generations[table] + self._generations[ANY_TABLE]

    def cached(self, table: str, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, or its earlier result for ``key`` if ``table`` has not been
        written since (see :meth:`generation`); always ``compute()`` on a read-only handle."""
        generation = self.generation(table)
        if generation is None:
            return compute()
        with self._cache_lock:
            found = self._cache.get(key)
        if found is not None and found[0] == generation:
            return found[1]  # type: ignore[no-any-return]
        value = compute()
        with self._cache_lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (generation, value)
        return value

    @property
    def schema_version(self) -> int:
        """The store's ``user_version``."""
        with self.read() as conn:
            return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())

    def _migrate(self) -> None:
        # One step per transaction, the version read again inside each: two processes
        # opening a new store at once both get here, and the second must skip the steps
        # the first already took.
        while True:
            with self.write() as conn:
                dbapi = conn.connection.dbapi_connection
                assert isinstance(dbapi, sqlite3.Connection)
                version = int(dbapi.execute("PRAGMA user_version").fetchone()[0])
                if version > LATEST_VERSION:
                    raise StoreError(
                        f"the store {self.path} was written by a newer cs-console "
                        f"(schema {version}, this one knows {LATEST_VERSION}); upgrade cs-console"
                    )
                if version == LATEST_VERSION:
                    # Derived data with its own version: a store from a release without
                    # the search index gets its (empty) tables and triggers here.
                    install_search_index(dbapi)
                    return
                # executescript would COMMIT our transaction; run statement by statement.
                for statement in _split_sql(MIGRATIONS[version]):
                    dbapi.execute(statement)
                dbapi.execute(f"PRAGMA user_version = {version + 1}")

    def quick_check(self) -> None:
        """Run SQLite's ``quick_check``; raise :class:`StoreDamaged` with advice if it fails."""
        try:
            with self.read() as conn:
                rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
        except DatabaseError as exc:  # SQLite may abort the check itself on a bad page
            rows = [str(exc.orig)]
        if rows != ["ok"]:
            raise StoreDamaged(
                f"the store {self.path} is damaged ({'; '.join(rows[:3])}). Nothing was "
                "changed. Keep a copy of the file, then try `sqlite3 FILE .recover`, or move "
                "it aside and start again: everything already synced comes back from the "
                "server, but unsent replies live only in this file."
            )


# --- the session ---------------------------------------------------------------------------


def take_session(store: Path, kind: SessionKind) -> int:
    """Take the store's session and write who holds it; the lock's file descriptor.

    Refused at once while a console holds the session (it holds it until it quits);
    while ``cs-console sync`` holds it (it ends by itself), waits up to
    ``BUSY_TIMEOUT_MS`` for it.

    Raises:
        StoreInUse: the session is held; the message names the holder's pid.
    """
    fd = open_lock_file(session_lock_path(store))
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            # A holder still writing its name reads as "?": it is given the same grace.
            if holder.kind != "console" and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            os.close(fd)
            raise StoreInUse(
                in_use_message(store, holder, BUSY_TIMEOUT_MS / 1000), holder
            ) from None
        os.pwrite(fd, f"{os.getpid()} {kind}".ljust(PID_WIDTH).encode(), 0)
        return fd


# --- SQLite connections ------------------------------------------------------------------


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def configure_sqlite(engine: Engine) -> None:
    """Apply this module's pragmas and IMMEDIATE write transactions to a SQLite engine
    (the reference server's SQLite database uses the same choices)."""
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level; transactions are begun explicitly in _on_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    except sqlite3.OperationalError:
        pass  # a read-only connection cannot change the journal mode; the writer did
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("cs_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
