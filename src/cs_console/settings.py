"""Where the store lives and how to reach the backend, read from the environment.

``CS_CONSOLE_HOME`` (or ``--home``) holds config and data together;
``CS_CONSOLE_BACKEND_URL`` and ``CS_CONSOLE_TOKEN`` or ``CS_CONSOLE_TOKEN_FILE`` point the
client at a backend. The token is never taken from the command line (it would show
in ``ps`` and shell history).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from cs_console.secret import Secret

APP_NAME = "cs-console"


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


def default_home() -> Path:
    """The platform's user data directory for cs-console."""
    import platformdirs  # deferred: start-up speed

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def read_token_file(path: Path) -> Secret:
    """Read a token from a file that only its owner can read."""
    try:
        info = path.stat()
    except OSError as exc:
        raise SettingsError(f"cannot read the token file {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(
            f"the token file {path} can be read by others; run `chmod 600 {path}` first"
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise SettingsError(f"the token file {path} is empty")
    return Secret(token)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the client needs to know at start-up."""

    home: Path
    backend_url: str | None = None
    token: Secret | None = field(default=None, repr=False)
    insecure: bool = False
    agent_name: str | None = None
    undo_seconds: float = 5.0
    enter_sends: bool = True
    warn_after_s: float = 60.0
    alert_after_s: float = 180.0
    ship_by_hours: int = 48
    sync_interval_s: float = 3.0
    shop_name: str = "our shop"

    @property
    def store_path(self) -> Path:
        """The SQLite file."""
        return self.home / "store.db"

    def with_backend(self, url: str, token: Secret) -> Settings:
        """A copy pointed at another backend."""
        return replace(self, backend_url=url, token=token)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} cannot be negative")
    return value


def load_settings(home: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``home`` (else ``CS_CONSOLE_HOME``, else the platform default) and
    the environment."""
    env = os.environ if env is None else env
    resolved = home or (Path(env["CS_CONSOLE_HOME"]) if env.get("CS_CONSOLE_HOME") else None)
    token: Secret | None = None
    if env.get("CS_CONSOLE_TOKEN"):
        token = Secret(env["CS_CONSOLE_TOKEN"])
    elif env.get("CS_CONSOLE_TOKEN_FILE"):
        token = read_token_file(Path(env["CS_CONSOLE_TOKEN_FILE"]))
    enter = env.get("CS_CONSOLE_ENTER_SENDS", "1").strip().lower()
    return Settings(
        home=(resolved or default_home()).expanduser(),
        backend_url=env.get("CS_CONSOLE_BACKEND_URL") or None,
        token=token,
        insecure=env.get("CS_CONSOLE_INSECURE", "") == "1",
        agent_name=env.get("CS_CONSOLE_AGENT") or None,
        undo_seconds=_float(env, "CS_CONSOLE_UNDO_SECONDS", 5.0),
        enter_sends=enter not in ("0", "false", "no"),
        warn_after_s=_float(env, "CS_CONSOLE_WARN_AFTER", 60.0),
        alert_after_s=_float(env, "CS_CONSOLE_ALERT_AFTER", 180.0),
        sync_interval_s=_float(env, "CS_CONSOLE_SYNC_INTERVAL", 3.0),
    )
