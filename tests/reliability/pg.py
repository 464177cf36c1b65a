"""A throwaway PostgreSQL cluster for tests: initdb into a fresh folder, start it on
127.0.0.1 on a free port, and remove it all afterwards.

PostgreSQL refuses to run as root, so as root the binaries run as the ``postgres``
user (``runuser``) in a folder that user owns. Anything that stops the cluster from
starting raises :class:`PostgresUnavailable` with the reason, so the caller can skip
(or fail, when real backends are required).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.harness import free_port

#: Where the PostgreSQL binaries are looked for, besides ``PATH``.
SEARCH_DIRS = ("/usr/local/bin", "/usr/local/pgsql/bin", "/usr/lib/postgresql")
SERVICE_USER = "postgres"


class PostgresUnavailable(Exception):
    """No PostgreSQL cluster could be started here; the message says why."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCH_DIRS:
        for candidate in sorted(Path(folder).glob(f"**/{name}"), reverse=True):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    raise PostgresUnavailable(f"no `{name}` on PATH or in {', '.join(SEARCH_DIRS)}")


def _as_service_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root, and no `runuser` to drop to postgres")
    return [runuser, "-u", SERVICE_USER, "--", *argv]


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            _as_service_user(argv), capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise PostgresUnavailable(f"{what} failed ({done.returncode}): {' / '.join(output)}")


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A running, empty cluster; yields its SQLAlchemy URL (psycopg driver).

    Raises:
        PostgresUnavailable: No driver, no binaries, or the cluster did not start.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("the psycopg driver is not installed") from None
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    folder = Path(tempfile.mkdtemp(prefix="cs-console-pg-"))
    data = folder / "data"
    try:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise PostgresUnavailable("running as root, and no `postgres` user") from None
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        _run(
            [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            "initdb",
        )
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            "-c fsync=off -c max_connections=200 -c shared_buffers=64MB"
        )
        _run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
            "pg_ctl start",
        )
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], "pg_ctl stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
