"""Where cs-console keeps its files: the one place paths are worked out.

A home (``--home`` or ``CS_CONSOLE_HOME``) holds config and data together. Without
one, data (the store, crash logs) goes to the platform's user data directory and
config (``config.toml``, ``ui-state.json``, user themes and quick replies) to its user
config directory.

Cheap to import (no pydantic, platformdirs only when a default is needed): the CLI's
``--help`` and the console's first frame both pass through here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

APP_NAME = "cs-console"
#: The one config file, in :attr:`Paths.config_dir`.
CONFIG_FILE_NAME = "config.toml"
#: Choices made live in the app (the theme), kept apart so the user's commented
#: ``config.toml`` is never rewritten by the program.
UI_STATE_FILE_NAME = "ui-state.json"
#: The local SQLite store, in :attr:`Paths.home`.
STORE_FILE_NAME = "store.db"
#: The reference server's database, in its home.
SERVER_FILE_NAME = "server.db"


def default_home() -> Path:
    """The platform's user data directory for cs-console."""
    import platformdirs  # deferred: start-up speed

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def resolve_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The home folder asked for: ``home`` if given, else ``$CS_CONSOLE_HOME``, else None."""
    env = os.environ if env is None else env
    if home is not None:
        return home.expanduser()
    raw = env.get("CS_CONSOLE_HOME")
    return Path(raw).expanduser() if raw else None


def config_dir(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Where ``config.toml``, ``ui-state.json``, user themes and quick replies live.

    The one place config paths are discovered, so tests patch only this. A home
    (``--home`` or ``CS_CONSOLE_HOME``) holds config and data together; otherwise the
    platform's user config directory (``~/.config/cs-console`` on Linux).
    """
    resolved = resolve_home(home, env)
    if resolved is not None:
        return resolved
    import platformdirs  # deferred: start-up speed

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


class Paths:
    """The console's two folders and the files in them.

    Args:
        home: Data: the store and crash logs.
        config_dir: Config: ``config.toml``, ``ui-state.json``, user themes and quick
            replies; the home when not given (a home holds both).
    """

    # A plain class rather than a dataclass: ``dataclasses`` costs start-up time, and
    # ``config_dir`` needs a default computed from ``home``.
    __slots__ = ("config_dir", "home")

    home: Path
    config_dir: Path

    def __init__(self, home: Path, config_dir: Path | None = None) -> None:
        object.__setattr__(self, "home", home)
        object.__setattr__(self, "config_dir", home if config_dir is None else config_dir)

    @classmethod
    def discover(cls, home: Path | None = None, env: Mapping[str, str] | None = None) -> Paths:
        """The folders for ``home`` (else ``CS_CONSOLE_HOME``, else the platform's)."""
        resolved = resolve_home(home, env)
        return cls(resolved or default_home(), config_dir(resolved, env))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Paths is frozen; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Paths):
            return NotImplemented
        return (self.home, self.config_dir) == (other.home, other.config_dir)

    def __hash__(self) -> int:
        return hash((self.home, self.config_dir))

    def __repr__(self) -> str:
        return f"Paths(home={self.home!r}, config_dir={self.config_dir!r})"

    @property
    def store(self) -> Path:
        """The SQLite store."""
        return self.home / STORE_FILE_NAME

    @property
    def server_database(self) -> Path:
        """The reference server's SQLite file, when ``cs-console serve`` runs here."""
        return self.home / SERVER_FILE_NAME

    @property
    def attachments_dir(self) -> Path:
        """Copies of files the agent sends (the outbox owns them until they are sent)
        and files fetched to open, one per attachment id."""
        return self.home / "attachments"

    @property
    def logs_dir(self) -> Path:
        """Where crash logs go."""
        return self.home / "logs"

    @property
    def config_file(self) -> Path:
        """The ``config.toml`` read at start-up (it may not exist)."""
        return self.config_dir / CONFIG_FILE_NAME

    @property
    def ui_state_file(self) -> Path:
        """The choices made live in the app (see ``settings.save_ui_choice``)."""
        return self.config_dir / UI_STATE_FILE_NAME

    @property
    def user_themes_dir(self) -> Path:
        """Where the user's own theme files are looked for."""
        return self.config_dir / "themes"

    @property
    def quick_replies_dir(self) -> Path:
        """The agent's own quick-reply library."""
        return self.config_dir / "quick_replies"


def write_whole(target: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``target`` whole or not at all, owner-only (``mkstemp``'s mode),
    synced before it takes the name: a crash leaves the old file or none, never half.
    The folder must exist.

    With ``replace=False`` an existing ``target`` is left alone: ``FileExistsError``,
    also when another process made it meanwhile (the name is taken by a hard link).
    """
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)
            Path(temporary).unlink()
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
