"""Everything the console needs at start-up, as one frozen :class:`Settings`.

Values come, lowest precedence first, from the defaults, ``config.toml``, the theme
last picked live from the command palette (``ui-state.json``), and the environment
(``CS_CONSOLE_<SECTION>__<KEY>``, plus the older flat names such as
``CS_CONSOLE_ALERT_AFTER``). ``CS_CONSOLE_HOME`` (or ``--home``) holds config and data
together; without it data goes to the platform's user data directory and the config
to its user config directory.

The token is never taken from the command line (it would show in ``ps`` and shell
history) nor from ``config.toml`` (it would sit in backups and dotfile repositories):
only from ``CS_CONSOLE_TOKEN`` or an owner-only token file.

This module stays cheap to import; the pydantic model lives in
:mod:`cs_console.config` and is imported only when settings are loaded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from cs_console.domain import (
    DEFAULT_AUTHORITY_LIMIT_MINOR,
    DEFAULT_FLAG_MEANINGS,
    FlagColour,
    Group,
    Role,
)
from cs_console.secret import Secret

APP_NAME = "cs-console"
#: The one config file, in :func:`config_dir`.
CONFIG_FILE_NAME = "config.toml"
#: Choices made live in the app (the theme), kept apart so the user's commented
#: ``config.toml`` is never rewritten by the program.
UI_STATE_FILE_NAME = "ui-state.json"


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


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
    """Where ``config.toml``, ``ui-state.json`` and user themes live.

    The one place config paths are discovered, so tests patch only this. A home
    (``--home`` or ``CS_CONSOLE_HOME``) holds config and data together; otherwise the
    platform's user config directory (``~/.config/cs-console`` on Linux).
    """
    resolved = resolve_home(home, env)
    if resolved is not None:
        return resolved
    import platformdirs  # deferred: start-up speed

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


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


def _default_flag_meanings() -> dict[FlagColour, str]:
    return dict(DEFAULT_FLAG_MEANINGS)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the client needs to know at start-up.

    Every field has a default equal to the config file's default, so tests and tools
    can build one in code with only ``home``.
    """

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
    #: Where config.toml was looked for; None (built in code) means ``home``.
    config_home: Path | None = None
    agent_role: Role = Role.AGENT
    #: The desk the agent works at; None when not configured.
    agent_group: Group | None = None
    #: The language the agent answers customers in (quick replies, templates).
    agent_language: str = "en"
    #: An IANA zone name such as "Asia/Shanghai", or "local" for the machine's zone.
    timezone: str = "local"
    backend_kind: str = "reference"
    #: The token file the token was read from (the token itself is in ``token``).
    token_file: Path | None = None
    response_target_minutes: int = 3
    shop_return_address: str = ""
    currency: str = "CNY"
    #: Compensation an agent may grant alone, in minor units of ``currency``.
    authority_limit_minor: int = DEFAULT_AUTHORITY_LIMIT_MINOR
    flag_meanings: dict[FlagColour, str] = field(default_factory=_default_flag_meanings)
    theme: str = "cs-dark"
    #: The interface language.
    ui_language: str = "en"
    #: Binding id -> keys, for ``App.set_keymap``.
    keymap: dict[str, str] = field(default_factory=dict)
    #: Chatwoot: the account number, and team name -> desk.
    chatwoot_account_id: int | None = None
    team_groups: dict[str, Group] = field(default_factory=dict)
    #: Where orders come from: "backend" (the conversation backend's), vendure, medusa,
    #: or another reference server.
    orders_kind: str = "backend"
    orders_url: str | None = None
    orders_token: Secret | None = field(default=None, repr=False)
    orders_token_file: Path | None = None
    orders_channel_token: str | None = None
    orders_insecure: bool = False

    @property
    def store_path(self) -> Path:
        """The SQLite file."""
        return self.home / "store.db"

    @property
    def config_dir(self) -> Path:
        """The folder holding ``config.toml``, ``ui-state.json`` and user themes."""
        return self.config_home if self.config_home is not None else self.home

    @property
    def config_file(self) -> Path:
        """The ``config.toml`` these settings were read from (it may not exist)."""
        return self.config_dir / CONFIG_FILE_NAME

    @property
    def user_themes_dir(self) -> Path:
        """Where the user's own theme files are looked for."""
        return self.config_dir / "themes"

    def with_backend(self, url: str, token: Secret) -> Settings:
        """A copy pointed at another backend."""
        return replace(self, backend_url=url, token=token)


