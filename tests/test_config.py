"""config.toml, the environment and ui-state.json as load_settings and `config` read them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cs_console import config_commands
from cs_console.config import ConsoleConfig
from cs_console.domain import DEFAULT_FLAG_MEANINGS, FlagColour, Group, Role
from cs_console.paths import Paths, config_dir
from cs_console.secret import Secret
from cs_console.settings import Settings, SettingsError, load_settings, save_ui_choice

TOKEN = "tok-3f9c2e1d-very-secret"

FULL_CONFIG = """
[agent]
name = "Lan"
role = "supervisor"
group = "after-sale"
language = "zh-CN"
timezone = "Asia/Shanghai"

[backend]
kind = "reference"
url = "https://cs.example.com"
insecure = true

[shift]
response_target_minutes = 5
warn_after_s = 90
alert_after_s = 240.5
undo_seconds = 8
ship_by_hours = 24
sync_interval_s = 2

[shop]
name = "Teapot House"
return_address = "12 Tea Street, Hangzhou"
currency = "CNY"
authority_limit = 19.99

[flags]
red = "courier problem"
purple = "address change"

[ui]
theme = "cs-light"
enter_sends = false
language = "en"

[keymap]
"queue.next_waiting" = "ctrl+n"
"app.quit" = "ctrl+q,f10"
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CS_CONSOLE_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("CS_CONSOLE_"):
            monkeypatch.delenv(name)


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def owner_only_token_file(path: Path, token: str = TOKEN) -> Path:
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


# --- defaults and values -------------------------------------------------------


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, env={})
    # One model: what the file would give is what code gets with only the paths.
    assert settings == Settings(paths=Paths(tmp_path))
    assert settings.ui.theme == "cs-dark"
    assert settings.agent.role is Role.AGENT
    assert settings.agent.group is None
    assert settings.agent.timezone == "local"
    assert settings.shift.response_target_minutes == 3
    assert (settings.shift.warn_after_s, settings.shift.alert_after_s) == (60.0, 180.0)
    assert (
        settings.shift.undo_seconds,
        settings.shift.ship_by_hours,
        settings.shift.sync_interval_s,
    ) == (
        5.0,
        48,
        3.0,
    )
    assert settings.shop.currency == "CNY"
    assert settings.shop.authority_limit_minor == 2000
    assert settings.flags.meanings == DEFAULT_FLAG_MEANINGS
    assert settings.ui.enter_sends is True
    assert settings.keymap == {}
    assert settings.token is None
    assert settings.paths.store == tmp_path / "store.db"
    assert settings.paths.config_file == tmp_path / "config.toml"


def test_file_values_reach_settings(tmp_path: Path) -> None:
    write_config(tmp_path, FULL_CONFIG)
    settings = load_settings(home=tmp_path, env={})
    assert settings.agent.name == "Lan"
    assert settings.agent.role is Role.SUPERVISOR
    assert settings.agent.group is Group.AFTER_SALE
    assert settings.agent.language == "zh-CN"
    assert settings.agent.timezone == "Asia/Shanghai"
    assert settings.backend.url == "https://cs.example.com"
    assert settings.backend.insecure is True
    assert settings.shift.response_target_minutes == 5
    assert (settings.shift.warn_after_s, settings.shift.alert_after_s) == (90.0, 240.5)
    assert settings.shift.undo_seconds == 8.0
    assert settings.shift.ship_by_hours == 24
    assert settings.shift.sync_interval_s == 2.0
    assert settings.shop.name == "Teapot House"
    assert settings.shop.return_address == "12 Tea Street, Hangzhou"
    assert settings.shop.authority_limit_minor == 1999
    assert settings.flags.meanings[FlagColour.RED] == "courier problem"
    assert settings.flags.meanings[FlagColour.PURPLE] == "address change"
    assert settings.flags.meanings[FlagColour.GREEN] == DEFAULT_FLAG_MEANINGS[FlagColour.GREEN]
    assert settings.ui.theme == "cs-light"
    assert settings.ui.enter_sends is False
    assert settings.ui_language == "en"
    assert settings.keymap == {"queue.next_waiting": "ctrl+n", "app.quit": "ctrl+q,f10"}


