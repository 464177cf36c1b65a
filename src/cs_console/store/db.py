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
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.pool import QueuePool

from cs_console.store.migrations import LATEST_VERSION, MIGRATIONS

T = TypeVar("T")

#: What a session is: the console, or one ``cs-console sync`` run.
SessionKind = Literal["console", "sync"]

BUSY_TIMEOUT_MS = 10_000
#: Derived figures kept by :meth:`Database.cached` (a few per queue filter).
MAX_CACHED = 64
#: Connections kept open: the UI thread, the sync worker and a few short-lived workers.
POOL_SIZE = 4
#: Owner read and write only, for the store and everything SQLite puts beside it.
PRIVATE = 0o600

# The table a data-changing statement writes to (SQLAlchemy and hand-written SQL).
_WRITTEN_TABLE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+[\"`\[]?(\w+)",
    re.IGNORECASE,
)
_TOUCHED = "cs_touched_tables"
_ANY_TABLE = "*"
_NOT_WRITES = ("SELECT", "BEGIN", "PRAGMA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# Wide enough for any pid, so a holder never has to truncate the file to write its own.
_PID_WIDTH = 24


class StoreError(Exception):
    """A problem with the local store, worded for the person at the keyboard."""


class StoreBusy(StoreError):
    """Another cs-console process has the store: a session, or a write that took too long."""


class StoreInUse(StoreBusy):
    """Another process holds the store's session (a console, or ``cs-console sync``)."""

    def __init__(self, message: str, holder: SessionHolder) -> None:
        super().__init__(message)
        self.holder = holder


class StoreDamaged(StoreError):
    """SQLite reports the file as damaged."""


@dataclass(frozen=True, slots=True)
class SessionHolder:
    """Who holds a store's session, as the holder wrote it in the lock file."""

    pid: str
    kind: str

    def describe(self) -> str:
        """``pid 123, a console`` in words."""
        what = {"console": "a console", "sync": "cs-console sync"}.get(self.kind, "cs-console")
        return f"pid {self.pid}, {what}"


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
            _create_private(path)
        elif not path.exists():
            raise StoreError(f"no store at {path}: run cs-console once to create it")
        _tighten(path)
        if writer and session is not None:
            self._session_fd = take_session(path, session)
        if writer:
            try:
                self._lock_fd = _open_lock_file(_write_lock_path(path))
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
            event.listen(self.engine, "before_cursor_execute", _note_written_table)
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
            _tighten(path)  # SQLite made the -wal and -shm files just now

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
            if _is_busy(exc):
                raise _busy(self.path) from None
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
                    self._count_own_commit(touched)

    @contextmanager
    def _cross_process_write_lock(self, *, required: bool) -> Iterator[None]:
        """Hold ``store.db.lock`` (no-op on a read-only handle). ``required``: raise
        :class:`StoreBusy` when the wait runs out; else go on without it."""
        fd = self._lock_fd
        if fd is None:
            yield
            return
        if not _flock_within(fd, BUSY_TIMEOUT_MS / 1000):
            if required:
                holder = _read_holder(fd)
                raise StoreBusy(
                    f"the store {self.path} stayed busy for {BUSY_TIMEOUT_MS / 1000:g} s: "
                    f"another cs-console (pid {holder.pid}) kept writing to it. Nothing was "
                    "written; try again in a moment."
                )
            yield
            return
        try:
            os.pwrite(fd, str(os.getpid()).ljust(_PID_WIDTH).encode(), 0)
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
                self._generations[_ANY_TABLE] += 1

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


def session_lock_path(store: Path) -> Path:
    """The file whose ``flock`` is the store's session."""
    return store.with_name(store.name + ".session.lock")


def take_session(store: Path, kind: SessionKind) -> int:
    """Take the store's session and write who holds it; the lock's file descriptor.

    Refused at once while a console holds the session (it holds it until it quits);
    while ``cs-console sync`` holds it (it ends by itself), waits up to
    ``BUSY_TIMEOUT_MS`` for it.

    Raises:
        StoreInUse: the session is held; the message names the holder's pid.
    """
    fd = _open_lock_file(session_lock_path(store))
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            # A holder still writing its name reads as "?": it is given the same grace.
            if holder.kind != "console" and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            os.close(fd)
            raise StoreInUse(_in_use_message(store, holder), holder) from None
        os.pwrite(fd, f"{os.getpid()} {kind}".ljust(_PID_WIDTH).encode(), 0)
        return fd


def session_holder(store: Path) -> SessionHolder | None:
    """Who holds the store's session now, or None (nobody, or no store yet)."""
    lock = session_lock_path(store)
    if not lock.exists():
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _in_use_message(store: Path, holder: SessionHolder) -> str:
    if holder.kind == "console":
        return (
            f"another cs-console ({holder.describe()}) has the store {store} open; use that "
            "console, or give this one its own --home. Commands such as `cs-console reply` "
            "and `cs-console conversations` work beside it."
        )
    return (
        f"another cs-console ({holder.describe()}) is using the store {store} and did not "
        f"finish within {BUSY_TIMEOUT_MS / 1000:g} s; try again when it has"
    )


# --- files and locks -----------------------------------------------------------------------


def _sibling(store: Path, suffix: str) -> Path:
    return store.with_name(store.name + suffix)


def _write_lock_path(store: Path) -> Path:
    # The name older versions held for a whole session: an old console and a new
    # command line still never write at the same time.
    return _sibling(store, ".lock")


def _create_private(path: Path) -> None:
    """Create the store's folder and an empty owner-only file, unless it exists."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created here rather than by SQLite, which would make it 0644: SQLite gives
        # the -wal and -shm files the same mode as the store.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror}") from None


def _tighten(path: Path) -> None:
    """Make the store and its companions owner-only if they are wider (an older
    cs-console created them 0644). Someone else's file is left as it is."""
    for file in (path, _sibling(path, "-wal"), _sibling(path, "-shm")):
        with suppress(OSError):
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                file.chmod(mode & PRIVATE)


def _open_lock_file(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror}") from None
    return fd


def _flock_within(fd: int, seconds: float) -> bool:
    """Take an exclusive ``flock`` on ``fd`` within ``seconds``; False if it stayed taken.

    ``flock`` has no timeout of its own: poll, starting fast (a write usually takes a
    few milliseconds) and backing off.
    """
    deadline = time.monotonic() + seconds
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)


def _read_holder(fd: int) -> SessionHolder:
    words = os.pread(fd, _PID_WIDTH, 0).decode(errors="replace").split()
    pid = words[0] if words and words[0].isdigit() else "?"
    kind = words[1] if len(words) > 1 else "?"
    return SessionHolder(pid=pid, kind=kind)


def _is_busy(exc: OperationalError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(orig)


def _busy(path: Path) -> StoreBusy:
    return StoreBusy(
        f"the store {path} stayed busy for {BUSY_TIMEOUT_MS / 1000:g} s (another cs-console "
        "is working on it); nothing was changed; try again in a moment"
    )


def _refused_write(exc: OperationalError, path: Path) -> StoreError:
    """SQLite refusing a write (disk full, read-only file) as a :class:`StoreError`."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
    if code == "SQLITE_FULL":
        return StoreError(f"the disk is full ({path.parent}); free some space")
    if code.startswith("SQLITE_READONLY"):
        return StoreError(f"the store is read-only ({path}); check its permissions")
    if _is_busy(exc):
        return _busy(path)
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
