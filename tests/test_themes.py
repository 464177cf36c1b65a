"""Theme files: the shipped ones build, carry the app's colours and read well; broken
files are reported once and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.color import ColorType
from textual.app import App, ComposeResult
from textual.color import Color, ColorParseError
from textual.theme import Theme
from textual.widgets import Static

from cs_console.ui.app import APP_COLOURS
from cs_console.ui.themes import (
    APP_VARIABLES,
    COLOUR_FIELDS,
    load_theme_file,
    load_themes,
    shipped_themes_dir,
)

SHIPPED = ("cs-dark", "cs-light", "cs-high-contrast", "cs-colour-safe", "cs-ansi16")

GOOD_THEME = """
name = "mine"
primary = "#336699"
background = "#101010"
[variables]
flag-red = "crimson"
"""


def shipped() -> dict[str, Theme]:
    themes, problems = load_themes([shipped_themes_dir()])
    assert problems == []
    return {theme.name: theme for theme in themes}


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(colour: Color) -> float:
        def channel(value: int) -> float:
            scaled = value / 255
            return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)

    light, dark = sorted((luminance(Color.parse(first)), luminance(Color.parse(second))))[::-1]
    return (light + 0.05) / (dark + 0.05)


def test_shipped_dir_is_the_repository_themes_folder() -> None:
    directory = shipped_themes_dir()
    assert (directory / "cs-dark.toml").is_file()


def test_every_shipped_theme_builds() -> None:
    themes = shipped()
    assert set(SHIPPED) <= set(themes)
    for theme in themes.values():
        assert isinstance(theme, Theme)
        assert theme.to_color_system().generate()


def test_app_variables_are_the_apps_colours() -> None:
    # The theme loader's list and the app's defaults must not drift apart.
    assert set(APP_VARIABLES) == set(APP_COLOURS)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_theme_defines_every_app_colour(name: str) -> None:
    theme = shipped()[name]
    assert set(APP_VARIABLES) <= set(theme.variables)
    for variable in APP_VARIABLES:
        Color.parse(theme.variables[variable])
    for field in COLOUR_FIELDS:
        if field != "boost":
            assert getattr(theme, field) is not None, field


@pytest.mark.parametrize(
    ("name", "minimum"),
    [("cs-dark", 4.5), ("cs-light", 4.5), ("cs-colour-safe", 4.5), ("cs-high-contrast", 7.0)],
)
def test_app_colours_are_readable_on_the_background(name: str, minimum: float) -> None:
    theme = shipped()[name]
    assert theme.background is not None
    for variable in (*APP_VARIABLES, "foreground"):
        value = theme.foreground if variable == "foreground" else theme.variables[variable]
        assert value is not None
        assert contrast(value, theme.background) >= minimum, variable


def test_colour_safe_flags_differ_in_lightness() -> None:
    """Red and green flags must differ by more than hue (red-green colour blindness)."""
    variables = shipped()["cs-colour-safe"].variables
    assert contrast(variables["flag-red"], variables["flag-green"]) >= 1.1
    assert contrast(variables["clock-warn"], variables["clock-alert"]) >= 2.0


def test_ansi16_uses_only_ansi_colours() -> None:
    theme = shipped()["cs-ansi16"]
    assert theme.ansi is True
    generated = theme.to_color_system().generate()
    for variable, value in generated.items():
        head = value.split()[0]
        try:
            colour = Color.parse(head)
        except ColorParseError:
            continue  # a style such as "bold", not a colour
        assert head == "transparent" or colour.ansi is not None, (variable, value)


class ThemedApp(App[None]):
    """The smallest app that uses the console's colour variables."""

    CSS = """
    #flag { color: $flag-red; }
    #clock { color: $clock-alert; }
    """

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(APP_COLOURS)

    def compose(self) -> ComposeResult:
        yield Static("flag", id="flag")
        yield Static("clock", id="clock")


async def test_every_shipped_theme_applies_in_an_app() -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        for theme in shipped().values():
            app.register_theme(theme)
            app.theme = theme.name
            await pilot.pause()
            variables = app.get_css_variables()
            assert variables["flag-red"] == theme.variables["flag-red"]