def test_ui_language_follows_the_agent_unless_set(tmp_path: Path) -> None:
    write_config(tmp_path, '[agent]\nlanguage = "vi"\n')
    assert load_settings(home=tmp_path, env={}).ui_language == "vi"


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("CNY", "20", 2000), ("JPY", "500", 500), ("KWD", "1.234", 1234), ("usd", "0.5", 50)],
)
def test_authority_limit_in_minor_units(
    tmp_path: Path, currency: str, amount: str, minor: int
) -> None:
    write_config(tmp_path, f'[shop]\ncurrency = "{currency}"\nauthority_limit = {amount}\n')
    settings = load_settings(home=tmp_path, env={})
    assert settings.shop.authority_limit_minor == minor
    assert settings.shop.currency == currency.upper()


def test_home_from_environment_holds_the_config(tmp_path: Path) -> None:
    write_config(tmp_path, '[shop]\nname = "Teapot House"\n')
    settings = load_settings(env={"CS_CONSOLE_HOME": str(tmp_path)})
    assert settings.paths.home == tmp_path
    assert settings.shop.name == "Teapot House"


def test_without_a_home_config_and_data_use_platform_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_config_path", lambda *a, **k: tmp_path / "conf")
    monkeypatch.setattr(platformdirs, "user_data_path", lambda *a, **k: tmp_path / "data")
    write_config(tmp_path / "conf", '[shop]\nname = "Teapot House"\n')
    settings = load_settings(env={})
    assert config_dir(env={}) == tmp_path / "conf"
    assert settings.paths.home == tmp_path / "data"
    assert settings.paths.config_dir == tmp_path / "conf"
    assert settings.shop.name == "Teapot House"


# --- environment -----------------------------------------------------------------


def test_nested_env_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, "[shift]\nalert_after_s = 200\n[ui]\ntheme = 'cs-light'\n")
    env = {
        "CS_CONSOLE_SHIFT__ALERT_AFTER_S": "240",
        "CS_CONSOLE_UI__THEME": "cs-ansi16",
        "CS_CONSOLE_AGENT__ROLE": "supervisor",
        "CS_CONSOLE_KEYMAP__queue.next_waiting": "ctrl+n",
    }
    settings = load_settings(home=tmp_path, env=env)
    assert settings.shift.alert_after_s == 240.0
    assert settings.ui.theme == "cs-ansi16"
    assert settings.agent.role is Role.SUPERVISOR
    assert settings.keymap == {"queue.next_waiting": "ctrl+n"}


@pytest.mark.parametrize(
    ("name", "raw", "key", "expected"),
    [
        ("CS_CONSOLE_BACKEND_URL", "http://127.0.0.1:8000", "backend.url", "http://127.0.0.1:8000"),
        ("CS_CONSOLE_INSECURE", "1", "backend.insecure", True),
        ("CS_CONSOLE_INSECURE", "true", "backend.insecure", False),  # only an explicit 1
        ("CS_CONSOLE_AGENT", "Lan", "agent.name", "Lan"),
        ("CS_CONSOLE_UNDO_SECONDS", "0", "shift.undo_seconds", 0.0),
        ("CS_CONSOLE_ENTER_SENDS", "no", "ui.enter_sends", False),
        ("CS_CONSOLE_ENTER_SENDS", "1", "ui.enter_sends", True),
        ("CS_CONSOLE_WARN_AFTER", "30", "shift.warn_after_s", 30.0),
        ("CS_CONSOLE_ALERT_AFTER", "90", "shift.alert_after_s", 90.0),
        ("CS_CONSOLE_SYNC_INTERVAL", "0.5", "shift.sync_interval_s", 0.5),
    ],
)
def test_legacy_flat_env_names(
    tmp_path: Path, name: str, raw: str, key: str, expected: object
) -> None:
    section, field = key.split(".")
    settings = load_settings(home=tmp_path, env={name: raw})
    assert getattr(getattr(settings, section), field) == expected


def test_empty_env_values_are_unset(tmp_path: Path) -> None:
    write_config(tmp_path, '[backend]\nurl = "https://cs.example.com"\n')
    env = {"CS_CONSOLE_BACKEND_URL": "", "CS_CONSOLE_SHIFT__WARN_AFTER_S": ""}
    settings = load_settings(home=tmp_path, env=env)
    assert settings.backend.url == "https://cs.example.com"
    assert settings.shift.warn_after_s == 60.0