def load_settings(home: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``home`` (else ``CS_CONSOLE_HOME``, else the platform default),
    the config file there and the environment.

    Raises:
        SettingsError: the config file or an environment variable holds a bad value
            (the message names the file or variable, the key, what was expected and
            what was found), or the token file is missing, empty or readable by others.
    """
    env = os.environ if env is None else env
    resolved = resolve_home(home, env)
    directory = config_dir(resolved, env)
    if _unconfigured(directory, env):
        # Nothing to validate: skip pydantic-settings (100-150 ms before the first frame).
        # tests/test_config.py checks that this gives exactly what the full path gives.
        return _defaults(resolved, directory, env)
    return load_settings_fully(resolved, directory, env)


#: Environment variables the fast path understands; any other CS_CONSOLE_* needs the
#: full configuration machinery.
_SIMPLE_ENV = frozenset(
    {"CS_CONSOLE_HOME", "CS_CONSOLE_BACKEND_URL", "CS_CONSOLE_TOKEN", "CS_CONSOLE_TOKEN_FILE"}
)


def _unconfigured(directory: Path, env: Mapping[str, str]) -> bool:
    if (directory / CONFIG_FILE_NAME).exists() or (directory / UI_STATE_FILE_NAME).exists():
        return False
    return all(k in _SIMPLE_ENV for k in env if k.startswith("CS_CONSOLE_") and env[k])


def _defaults(resolved: Path | None, directory: Path, env: Mapping[str, str]) -> Settings:
    token: Secret | None = None
    if env.get("CS_CONSOLE_TOKEN"):
        token = Secret(env["CS_CONSOLE_TOKEN"])
    elif env.get("CS_CONSOLE_TOKEN_FILE"):
        token = read_token_file(Path(env["CS_CONSOLE_TOKEN_FILE"]))
    token_file = Path(env["CS_CONSOLE_TOKEN_FILE"]) if env.get("CS_CONSOLE_TOKEN_FILE") else None
    backend_url = env.get("CS_CONSOLE_BACKEND_URL") or None
    if token is None and backend_url:
        token = _from_keyring(backend_url)
    return Settings(
        home=resolved or default_home(),
        config_home=directory,
        backend_url=backend_url,
        token=token,
        token_file=token_file,
    )


def _from_keyring(url: str) -> Secret | None:
    from cs_console import keystore  # deferred: keyring takes ~50 ms to import

    return keystore.lookup(url)


def load_settings_fully(resolved: Path | None, directory: Path, env: Mapping[str, str]) -> Settings:
    """The full path: config file, ui-state and environment, validated by pydantic."""
    # Deferred: pydantic and pydantic-settings are the bulk of this function's cost,
    # and importing this module must stay cheap for `--help` and the CLI.
    from cs_console.config import read_config

    loaded = read_config(directory / CONFIG_FILE_NAME, env, directory / UI_STATE_FILE_NAME)
    token: Secret | None = None
    if env.get("CS_CONSOLE_TOKEN"):
        token = Secret(env["CS_CONSOLE_TOKEN"])
    elif loaded.token_file is not None:
        token = read_token_file(loaded.token_file)
    elif loaded.config.backend.url:
        token = _from_keyring(loaded.config.backend.url)
    orders_token: Secret | None = None
    if env.get("CS_CONSOLE_ORDERS_TOKEN"):
        orders_token = Secret(env["CS_CONSOLE_ORDERS_TOKEN"])
    elif loaded.orders_token_file is not None:
        orders_token = read_token_file(loaded.orders_token_file)
    elif loaded.config.orders.url and loaded.config.orders.kind != "backend":
        orders_token = _from_keyring(loaded.config.orders.url)
    return loaded.to_settings(
        home=resolved or default_home(),
        config_home=directory,
        token=token,
        orders_token=orders_token,
    )


def save_ui_choice(home: Path | None, theme: str) -> Path:
    """Remember the theme picked live (command palette) in ``ui-state.json``.

    ``config.toml`` is the user's, with their comments, so the program never rewrites
    it. The choice wins over ``[ui] theme`` in the file as long as that line is what it
    was when the choice was made; editing it later makes the file win again, so a
    deliberate edit is never silently overridden. ``CS_CONSOLE_UI__THEME`` wins over
    both.

    Args:
        home: as for :func:`load_settings`; pass ``settings.config_dir`` from a running app.
        theme: the theme's name.

    Returns:
        The state file written.
    """
    import json
    import tempfile
    import tomllib

    directory = config_dir(home)
    state_file = directory / UI_STATE_FILE_NAME
    state: dict[str, object] = {}
    try:
        loaded = json.loads(state_file.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            state = loaded
    except (OSError, ValueError):
        pass  # no state yet, or a damaged one: the new choice replaces it
    config_theme: object = None
    try:
        with (directory / CONFIG_FILE_NAME).open("rb") as config_handle:
            ui_table = tomllib.load(config_handle).get("ui")
        if isinstance(ui_table, dict):
            config_theme = ui_table.get("theme")
    except (OSError, ValueError):
        pass  # no config file, or a broken one that load_settings reports itself
    state["theme"] = theme
    state["config_theme"] = config_theme
    directory.mkdir(parents=True, exist_ok=True)
    # Write beside and rename, so a crash mid-write never leaves half a file.
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=directory, prefix=".ui-state.", delete=False
    ) as handle:
        json.dump(state, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    os.replace(handle.name, state_file)
    return state_file
