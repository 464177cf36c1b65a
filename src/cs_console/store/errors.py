"""What can go wrong with the local store, in words for the person at the keyboard.

The errors :mod:`cs_console.store.db` raises, who holds a store's session (carried by
:class:`StoreInUse`), and SQLite's own refusals turned into those errors: the raw ones
carry SQL and a documentation URL, which help nobody at a support desk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only annotations: the console asks who holds a store before its first frame,
    # which must not wait for SQLAlchemy's import.
    from sqlalchemy.exc import OperationalError


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


def is_busy(exc: OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(orig)


def busy(path: Path, wait_s: float) -> StoreBusy:
    """The store stayed busy for ``wait_s`` seconds, in plain words."""
    return StoreBusy(
        f"the store {path} stayed busy for {wait_s:g} s (another cs-console "
        "is working on it); nothing was changed; try again in a moment"
    )


def refused_write(exc: OperationalError, path: Path, wait_s: float) -> StoreError:
    """SQLite refusing a write (disk full, read-only file) as a :class:`StoreError`;
    ``wait_s`` is how long SQLite waited when the store was busy."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", "") if isinstance(orig, sqlite3.Error) else ""
    if code == "SQLITE_FULL":
        return StoreError(f"the disk is full ({path.parent}); free some space")
    if code.startswith("SQLITE_READONLY"):
        return StoreError(f"the store is read-only ({path}); check its permissions")
    if is_busy(exc):
        return busy(path, wait_s)
    return StoreError(f"the store could not be written ({orig})")
