"""Loading the console's :class:`~cs_console.config.Settings` at start-up.

Values come, lowest precedence first, from the defaults, ``config.toml``, the theme
last picked live from the command palette (``ui-state.json``), and the environment
(``CS_CONSOLE_<SECTION>__<KEY>``, plus the older flat names such as
``CS_CONSOLE_ALERT_AFTER``). Where the files are is :mod:`cs_console.paths`' business.

The token is never taken from the command line (it would show in ``ps`` and shell
history) nor from ``config.toml`` (it would sit in backups and dotfile repositories):
only from ``CS_CONSOLE_TOKEN``, an owner-only token file, or the OS keyring.

This module imports :mod:`cs_console.config` (the model) and
:mod:`cs_console.config_reader` (the reader), never the other way round. Without a
config file or a ``CS_CONSOLE_*`` variable beyond the few it reads itself, the fast path
builds the model with its defaults and never imports pydantic-settings.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from cs_console.config import Settings, SettingsError
from cs_console.paths import Paths
from cs_console.secret import Secret

__all__ = [
    "Settings",
    "SettingsError",
    "load_settings",
    "load_settings_fully",
    "read_token_file",
    "save_ui_choice",
]


def read_token_file(path: Path) -> Secret:
    """Read a token from a file that only its owner can read.

    Raises:
        SettingsError: the file is missing, empty or readable by others.
    """
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


def load_settings(home: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``home`` (else ``CS_CONSOLE_HOME``, else the platform default),
    the config file there and the environment.

    Raises:
        SettingsError: the config file or an environment variable holds a bad value
            (the message names the file or variable, the key, what was expected and
            what was found), or the token file is missing, empty or readable by others.
    """
    env = os.environ if env is None else env
    paths = Paths.discover(home, env)
    if _unconfigured(paths, env):
        # Nothing to read: skip pydantic-settings (~50 ms before the first frame).
        # tests/test_config.py checks that this gives exactly what the full path gives.
        try:
            return _defaults(paths, env)
        except ValidationError:
            pass  # a bad CS_CONSOLE_BACKEND_URL: the full path says which and why
    return load_settings_fully(paths, env)


#: Environment variables the fast path understands; any other CS_CONSOLE_* needs the
#: full configuration machinery.
_SIMPLE_ENV = frozenset(
    {"CS_CONSOLE_HOME", "CS_CONSOLE_BACKEND_URL", "CS_CONSOLE_TOKEN", "CS_CONSOLE_TOKEN_FILE"}
)


def _unconfigured(paths: Paths, env: Mapping[str, str]) -> bool:
    # A theme picked live (ui-state.json) needs no machinery: _defaults reads it.
    if paths.config_file.exists():
        return False
    return all(k in _SIMPLE_ENV for k in env if k.startswith("CS_CONSOLE_") and env[k])


def _defaults(paths: Paths, env: Mapping[str, str]) -> Settings:
    backend: dict[str, object] = {}
    if env.get("CS_CONSOLE_BACKEND_URL"):
        backend["url"] = env["CS_CONSOLE_BACKEND_URL"]
    if env.get("CS_CONSOLE_TOKEN_FILE"):
        backend["token_file"] = Path(env["CS_CONSOLE_TOKEN_FILE"]).expanduser()
    # Deferred like read_config below: the many modules that import this one only for
    # Settings or SettingsError need no reader.
    from cs_console.config_reader import saved_theme

    ui: dict[str, object] = {}
    picked = saved_theme(paths.ui_state_file, {})
    if picked is not None:
        ui["theme"] = picked
    # Validated before the token is looked for: a bad URL or theme name falls back to
    # the full path, which says which and why.
    settings = Settings(paths=paths, backend=backend, ui=ui)
    token: Secret | None = None
    if env.get("CS_CONSOLE_TOKEN"):
        token = Secret(env["CS_CONSOLE_TOKEN"])
    elif settings.backend.token_file is not None:
        token = read_token_file(settings.backend.token_file)
    elif settings.backend.url:
        token = _from_keyring(settings.backend.url)
    return settings.model_copy(update={"token": token})


def _from_keyring(url: str) -> Secret | None:
    from cs_console import keystore  # deferred: keyring takes ~50 ms to import

    return keystore.lookup(url)


def load_settings_fully(paths: Paths, env: Mapping[str, str]) -> Settings:
    """The full path: config file, ui-state and environment, validated by pydantic."""
    from cs_console.config_reader import read_config  # deferred: see _defaults

    loaded = read_config(paths.config_file, env, paths.ui_state_file)
    config = loaded.config
    token: Secret | None = None
    if env.get("CS_CONSOLE_TOKEN"):
        token = Secret(env["CS_CONSOLE_TOKEN"])
    elif loaded.token_file is not None:
        token = read_token_file(loaded.token_file)
    elif config.backend.url:
        token = _from_keyring(config.backend.url)
    orders_token: Secret | None = None
    if env.get("CS_CONSOLE_ORDERS_TOKEN"):
        orders_token = Secret(env["CS_CONSOLE_ORDERS_TOKEN"])
    elif loaded.orders_token_file is not None:
        orders_token = read_token_file(loaded.orders_token_file)
    elif config.orders.url and config.orders.kind != "backend":
        orders_token = _from_keyring(config.orders.url)
    return loaded.settings(paths, token=token, orders_token=orders_token)


def save_ui_choice(home: Path | None, theme: str) -> Path:
    """Remember the theme picked live (command palette) in ``ui-state.json``.

    ``config.toml`` is the user's, with their comments, so the program never rewrites
    it. The choice wins over ``[ui] theme`` in the file as long as that line is what it
    was when the choice was made; editing it later makes the file win again, so a
    deliberate edit is never silently overridden. ``CS_CONSOLE_UI__THEME`` wins over
    both.

    Args:
        home: as for :func:`load_settings`; pass ``settings.paths.config_dir`` from a
            running app.
        theme: the theme's name.

    Returns:
        The state file written.
    """
    import json
    import tempfile
    import tomllib

    paths = Paths.discover(home)
    directory = paths.config_dir
    state_file = paths.ui_state_file
    state: dict[str, object] = {}
    try:
        loaded = json.loads(state_file.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            state = loaded
    except (OSError, ValueError):
        pass  # no state yet, or a damaged one: the new choice replaces it
    config_theme: object = None
    try:
        with paths.config_file.open("rb") as config_handle:
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