async def test_ansi16_renders_with_the_terminals_own_colours() -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        app.register_theme(shipped()["cs-ansi16"])
        app.theme = "cs-ansi16"
        await pilot.pause()
        assert app.native_ansi_color  # no conversion of ANSI colours to RGB
        for widget_id in ("flag", "clock"):
            colour = app.query_one(f"#{widget_id}").rich_style.color
            assert colour is not None
            assert colour.type is ColorType.STANDARD, (widget_id, colour)


async def test_ansi_user_theme_gets_textuals_ansi_variables(tmp_path: Path) -> None:
    (tmp_path / "mono.toml").write_text(
        'name = "mono"\nansi = true\nprimary = "ansi_blue"\n', "utf-8"
    )
    themes, problems = load_themes([tmp_path])
    assert problems == []
    app = ThemedApp()
    async with app.run_test() as pilot:
        app.register_theme(themes[0])
        app.theme = "mono"  # fails on $ansi-background if the loader did not fill it
        await pilot.pause()
        assert app.get_css_variables()["ansi-background"] == "ansi_black"


def test_a_user_theme_without_app_colours_still_loads(tmp_path: Path) -> None:
    (tmp_path / "plain.toml").write_text('name = "plain"\nprimary = "#336699"\n', "utf-8")
    themes, problems = load_themes([tmp_path])
    assert problems == []
    assert [theme.name for theme in themes] == ["plain"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('name = "x"\nprimary = \n', "not valid TOML"),
        ('name = "x"\nprimary = "#zzzzzz"\n', "primary"),
        ('name = "x"\nprimry = "#336699"\nprimary = "#336699"\n', "unknown key 'primry'"),
        ('primary = "#336699"\n', "name"),
        ('name = "x"\n', "primary"),
        ('name = "x"\nprimary = "#336699"\ndark = "yes"\n', "dark: expected true or false"),
        ('name = "x"\nprimary = "#336699"\n[variables]\nflag-red = "reddish"\n', "flag-red"),
        ('name = "x"\nprimary = "#336699"\nvariables = 3\n', "variables"),
    ],
)
def test_broken_theme_is_reported_once_and_skipped(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "good.toml").write_text(GOOD_THEME, "utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(text, "utf-8")
    themes, problems = load_themes([tmp_path])
    assert [theme.name for theme in themes] == ["mine"]
    assert len(problems) == 1
    assert problems[0].startswith(f"{broken}: ")
    assert problem in problems[0]


def test_non_utf8_theme_is_reported(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes(b'name = "caf\xe9"\nprimary = "#336699"\n')
    themes, problems = load_themes([tmp_path])
    assert themes == []
    assert problems == [f"{tmp_path / 'latin.toml'}: expected UTF-8 text"]


def test_later_theme_of_the_same_name_replaces(tmp_path: Path) -> None:
    (tmp_path / "dark.toml").write_text('name = "cs-dark"\nprimary = "#ff00ff"\n', "utf-8")
    themes, problems = load_themes([shipped_themes_dir(), tmp_path, tmp_path / "missing"])
    assert problems == []
    by_name = [theme for theme in themes if theme.name == "cs-dark"]
    assert len(by_name) == 1
    assert by_name[0].primary == "#ff00ff"
    assert {theme.name for theme in themes} >= set(SHIPPED)


def test_theme_file_keeps_optional_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'name = "t"\nprimary = "#336699"\ndark = false\nluminosity_spread = 0.2\n'
        'text_alpha = 1\n[variables]\nborder = "ansi_default 50%"\n',
        "utf-8",
    )
    theme = load_theme_file(path)
    assert (theme.dark, theme.luminosity_spread, theme.text_alpha) == (False, 0.2, 1.0)
    assert theme.variables == {"border": "ansi_default 50%"}


async def test_the_start_up_theme_is_not_saved_but_a_live_pick_is(tmp_path: Path) -> None:
    # Saving the theme start-up chose would write ui-state.json on the first start and
    # send every later start down the slow configuration path.
    from cs_console.settings import load_settings
    from tests.ui_support import offline_app, offline_settings

    settings = offline_settings(tmp_path)
    state = settings.paths.ui_state_file
    app = offline_app(settings)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause(0.3)
        assert not state.exists()
        app.theme = "cs-high-contrast"  # what the palette's theme picker does
        await pilot.pause(0.1)
        assert state.exists()
        app.theme = "cs-dark"  # and back: the way back is a pick too
        await pilot.pause(0.1)
    assert load_settings(home=settings.paths.home, env={}).ui.theme == "cs-dark"