def test_nested_name_beats_legacy_name(tmp_path: Path) -> None:
    env = {"CS_CONSOLE_ALERT_AFTER": "90", "CS_CONSOLE_SHIFT__ALERT_AFTER_S": "300"}
    assert load_settings(home=tmp_path, env=env).shift.alert_after_s == 300.0


def test_token_from_env(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, env={"CS_CONSOLE_TOKEN": TOKEN})
    assert settings.token == Secret(TOKEN)


# --- problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "line", "key", "expected", "found"),
    [
        ("shift", "alert_after_s = -5", "shift.alert_after_s", "at least 0", "-5"),
        ("shift", 'warn_after_s = "soon"', "shift.warn_after_s", "a number", '"soon"'),
        ("shift", "ship_by_hours = 1.5", "shift.ship_by_hours", "a whole number", "1.5"),
        ("shift", "alert_after_s = 30", "shift.alert_after_s", "at least shift.warn_after_s", "30"),
        ("agent", 'role = "boss"', "agent.role", "'agent' or 'supervisor'", '"boss"'),
        ("agent", 'language = "fr"', "agent.language", "'zh-CN'", '"fr"'),
        ("agent", 'timezone = "Mars/Olympus"', "agent.timezone", "IANA time zone", '"Mars/'),
        ("backend", 'url = "ftp://x"', "backend.url", "http:// or https://", '"ftp://x"'),
        ("backend", 'insecure = "maybe"', "backend.insecure", "true or false", '"maybe"'),
        ("shop", 'currency = "yuan"', "shop.currency", "ISO 4217", '"yuan"'),
        (
            "shop",
            "authority_limit = 20.005",
            "shop.authority_limit",
            "at most 2 decimals",
            "20.005",
        ),
        ("ui", "theme = 3", "ui.theme", "text in quotes", "3"),
        ("keymap", '"app.quit" = ""', 'keymap."app.quit"', "not empty", '""'),
    ],
)
def test_bad_value_names_file_key_expected_and_found(
    tmp_path: Path, section: str, line: str, key: str, expected: str, found: str
) -> None:
    path = write_config(tmp_path, f"[{section}]\n{line}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: expected "), message
    assert expected in message
    assert f"found {found}" in message


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={"CS_CONSOLE_SHIFT__UNDO_SECONDS": "lots"})
    assert str(caught.value) == (
        "environment variable CS_CONSOLE_SHIFT__UNDO_SECONDS: shift.undo_seconds: "
        'expected a number, found "lots"'
    )
    with pytest.raises(SettingsError, match="environment variable CS_CONSOLE_WARN_AFTER"):
        load_settings(home=tmp_path, env={"CS_CONSOLE_WARN_AFTER": "-1"})


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    write_config(tmp_path, "[shift]\nwarn_after_s = -1\nship_by_hours = 0\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={})
    assert len(str(caught.value).splitlines()) == 2


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[shift]\nalert_afer_s = 200\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={})
    assert str(caught.value) == (
        f"{path}: shift.alert_afer_s: unknown key; did you mean shift.alert_after_s?"
    )


def test_key_outside_its_section_is_pointed_at_the_section(tmp_path: Path) -> None:
    write_config(tmp_path, 'theme = "cs-light"\n')
    with pytest.raises(SettingsError, match=re.escape("did you mean ui.theme (under [ui])")):
        load_settings(home=tmp_path, env={})


def test_unknown_section_and_unknown_env_key_are_errors(tmp_path: Path) -> None:
    write_config(tmp_path, "[shfit]\nwarn_after_s = 1\n")
    with pytest.raises(SettingsError, match=re.escape("shfit: unknown key; did you mean shift")):
        load_settings(home=tmp_path, env={})
    (tmp_path / "config.toml").unlink()
    with pytest.raises(
        SettingsError, match=re.escape("CS_CONSOLE_SHIFT__WARN_AFTER: shift.warn_after")
    ):
        load_settings(home=tmp_path, env={"CS_CONSOLE_SHIFT__WARN_AFTER": "1"})


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[shift]\nwarn_after_s = = 3\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={})
    assert str(caught.value).startswith(f"{path}: not valid TOML:")
    assert "line 2" in str(caught.value)


