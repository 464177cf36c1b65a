"""What an unexpected error leaves behind: a log file the agent can send, never a
screen of local variables.

A crash screen with locals shows whatever the failing frames held: customer messages,
addresses, the backend's token. The log holds the traceback alone (file, line and
source of each frame), with the token blanked, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import traceback
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cs_console import __version__
from cs_console.sanitize import sanitize

#: Crash logs kept per folder; older ones are removed when a new one is written.
KEEP_LOGS = 20
REDACTED = "********"


def crash_log_text(error: BaseException, *, secrets: Iterable[str] = ()) -> str:
    """The log's text: versions, then the traceback without locals, secrets blanked."""
    lines = [
        f"cs-console {__version__} crashed at {datetime.now().astimezone().isoformat()}",
        f"Python {platform.python_version()} on {platform.platform()}",
        "",
        *traceback.format_exception(error),
    ]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return sanitize(text)


def write_crash_log(folder: Path, error: BaseException, *, secrets: Iterable[str] = ()) -> Path:
    """Write the log for ``error`` into ``folder`` (made 0700, the file 0600); its path.

    Falls back to the system's temporary folder when ``folder`` cannot be written (a
    full or read-only disk is a common cause of the crash being logged).
    """
    text = crash_log_text(error, secrets=secrets)
    name = datetime.now().strftime("crash-%Y%m%d-%H%M%S-") + f"{os.getpid()}.log"
    for where in (folder, Path(os.environ.get("TMPDIR", "/tmp"))):  # noqa: S108
        try:
            where.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = where / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            continue
        if where == folder:
            _prune(where)
        return path
    # Nowhere to write: the traceback (still without locals) goes to stderr instead.
    sys.stderr.write(text)
    return Path("<stderr>")


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("crash-*.log"))
    for old in logs[:-KEEP_LOGS]:
        with contextlib.suppress(OSError):
            old.unlink()
