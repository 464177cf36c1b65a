"""Opening the SQLite store: pragmas, the single-writer lock, transactions, migrations.

Choices, and why:

* WAL journal, so the UI reads while the sync thread writes.
* ``synchronous=FULL``: the outbox is the only copy of a reply the agent has
  typed until the server has it; FULL survives a power cut, NORMAL only a crash.
  It costs about a third of write speed here, which batching more than repays.
* Write transactions begin ``IMMEDIATE`` and wait up to ``busy_timeout``: a plain
  ``BEGIN`` that reads and then writes fails at once on the lock upgrade instead of
  waiting.
* One writing process per store (a lock file beside it), and one writing thread at
  a time inside it: SQLite 3.40 (bundled with this Python) can corrupt a WAL file
  when two connections write or checkpoint at once (fixed in 3.51.3).
* Connections are pooled and kept open: opening one and setting its pragmas cost
  more than the indexed reads the UI makes on every keystroke. A connection serves
  one thread at a time; every checkout is a fresh transaction.
* The writing process counts commits per table (:meth:`Database.generation`), so
  derived figures such as the queue's counts can be kept until their table changes.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import QueuePool

from cs_console.store.migrations import LATEST_VERSION, MIGRATIONS

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
#: Derived figures kept by :meth:`Database.cached` (a few per queue filter).
MAX_CACHED = 64
#: Connections kept open: the UI thread, the sync worker and a few short-lived workers.
POOL_SIZE = 4

# The table a data-changing statement writes to (SQLAlchemy and hand-written SQL).
_WRITTEN_TABLE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+[\"`\[]?(\w+)",
    re.IGNORECASE,
)
_TOUCHED = "cs_touched_tables"
_ANY_TABLE = "*"
_NOT_WRITES = ("SELECT", "BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class StoreError(Exception):
    """A problem with the local store, worded for the person at the keyboard."""


class StoreBusy(StoreError):
    """Another cs-console process already writes to this store."""


class StoreDamaged(StoreError):
    """SQLite reports the file as damaged."""


class Database:
    """A handle on one store file: ``read()`` and ``write()`` hand out transactions."""

    def __init__(self, path: Path, *, writer: bool = True) -> None:
        self.path = path
        self.writer = writer
        self._write_lock = threading.Lock()
        self._lock_fd: int | None = None
        if writer:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._take_process_lock()
        elif not path.exists():
            raise StoreError(f"no store at {path}: run cs-console once to create it")
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
            event.listen(self.engine, "before_cursor_execute", _note_written_table)
            try:
                self._migrate()
            except DatabaseError as exc:
                self.close()
                raise StoreDamaged(
                    f"cannot read the store {path} ({exc.orig}). Nothing was changed. Keep a "
                    "copy of the file, then move it aside and start again: everything already "
                    "synced comes back from the server, but unsent replies live only in it."
                ) from None
            except Exception:
                self.close()
                raise

    def _take_process_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreBusy(
                f"another cs-console (pid {holder}) is using the store {self.path}; "
                "close it first, or give this one its own --home"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        """Release the engine and the writer lock."""
        self.engine.dispose()
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: a consistent snapshot for several queries."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, begun IMMEDIATE; commits on success, rolls back on error."""
        if not self.writer:
            raise StoreError("this store was opened read-only")
        with self._write_lock, self.engine.connect() as raw:
            conn = raw.execution_options(cs_immediate=True)
            touched: set[str] = set()
            conn.info[_TOUCHED] = touched
            try:
                with conn.begin():
                    yield conn
            except OperationalError as exc:
                # In plain words: the raw error carries SQL and a documentation URL.
                raise _refused_write(exc, self.path) from None
            finally:
                conn.info.pop(_TOUCHED, None)
                # Counted after the commit (or rollback): a reader that saw the old
                # generation cannot have cached figures taken before this commit.
                self._generations.update(touched)

    def generation(self, table: str) -> int | None:
        """How many write transactions have changed ``table`` since the store opened, or
        None when another process may change it (a read-only handle): figures derived
        from the table can be cached for as long as this number stays the same."""
        if not self.writer:
            return None
        return self._generations[table] + self._generations[_ANY_TABLE]

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
        version = self.schema_version
        if version > LATEST_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer cs-console "
                f"(schema {version}, this one knows {LATEST_VERSION}); upgrade cs-console"
            )
        for step in range(version, LATEST_VERSION):
            with self.write() as conn:
                dbapi = conn.connection.dbapi_connection
                assert isinstance(dbapi, sqlite3.Connection)
                # executescript would COMMIT our transaction; run statement by statement.
                for statement in _split_sql(MIGRATIONS[step]):
                    dbapi.execute(statement)
                dbapi.execute(f"PRAGMA user_version = {step + 1}")

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


def _refused_write(exc: OperationalError, path: Path) -> StoreError:
    """SQLite refusing a write (disk full, read-only file) as a :class:`StoreError`."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
    if code == "SQLITE_FULL":
        return StoreError(f"the disk is full ({path.parent}); free some space")
    if code.startswith("SQLITE_READONLY"):
        return StoreError(f"the store is read-only ({path}); check its permissions")
    return StoreError(f"the store could not be written ({orig})")


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


def _note_written_table(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    touched = conn.info.get(_TOUCHED)
    if touched is None:
        return
    if statement.lstrip()[:9].upper().startswith(_NOT_WRITES):
        return
    found = _WRITTEN_TABLE.match(statement)
    # A statement of another shape (a CTE, say) may write anywhere.
    touched.add(found.group(1).lower() if found is not None else _ANY_TABLE)


def _on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("cs_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