def test_token_is_never_read_from_the_file_nor_echoed(tmp_path: Path) -> None:
    write_config(tmp_path, f'[backend]\ntoken = "{TOKEN}"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(home=tmp_path, env={})
    assert "backend.token: the token is never a config key" in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- the token -----------------------------------------------------------------


def test_token_file_from_config_is_relative_to_it(tmp_path: Path) -> None:
    owner_only_token_file(tmp_path / "token")
    write_config(tmp_path, '[backend]\ntoken_file = "token"\n')
    settings = load_settings(home=tmp_path, env={})
    assert settings.token == Secret(TOKEN)
    assert settings.backend.token_file == tmp_path / "token"


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    token_file = owner_only_token_file(tmp_path / "token")
    token_file.chmod(0o640)
    write_config(tmp_path, '[backend]\ntoken_file = "token"\n')
    with pytest.raises(SettingsError, match="can be read by others"):
        load_settings(home=tmp_path, env={})
    with pytest.raises(SettingsError, match="can be read by others"):
        load_settings(home=tmp_path, env={"CS_CONSOLE_TOKEN_FILE": str(token_file)})


def test_token_never_in_repr_nor_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    owner_only_token_file(tmp_path / "token")
    write_config(tmp_path, '[backend]\ntoken_file = "token"\n')
    settings = load_settings(home=tmp_path, env={})
    assert settings.token is not None
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    shown = config_commands.show(tmp_path)
    assert TOKEN not in shown
    assert "********" in shown
    monkeypatch.setenv("CS_CONSOLE_TOKEN", TOKEN)
    shown = config_commands.show(tmp_path)
    assert TOKEN not in shown
    assert "********" in shown


# --- config commands -------------------------------------------------------------


def test_config_path(tmp_path: Path) -> None:
    assert config_commands.config_path(tmp_path) == tmp_path / "config.toml"


def test_show_is_the_effective_config_and_reloads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    write_config(tmp_path / "a", FULL_CONFIG)
    monkeypatch.setenv("CS_CONSOLE_SHIFT__ALERT_AFTER_S", "300")
    shown = config_commands.show(tmp_path / "a")
    assert "alert_after_s = 300.0  # from environment variable CS_CONSOLE_SHIFT__ALERT_AFTER_S" in (
        shown
    )
    assert 'name = "Lan"  # from config.toml' in shown
    assert "authority_limit = 19.99" in shown
    # The output is itself a valid config that gives the same settings.
    tomllib.loads(shown)
    write_config(tmp_path / "b", shown)
    monkeypatch.delenv("CS_CONSOLE_SHIFT__ALERT_AFTER_S")
    first = load_settings(home=tmp_path / "a", env={"CS_CONSOLE_SHIFT__ALERT_AFTER_S": "300"})
    second = load_settings(home=tmp_path / "b", env={})
    assert second.model_copy(update={"paths": first.paths}) == first


def test_init_writes_every_setting_documented_and_valid(tmp_path: Path, clean_env: None) -> None:
    path = config_commands.init(tmp_path)
    assert path == tmp_path / "config.toml"
    text = path.read_text(encoding="utf-8")
    assert config_commands.validate(tmp_path) == []
    # Every description is there as a comment (wrapped, so compare the words).
    comments = " ".join(
        line.removeprefix("#").strip() for line in text.splitlines() if line.startswith("#")
    )
    from cs_console.config import SECTIONS

    for section, model in SECTIONS.items():
        assert f"[{section}]" in text
        for name, info in model.model_fields.items():
            assert " ".join((info.description or "").split()) in comments, (section, name)
            assert re.search(rf"^# {name} = ", text, re.MULTILINE), (section, name)
    # The commented-out values are the defaults: uncommented, they change nothing.
    uncommented = re.sub(r"^# (\S+ = )", r"\1", text, flags=re.MULTILINE)
    data = tomllib.loads(uncommented)
    for section in ("shift", "shop", "flags"):
        assert ConsoleConfig.model_validate({section: data[section]}) == (
            ConsoleConfig.model_validate({})
        )
    assert load_settings(home=tmp_path, env={}) == Settings(paths=Paths(tmp_path))


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    write_config(tmp_path, "# mine\n")
    with pytest.raises(SettingsError, match="already exists"):
        config_commands.init(tmp_path)
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == "# mine\n"
    config_commands.init(tmp_path, force=True)
    assert (tmp_path / "config.toml.bak").read_text(encoding="utf-8") == "# mine\n"
    assert "[shift]" in (tmp_path / "config.toml").read_text(encoding="utf-8")


def test_validate_reports_problems(tmp_path: Path, clean_env: None) -> None:
    write_config(tmp_path, '[ui]\ntheme = "cs-nope"\n[backend]\ntoken_file = "token"\n')
    owner_only_token_file(tmp_path / "token").chmod(0o644)
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "broken.toml").write_text("name = \n", encoding="utf-8")
    problems = config_commands.validate(tmp_path)
    assert len(problems) == 3, problems
    assert any("can be read by others" in p for p in problems)
    assert any(p.startswith(str(tmp_path / "themes" / "broken.toml")) for p in problems)
    assert any("ui.theme: expected one of cs-ansi16" in p and '"cs-nope"' in p for p in problems)


