"""The reference server's database: the engine, its schema, and its transactions.

Any SQLAlchemy URL works; SQLite by default (the file and its -wal and -shm
owner-only). Writes are serialised in-process so the change feed's sequence numbers
commit in order (a client's cursor never skips a change that commits late): run one
server process per database.
"""

from __future__ import annotations

import os
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, insert, select

from cs_console.server.tables import SERVER_META, create_server_schema
from cs_console.store.db import configure_sqlite

_PRIVATE = 0o600


class ServerDatabase:
    """One database, its schema created where missing, and the server's id in it."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            _private_sqlite_file(self.engine)
            configure_sqlite(self.engine)
        create_server_schema(self.engine)
        self._write_lock = threading.Lock()
        with self.write() as conn:
            self.server_id = _server_id(conn)

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A serialised write transaction."""
        with self._write_lock, self.engine.connect() as raw:
            conn = raw.execution_options(cs_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn


def _server_id(conn: Connection) -> str:
    """The id this database was given when it was first opened (made now if new)."""
    found = conn.execute(
        select(SERVER_META.c.value).where(SERVER_META.c.key == "server_id")
    ).first()
    if found is not None:
        return str(found[0])
    server_id = uuid.uuid4().hex
    conn.execute(insert(SERVER_META).values(key="server_id", value=server_id))
    return server_id


def _private_sqlite_file(engine: Engine) -> None:
    """Create the database file owner-only before SQLite would make it 0644 (SQLite
    gives the -wal and -shm files the mode of the database), and tighten an older
    file and its companions. Someone else's file is left as it is."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    # A missing folder or a read-only one: SQLite says so when it opens the file.
    with suppress(OSError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _PRIVATE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with suppress(OSError):
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                file.chmod(mode & _PRIVATE)
