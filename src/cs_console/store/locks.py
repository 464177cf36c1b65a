"""The files beside a store: its two lock files, and owner-only modes for all of them.

``store.db.lock`` is held (``flock``) by each write transaction, ``store.db.session.lock``
by a console or ``cs-console sync`` for as long as it runs (see the choices in
:mod:`cs_console.store.db`). A holder writes its pid (and, for the session, its kind)
at the start of the file, so that someone kept waiting is told who holds it. The store
holds customers' messages: it and every file SQLite puts beside it are the owner's
alone.

How long to wait is always the caller's to say: :mod:`cs_console.store.db` owns that
bound (``BUSY_TIMEOUT_MS``).
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from contextlib import suppress
from pathlib import Path

from cs_console.store.errors import SessionHolder, StoreError

#: Owner read and write only, for the store and everything SQLite puts beside it.
PRIVATE = 0o600
# Wide enough for any pid, so a holder never has to truncate the file to write its own.
PID_WIDTH = 24


def sibling(store: Path, suffix: str) -> Path:
    """A file beside the store: its name with ``suffix`` appended."""
    return store.with_name(store.name + suffix)


def session_lock_path(store: Path) -> Path:
    """The file whose ``flock`` is the store's session."""
    return store.with_name(store.name + ".session.lock")


def write_lock_path(store: Path) -> Path:
    """The file whose ``flock`` each write transaction holds."""
    # The name older versions held for a whole session: an old console and a new
    # command line still never write at the same time.
    return sibling(store, ".lock")


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
            return read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def in_use_message(store: Path, holder: SessionHolder, wait_s: float) -> str:
    """Why a session was refused: a console holds it, or a sync held it past ``wait_s``."""
    if holder.kind == "console":
        return (
            f"another cs-console ({holder.describe()}) has the store {store} open; use that "
            "console, or give this one its own --home. Commands such as `cs-console reply` "
            "and `cs-console conversations` work beside it."
        )
    return (
        f"another cs-console ({holder.describe()}) is using the store {store} and did not "
        f"finish within {wait_s:g} s; try again when it has"
    )


def create_private(path: Path) -> None:
    """Create the store's folder and an empty owner-only file, unless it exists."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created here rather than by SQLite, which would make it 0644: SQLite gives
        # the -wal and -shm files the same mode as the store.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror}") from None


def tighten(path: Path) -> None:
    """Make the store and its companions owner-only if they are wider (an older
    cs-console created them 0644). Someone else's file is left as it is."""
    for file in (path, sibling(path, "-wal"), sibling(path, "-shm")):
        with suppress(OSError):
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                file.chmod(mode & PRIVATE)


def open_lock_file(path: Path) -> int:
    """Open (creating it owner-only) a lock file; its file descriptor."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {path}: {exc.strerror}") from None
    return fd


def flock_within(fd: int, seconds: float) -> bool:
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


def read_holder(fd: int) -> SessionHolder:
    """Who wrote their pid (and kind) into a lock file; ``?`` for what is not there."""
    words = os.pread(fd, PID_WIDTH, 0).decode(errors="replace").split()
    pid = words[0] if words and words[0].isdigit() else "?"
    kind = words[1] if len(words) > 1 else "?"
    return SessionHolder(pid=pid, kind=kind)