def test_validate_returns_config_errors(tmp_path: Path, clean_env: None) -> None:
    write_config(tmp_path, "[shift]\nwarn_after_s = -1\nundo_seconds = 99\n")
    assert len(config_commands.validate(tmp_path)) == 2


# --- ui-state.json ---------------------------------------------------------------


def test_live_theme_choice_is_remembered(tmp_path: Path) -> None:
    state = save_ui_choice(tmp_path, "cs-high-contrast")
    assert state == tmp_path / "ui-state.json"
    assert load_settings(home=tmp_path, env={}).ui.theme == "cs-high-contrast"
    assert not (tmp_path / "config.toml").exists()  # the config file is never written


def test_live_choice_beats_the_file_until_the_file_is_edited(tmp_path: Path) -> None:
    config = write_config(tmp_path, '# my notes\n[ui]\ntheme = "cs-light"\n')
    save_ui_choice(tmp_path, "cs-colour-safe")
    assert config.read_text(encoding="utf-8") == '# my notes\n[ui]\ntheme = "cs-light"\n'
    assert load_settings(home=tmp_path, env={}).ui.theme == "cs-colour-safe"
    # The user edits the line afterwards: the deliberate edit wins.
    write_config(tmp_path, '[ui]\ntheme = "cs-ansi16"\n')
    assert load_settings(home=tmp_path, env={}).ui.theme == "cs-ansi16"
    # The environment wins over both.
    save_ui_choice(tmp_path, "cs-dark")
    env = {"CS_CONSOLE_UI__THEME": "cs-light"}
    assert load_settings(home=tmp_path, env=env).ui.theme == "cs-light"


def test_damaged_ui_state_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "ui-state.json").write_text("{not json", encoding="utf-8")
    assert load_settings(home=tmp_path, env={}).ui.theme == "cs-dark"
    save_ui_choice(tmp_path, "cs-light")
    assert load_settings(home=tmp_path, env={}).ui.theme == "cs-light"


# --- start-up cost -----------------------------------------------------------------


def test_the_fast_path_does_not_import_pydantic_settings(tmp_path: Path) -> None:
    # Settings is a pydantic model, so pydantic is imported; pydantic-settings (~50 ms)
    # only when there is something to read.
    code = (
        "import sys; from cs_console.settings import load_settings; "
        f"load_settings(env={{'CS_CONSOLE_HOME': {str(tmp_path)!r}, "
        "'CS_CONSOLE_BACKEND_URL': 'http://127.0.0.1:9', 'CS_CONSOLE_TOKEN': 't'}); "
        "print('pydantic_settings' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_a_theme_picked_live_keeps_the_fast_path(tmp_path: Path) -> None:
    save_ui_choice(tmp_path, "cs-light")
    code = (
        "import sys; from cs_console.settings import load_settings; "
        f"s = load_settings(env={{'CS_CONSOLE_HOME': {str(tmp_path)!r}}}); "
        "print(s.ui.theme, 'pydantic_settings' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "cs-light False"


@pytest.mark.parametrize("picked", [None, "cs-light", "bad theme name!"])
@pytest.mark.parametrize(
    "env_extra",
    [{}, {"CS_CONSOLE_BACKEND_URL": "http://127.0.0.1:9", "CS_CONSOLE_TOKEN": "t"}],
)
def test_the_fast_path_gives_what_the_full_path_gives(
    tmp_path: Path, env_extra: dict[str, str], picked: str | None
) -> None:
    from cs_console.settings import load_settings_fully

    if picked is not None:  # a theme picked live, and no config file
        save_ui_choice(tmp_path, picked)
    env = {"CS_CONSOLE_HOME": str(tmp_path), **env_extra}
    fast = load_settings(env=env)
    full = load_settings_fully(Paths.discover(None, env), env)
    assert fast == full
