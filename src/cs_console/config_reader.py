"""How ``config.toml``, the saved theme and the environment are read into a
:class:`~cs_console.config.ConsoleConfig`, and what an error in them says.

Reading, lowest precedence first: each field's default, ``config.toml``, the theme
picked live (``ui-state.json``, see :func:`cs_console.settings.save_ui_choice`), the
legacy flat environment variables (``CS_CONSOLE_ALERT_AFTER``...), and the nested ones
(``CS_CONSOLE_SHIFT__ALERT_AFTER_S``). The layers are merged here rather than inside
pydantic-settings so that every value's origin is known: an error then names the file
or the variable it came from, the key, what was expected and what was found. The same
TOML quoting (:func:`toml_key`, :func:`toml_value`) serves those messages and
``cs-console config show|init``.

Headless: no Textual here. This module imports :mod:`cs_console.config` (the model),
never the other way round; :mod:`cs_console.settings` imports this one. pydantic-settings
(~50 ms) is imported only when :func:`read_config` meets a nested variable, never at
module level, so the settings fast path stays cheap.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cs_console.config import SECTIONS, ConfigError, ConsoleConfig, Settings
from cs_console.domain import Group, Role
from cs_console.paths import Paths
from cs_console.secret import Secret

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

ENV_PREFIX = "CS_CONSOLE_"
ENV_NESTED_DELIMITER = "__"

#: Environment variables that are not config keys: the home folder and the token
#: are resolved by ``load_settings`` itself.
_NOT_CONFIG = frozenset({"CS_CONSOLE_HOME", "CS_CONSOLE_TOKEN", "CS_CONSOLE_ORDERS_TOKEN"})

#: The flat names that predate the config file -> the key each one sets.
LEGACY_ENV: dict[str, tuple[str, str]] = {
    "CS_CONSOLE_BACKEND_URL": ("backend", "url"),
    "CS_CONSOLE_TOKEN_FILE": ("backend", "token_file"),
    "CS_CONSOLE_INSECURE": ("backend", "insecure"),
    "CS_CONSOLE_AGENT": ("agent", "name"),
    "CS_CONSOLE_UNDO_SECONDS": ("shift", "undo_seconds"),
    "CS_CONSOLE_ENTER_SENDS": ("ui", "enter_sends"),
    "CS_CONSOLE_WARN_AFTER": ("shift", "warn_after_s"),
    "CS_CONSOLE_ALERT_AFTER": ("shift", "alert_after_s"),
    "CS_CONSOLE_SYNC_INTERVAL": ("shift", "sync_interval_s"),
}


# --- reading -----------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where each value that is not a default came from."""

    config: ConsoleConfig
    config_file: Path
    #: key path -> "the file", "environment variable X" or the state file.
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)

    def origin(self, path: tuple[str, ...]) -> str | None:
        """Where the value at ``path`` came from; None for a default."""
        return _lookup_origin(self.origins, path)

    @property
    def token_file(self) -> Path | None:
        """The token file, a relative path in the file taken relative to its folder."""
        return self._file_of("backend", self.config.backend.token_file)

    @property
    def orders_token_file(self) -> Path | None:
        """The order system's key file, resolved like :attr:`token_file`."""
        return self._file_of("orders", self.config.orders.token_file)

    def _file_of(self, section: str, path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        if not path.is_absolute() and self.origin((section, "token_file")) == str(self.config_file):
            return self.config_file.parent / path
        return path

    def settings(
        self, paths: Paths, *, token: Secret | None = None, orders_token: Secret | None = None
    ) -> Settings:
        """The :class:`Settings` of this config, with its token files resolved."""
        config = self.config
        values: dict[str, Any] = dict(config)  # the validated sections, as they are
        values["backend"] = config.backend.model_copy(update={"token_file": self.token_file})
        values["orders"] = config.orders.model_copy(update={"token_file": self.orders_token_file})
        values.update(paths=paths, token=token, orders_token=orders_token)
        return Settings.model_validate(values)


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``; an empty one when the file does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read it: {exc.strerror}"]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: expected UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None


def read_config(
    config_file: Path, env: Mapping[str, str], ui_state_file: Path | None = None
) -> LoadedConfig:
    """Merge defaults, ``config_file``, the saved theme and ``env``, and validate.

    Raises:
        ConfigError: every problem found, one line each naming the file or variable,
            the key, what was expected and what was found.
    """
    file_data = read_config_file(config_file)
    merged: dict[str, Any] = copy.deepcopy(file_data)
    origins: dict[tuple[str, ...], str] = dict.fromkeys(_leaf_paths(file_data), str(config_file))

    picked = saved_theme(ui_state_file, file_data) if ui_state_file else None
    if picked is not None and ui_state_file is not None:
        _set_path(merged, ("ui", "theme"), picked)
        origins[("ui", "theme")] = str(ui_state_file)

    problems: list[str] = []
    for name, (value, legacy_path) in _legacy_env(env).items():
        _set_path(merged, legacy_path, value)
        origins[legacy_path] = f"environment variable {name}"

    nested = {
        name: value
        for name, value in env.items()
        if name.upper().startswith(ENV_PREFIX)
        and value != ""
        and name.upper() not in _NOT_CONFIG
        and name.upper() not in LEGACY_ENV
    }
    for name, value in nested.items():
        path = tuple(name[len(ENV_PREFIX) :].lower().split(ENV_NESTED_DELIMITER))
        if path[0] not in ConsoleConfig.model_fields:
            continue  # not a config key (pydantic-settings ignores it too)
        if len(path) == 1 and not _is_json_object(value):
            problems.append(
                f"environment variable {name}: {path[0]}: expected a JSON object, or set "
                f"{ENV_PREFIX}{path[0].upper()}{ENV_NESTED_DELIMITER}<KEY> per key; "
                f"found {toml_value(value)}"
            )
            continue
        origins[path] = f"environment variable {name}"
    if problems:
        raise ConfigError(problems)
    _deep_merge(merged, _env_values(nested))

    try:
        config = ConsoleConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(
            [_describe(error, origins, config_file) for error in exc.errors()]
        ) from None
    return LoadedConfig(config=config, config_file=config_file, origins=origins)


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """The nested variables as pydantic-settings reads them (JSON tables, ``__`` paths)."""
    # Deferred: pydantic-settings costs ~50 ms, and only a config file, a saved theme
    # or a nested variable brings the console here.
    from pydantic_settings import EnvSettingsSource
    from pydantic_settings import SettingsError as SourceError

    class MappingEnvSource(EnvSettingsSource):
        """pydantic-settings' environment source over ``environ``, not ``os.environ``,
        so ``load_settings(env=...)`` is honoured and tests need no monkeypatching."""

        def _load_env_vars(self) -> Mapping[str, str | None]:
            # case_sensitive=False: the base class matches lower-cased names.
            return {name.lower(): value for name, value in environ.items() if value != ""}

    try:
        return MappingEnvSource(_env_model())()
    except SourceError as exc:  # pragma: no cover - guarded by the JSON check in read_config
        raise ConfigError([f"environment: {exc}"]) from None


@cache
def _env_model() -> type[BaseSettings]:
    """:class:`ConsoleConfig` as pydantic-settings' environment source wants it."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class ConsoleEnv(BaseSettings, ConsoleConfig):
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=ENV_NESTED_DELIMITER,
            env_ignore_empty=True,
            case_sensitive=False,
            extra="forbid",
        )

    return ConsoleEnv


def _legacy_env(env: Mapping[str, str]) -> dict[str, tuple[Any, tuple[str, str]]]:
    """The flat variables that are set, with values as the pre-config code read them."""
    found: dict[str, tuple[Any, tuple[str, str]]] = {}
    for name, path in LEGACY_ENV.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if name == "CS_CONSOLE_INSECURE":
            value = raw == "1"  # only an explicit 1 turns the safety check off
        elif name == "CS_CONSOLE_ENTER_SENDS":
            value = raw.strip().lower() not in ("0", "false", "no")
        found[name] = (value, path)
    return found


def saved_theme(ui_state_file: Path, file_data: Mapping[str, Any]) -> str | None:
    """The theme picked live, unless ``[ui] theme`` was edited since it was picked."""
    try:
        state = json.loads(ui_state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # program-written state; losing it only loses the last pick
    if not isinstance(state, dict) or not isinstance(state.get("theme"), str):
        return None
    ui_table = file_data.get("ui")
    file_theme = ui_table.get("theme") if isinstance(ui_table, dict) else None
    if state.get("config_theme") != file_theme:
        return None
    theme: str = state["theme"]
    return theme


def _is_json_object(value: str) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False


def _leaf_paths(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, last = path
    for part in parents:
        child = data.setdefault(part, {})
        if not isinstance(child, dict):
            return  # the file has a bad value here, which validation reports
        data = child
    data[last] = value


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> None:
    for key, value in override.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_merge(current, value)
        else:
            base[key] = value


def _lookup_origin(origins: Mapping[tuple[str, ...], str], path: tuple[str, ...]) -> str | None:
    for end in range(len(path), 0, -1):
        found = origins.get(path[:end])
        if found is not None:
            return found
    return None


# --- messages ----------------------------------------------------------------

_EXPECTED = {
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "decimal_parsing": "an amount such as 20.00",
    "decimal_type": "an amount such as 20.00",
    "string_type": "text in quotes",
    "string_too_short": "some text (not empty)",
    "model_type": "a table of keys",
    "model_attributes_type": "a table of keys",
    "dict_type": "a table of keys",
    "path_type": "a file path in quotes",
}


def _describe(error: Mapping[str, Any], origins: Mapping[tuple[str, ...], str], file: Path) -> str:
    """One line for one validation error: where, which key, expected, found."""
    loc = tuple(str(part) for part in error["loc"])
    where = _lookup_origin(origins, loc)
    if where is None:
        # A cross-field check fails on a default: blame whoever set its sibling.
        section = loc[:-1]
        where = next(
            (
                origin
                for path, origin in origins.items()
                if section and path[: len(section)] == section
            ),
            str(file),
        )
    key = dotted_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        if loc == ("backend", "token"):
            return (
                f"{where}: {key}: the token is never a config key; set CS_CONSOLE_TOKEN, "
                "or point backend.token_file at a file only you can read"
            )
        return f"{where}: {key}: unknown key{_suggestion(loc)}"
    return f"{where}: {key}: expected {_expected(error)}, found {_found(error.get('input'))}"


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        return f"one of {ctx.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": ("at least", "ge"),
            "greater_than": ("more than", "gt"),
            "less_than_equal": ("at most", "le"),
            "less_than": ("less than", "lt"),
        }[kind]
        limit = ctx.get(words[1])
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        return f"a number {words[0]} {shown}"
    if kind == "value_error":
        message = str(ctx.get("error", error.get("msg", "")))
        return message.removeprefix("expected ")
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return str(error.get("msg", kind)).removeprefix("Input should be ")


def _found(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = toml_value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggestion(loc: tuple[str, ...]) -> str:
    import difflib  # deferred: only for a mistyped key

    *parents, last = loc
    if not parents:
        for section, model in SECTIONS.items():
            if last in model.model_fields:
                return f"; did you mean {section}.{last} (under [{section}])?"
        known = list(ConsoleConfig.model_fields)
    elif len(parents) == 1 and parents[0] in SECTIONS:
        known = list(SECTIONS[parents[0]].model_fields)
    else:
        return ""
    close = difflib.get_close_matches(last, known, n=1)
    if close:
        return f"; did you mean {dotted_key((*parents, close[0]))}?"
    return f"; expected one of {', '.join(known)}"


# --- TOML text -----------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare if it can be, else quoted (``"queue.next"``)."""
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)


def dotted_key(path: tuple[str, ...]) -> str:
    """A key path as TOML writes it, e.g. ``shift.alert_after_s``."""
    return ".".join(toml_key(part) for part in path)


def toml_value(value: Any) -> str:
    """A scalar (or a flat table, as an inline table) as a TOML literal (strings
    escaped for a basic string)."""
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Role | Group):
        value = value.value
    text = str(value)
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
