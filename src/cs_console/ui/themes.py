"""Theme files (TOML) as Textual :class:`~textual.theme.Theme` objects.

A theme file maps Textual's theme fields (``name``, ``primary``, ``background``...,
``dark``, ``ansi``) and a ``[variables]`` table: the app's own colours
(:data:`APP_VARIABLES`) and any Textual variable. Files load error-tolerantly: a broken
one yields one "file: problem" line and is skipped, so one bad user theme never stops
the console. See ``themes/README.md`` for the format.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from cs_console.sanitize import sanitize

#: The app's own colour variables (waiting clock, message kinds, order flags). Shipped
#: themes define them all; a user theme may omit them (the app's defaults apply).
APP_VARIABLES: tuple[str, ...] = (
    "clock-warn",
    "clock-alert",
    "message-customer",
    "message-agent",
    "message-note",
    "flag-red",
    "flag-yellow",
    "flag-green",
    "flag-blue",
    "flag-purple",
)

#: Theme fields that hold a colour, as Color.parse reads it ("#61afef", "ansi_red"...).
COLOUR_FIELDS: tuple[str, ...] = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
_BOOL_FIELDS = ("dark", "ansi")
_NUMBER_FIELDS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = frozenset({"name", *COLOUR_FIELDS, *_BOOL_FIELDS, *_NUMBER_FIELDS, "variables"})
#: A theme's name is shown in the theme picker, which reads it as markup, and Textual
#: puts it in a CSS class (``-theme-<name>``), which allows only these characters.
#: So an ESC, a ``[`` or a space in a name would reach the terminal or break the app.
THEME_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ThemeFileError(ValueError):
    """A theme file that cannot become a Theme; the message says why."""


def shipped_themes_dir() -> Path:
    """The themes that come with cs-console.

    From a wheel they are package data (``cs_console/_data/themes``, put there by the
    build's force-include); in an editable install, the repository's ``themes/``.
    """
    packaged = files("cs_console") / "_data" / "themes"
    # A regular (not zipped) install gives a real path, which is all we support.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "themes"


def load_theme_file(path: Path) -> Theme:
    """One theme file as a Theme.

    Raises:
        ThemeFileError: the file is unreadable, not TOML, or not a valid theme.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ThemeFileError("expected UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"not valid TOML: {exc}") from None
    return theme_from_table(data)


def theme_from_table(data: Mapping[str, Any]) -> Theme:
    """A Theme from a theme file's table, every value checked first.

    Raises:
        ThemeFileError: a key is unknown, missing or of the wrong kind, or a colour
            does not parse.
    """
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ThemeFileError(
            f"unknown key {unknown[0]!r}; expected {', '.join(sorted(_KNOWN_KEYS))}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError('expected name = "your-theme-name"')
    if not THEME_NAME_RE.fullmatch(name):
        raise ThemeFileError(
            f"name: expected letters, digits, '-' and '_' (at most 64), found {name!r}"
        )
    if "primary" not in data:
        raise ThemeFileError("expected a primary colour")
    colours: dict[str, str] = {}
    for key in COLOUR_FIELDS:
        if key in data:
            colours[key] = _colour(key, data[key])
    flags: dict[str, bool] = {}
    for key in _BOOL_FIELDS:
        if key in data:
            if not isinstance(data[key], bool):
                raise ThemeFileError(f"{key}: expected true or false, found {data[key]!r}")
            flags[key] = data[key]
    numbers: dict[str, float] = {}
    for key in _NUMBER_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThemeFileError(f"{key}: expected a number, found {value!r}")
            numbers[key] = float(value)
    variables = _variables(data.get("variables", {}))
    if flags.get("ansi", False):
        # Textual's own CSS reads these two, and only its non-ANSI colour system
        # derives them: an ANSI theme without them fails when it is applied.
        dark = flags.get("dark", True)
        variables.setdefault("ansi-background", "ansi_black" if dark else "ansi_white")
        variables.setdefault("ansi-foreground", "ansi_white" if dark else "ansi_black")
    theme = Theme(
        name=name,
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        dark=flags.get("dark", True),
        ansi=flags.get("ansi", False),
        variables=variables,
    )
    # Set afterwards so Textual's own defaults apply when the file leaves them out.
    if "luminosity_spread" in numbers:
        theme.luminosity_spread = numbers["luminosity_spread"]
    if "text_alpha" in numbers:
        theme.text_alpha = numbers["text_alpha"]
    try:
        # Builds every derived shade; catches anything the checks above let through.
        theme.to_color_system().generate()
    except (ColorParseError, ValueError, TypeError) as exc:
        raise ThemeFileError(f"Textual cannot use it: {exc}") from None
    return theme


def _colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(
            f'{key}: expected a colour in quotes such as "#61afef", found {value!r}'
        )
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ThemeFileError(f"{key}: {exc}") from None
    return value


def _variables(table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ThemeFileError("variables: expected a [variables] table")
    variables: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise ThemeFileError(f"variables.{key}: expected text in quotes, found {value!r}")
        # Only the app's variables are known to be plain colours; Textual's own may be
        # styles ("bold") or colours with alpha ("ansi_default 50%").
        variables[key] = _colour(f"variables.{key}", value) if key in APP_VARIABLES else value
    return variables


def load_themes(dirs: Sequence[Path]) -> tuple[list[Theme], list[str]]:
    """Every ``*.toml`` theme in ``dirs``, in order; a later theme replaces an earlier
    one of the same name (so a user theme can restyle a shipped one).

    Args:
        dirs: the shipped folder first, then ``<config dir>/themes``; a folder that
            does not exist is skipped quietly (most users have no themes of their own).

    Returns:
        The themes, and one "file: problem" line per file that was skipped.
    """
    by_name: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                # Shown in a notification and by `config validate`: the file's own text
                # (and its name) must not carry an escape sequence to the terminal.
                problems.append(sanitize(f"{path}: {exc}"))
                continue
            by_name.pop(theme.name, None)  # re-insert: the replacement keeps load order
            by_name[theme.name] = theme
    return list(by_name.values()), problems
