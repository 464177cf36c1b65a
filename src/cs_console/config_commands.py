"""What ``cs-console config path|show|init|validate`` do, as plain functions.

Each takes the same ``home`` as :func:`cs_console.settings.load_settings` (None means
``$CS_CONSOLE_HOME``, else the platform's config directory) and reads the real
environment, so what they report is what the console would see.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cs_console.config import SECTIONS, ConfigError, ConsoleConfig, SettingsError
from cs_console.config_reader import (
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    LoadedConfig,
    read_config,
    toml_key,
    toml_value,
)
from cs_console.money import currency_digits
from cs_console.paths import CONFIG_FILE_NAME, UI_STATE_FILE_NAME, Paths
from cs_console.settings import read_token_file

MASK = "********"

#: Shown in ``init`` for settings that are unset by default, so the line to uncomment
#: already has the right shape.
_EXAMPLES: dict[tuple[str, str], str] = {
    ("agent", "name"): "Lan",
    ("agent", "group"): "after-sale",
    ("backend", "url"): "https://cs.example.com",
    ("backend", "token_file"): "token",
    ("ui", "language"): "zh-CN",
}
_KEYMAP_EXAMPLES = {"queue.next_waiting": "n,ctrl+g", "app.quit": "ctrl+q"}
_WIDTH = 88


def config_path(home: Path | None = None) -> Path:
    """The ``config.toml`` the console reads (it may not exist yet)."""
    return Paths.discover(home).config_file


def _load(paths: Paths, env: Mapping[str, str]) -> LoadedConfig:
    return read_config(paths.config_file, env, paths.ui_state_file)


def show(home: Path | None = None) -> str:
    """The effective configuration as TOML, each non-default value's origin noted.

    The token is never shown: only whether one is set and where from, as ``********``.

    Raises:
        SettingsError: the configuration has problems (as ``load_settings`` would).
    """
    env = os.environ
    paths = Paths.discover(home, env)
    loaded = _load(paths, env)
    file = loaded.config_file
    state = paths.ui_state_file
    lines = [
        "# Effective configuration, lowest precedence first: defaults, "
        f"{file}{'' if file.exists() else ' (not there)'},",
        f"# {state} (theme picked in the app), environment ({ENV_PREFIX}...).",
        "",
    ]
    config = loaded.config
    for section_name, model in SECTIONS.items():
        section = getattr(config, section_name)
        lines.append(f"[{section_name}]")
        for field_name in model.model_fields:
            path = (section_name, field_name)
            lines.append(_shown(field_name, getattr(section, field_name), loaded, path, config))
        if section_name == "backend":
            lines.append(_token_line(env, loaded))
        lines.append("")
    lines.append("[keymap]")
    for binding_id, keys in config.keymap.items():
        origin = _origin_note(loaded, ("keymap", binding_id))
        lines.append(f"{toml_key(binding_id)} = {toml_value(keys)}{origin}")
    return "\n".join(lines).rstrip() + "\n"


def _shown(
    name: str, value: Any, loaded: LoadedConfig, path: tuple[str, str], config: ConsoleConfig
) -> str:
    origin = _origin_note(loaded, path)
    if value is None:
        return f"# {name} is not set{origin}"
    return f"{name} = {_literal(value, config)}{origin}"


def _origin_note(loaded: LoadedConfig, path: tuple[str, ...]) -> str:
    origin = loaded.origin(path)
    if origin is None:
        return ""
    if origin == str(loaded.config_file):
        origin = CONFIG_FILE_NAME  # the header gives the full path
    elif origin.endswith(UI_STATE_FILE_NAME):
        origin = f"{UI_STATE_FILE_NAME}, picked in the app"
    return f"  # from {origin}"


def _token_line(env: Mapping[str, str], loaded: LoadedConfig) -> str:
    if env.get("CS_CONSOLE_TOKEN"):
        return f'# token = "{MASK}"  # from environment variable CS_CONSOLE_TOKEN'
    if loaded.token_file is not None:
        return f'# token = "{MASK}"  # read from {loaded.token_file}'
    return "# token is not set (CS_CONSOLE_TOKEN or backend.token_file)"


def _literal(value: Any, config: ConsoleConfig) -> str:
    if isinstance(value, Decimal):
        # Money keeps its minor-unit decimals: 20.00, not 20.0 or 2E+1.
        return f"{value:.{currency_digits(config.shop.currency)}f}"
    if isinstance(value, Enum):
        return toml_value(value.value)
    if isinstance(value, Path):
        return toml_value(str(value))
    return toml_value(value)


def init(home: Path | None = None, *, force: bool = False) -> Path:
    """Write a commented ``config.toml``: every setting, its description and default.

    The defaults are commented out, so the file changes nothing until a line is
    uncommented, and later versions' defaults still apply to untouched keys. With
    ``force`` an existing file is first kept as ``config.toml.bak``.

    Raises:
        SettingsError: the file exists and ``force`` is false.

    Returns:
        The file written.
    """
    path = config_path(home)
    if path.exists() and not force:
        raise SettingsError(f"{path} already exists; pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.replace(path.with_name(CONFIG_FILE_NAME + ".bak"))
    path.write_text(template(), encoding="utf-8")
    return path


def template() -> str:
    """The text :func:`init` writes."""
    defaults = ConsoleConfig.model_validate({})
    example_env = f"{ENV_PREFIX}SHIFT{ENV_NESTED_DELIMITER}ALERT_AFTER_S=240"
    lines = [
        "# cs-console configuration.",
        "#",
        *_comment(
            "Every setting is listed with its description and its default, commented "
            "out: uncomment a line to change it. A missing key keeps its default; an "
            "unknown key is an error, so a typo never passes silently. Environment "
            f"variables override this file, e.g. {example_env}. "
            "`cs-console config show` prints the values in effect and where each came "
            "from; `cs-console config validate` checks this file."
        ),
        "",
    ]
    for section_name, model in SECTIONS.items():
        lines.extend(_comment(" ".join((model.__doc__ or "").split())))
        lines.append(f"[{section_name}]")
        section = getattr(defaults, section_name)
        for field_name, info in model.model_fields.items():
            lines.append("")
            lines.extend(_comment(info.description or ""))
            value = getattr(section, field_name)
            if value is None:
                example = _EXAMPLES.get((section_name, field_name), "")
                lines.append("# Not set by default. For example:")
                lines.append(f"# {field_name} = {toml_value(example)}")
            else:
                lines.append(f"# {field_name} = {_literal(value, defaults)}")
        lines.append("")
    keymap_info = ConsoleConfig.model_fields["keymap"]
    lines.extend(_comment(keymap_info.description or ""))
    lines.append("[keymap]")
    lines.extend(f"# {toml_key(k)} = {toml_value(v)}" for k, v in _KEYMAP_EXAMPLES.items())
    return "\n".join(lines) + "\n"


def _comment(text: str) -> list[str]:
    # Never break at hyphens: "cs-high-contrast" must stay one word to be searchable.
    wrapped = textwrap.wrap(text, _WIDTH - 2, break_on_hyphens=False, break_long_words=False)
    return [f"# {line}" for line in wrapped]


def validate(home: Path | None = None) -> list[str]:
    """Every problem with the configuration, one line each; empty if all is well.

    Beyond what ``load_settings`` checks, this also reports broken theme files, a theme
    name that matches no theme, and a token file that is missing or readable by others.
    """
    env = os.environ
    paths = Paths.discover(home, env)
    try:
        loaded = _load(paths, env)
    except ConfigError as exc:
        return list(exc.problems)
    except SettingsError as exc:
        return [str(exc)]
    problems: list[str] = []
    if not env.get("CS_CONSOLE_TOKEN") and loaded.token_file is not None:
        try:
            read_token_file(loaded.token_file)
        except SettingsError as exc:
            problems.append(f"{_where(loaded, ('backend', 'token_file'))}: {exc}")
    problems.extend(_theme_problems(loaded, paths))
    return problems


def _where(loaded: LoadedConfig, path: tuple[str, ...]) -> str:
    return loaded.origin(path) or str(loaded.config_file)


def _theme_problems(loaded: LoadedConfig, paths: Paths) -> list[str]:
    # Deferred: themes are Textual objects, and only this command needs them here.
    from textual.theme import BUILTIN_THEMES

    from cs_console.ui.themes import load_themes, shipped_themes_dir

    themes, problems = load_themes([shipped_themes_dir(), paths.user_themes_dir])
    names = {theme.name for theme in themes} | set(BUILTIN_THEMES)
    wanted = loaded.config.ui.theme
    if wanted not in names:
        ours = ", ".join(sorted(theme.name for theme in themes))
        problems.append(
            f"{_where(loaded, ('ui', 'theme'))}: ui.theme: expected one of {ours} "
            f"(or a Textual theme), found {toml_value(wanted)}"
        )
    return problems
