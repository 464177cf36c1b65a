"""The interface language: choosing it, translating, falling back, and the catalogues.

The catalogue checks read the ``.po`` files with Babel (a dev dependency, as for
extraction and compilation); the app itself reads only the compiled ``.mo`` files.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from gettext import c2py
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from textual.binding import Binding

from cs_console import i18n
from cs_console.i18n import N_, LazyText, _, ngettext, pgettext, set_language
from cs_console.money import format_money

SRC = Path(i18n.__file__).resolve().parent
UI_DIR = SRC / "ui"
CATALOGUE_DIRS = {"en": "en", "zh-CN": "zh_CN", "vi": "vi", "es": "es"}
#: The keywords the app marks strings with (docs/TRANSLATING.md passes the same to pybabel).
KEYWORDS = {**DEFAULT_KEYWORDS, "LazyText": None}


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """Every test leaves the process in English, as the other UI tests expect."""
    yield
    set_language("en")


def po_path(language: str) -> Path:
    return SRC / "locale" / CATALOGUE_DIRS[language] / "LC_MESSAGES" / "cs_console.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle)


def entries(catalogue: Catalog) -> list[Message]:
    """The catalogue's messages, without the header."""
    return [m for m in catalogue if m.id]


def ids(message: Message) -> tuple[str, ...]:
    """(msgid,) or (singular, plural)."""
    return tuple(message.id) if isinstance(message.id, tuple | list) else (str(message.id),)


def strings(message: Message) -> tuple[str, ...]:
    """(msgstr,) or every plural form ("" when untranslated)."""
    value = message.string
    if isinstance(value, tuple | list):
        return tuple(value)
    return (value or "",)


def translated(message: Message) -> bool:
    return all(strings(message))


def fields(text: str) -> set[str]:
    """The ``{placeholders}`` a format string fills (with their conversions)."""
    return {f"{name}!{conv}" for _lit, name, _spec, conv in Formatter().parse(text) if name}


# --- choosing and translating ---------------------------------------------------------


def test_chinese_with_zh_cn_english_otherwise() -> None:
    assert set_language("zh-CN") == "zh-CN"
    assert _("Queue") == "会话列表"
    assert _("Customer & orders") == "买家与订单"
    set_language("en")
    assert _("Queue") == "Queue"
    assert set_language("fr") == "en"  # no French catalogue: English, not an error
    assert _("Queue") == "Queue"


def test_vietnamese_and_spanish_cover_the_main_screen() -> None:
    set_language("vi")
    assert _("Reply") == "Trả lời"
    set_language("es")
    assert _("Reply") == "Responder"
    assert _("Customer & orders") == "Cliente y pedidos"


def test_a_string_missing_from_the_catalogue_stays_english() -> None:
    set_language("zh-CN")
    assert _("A sentence no catalogue has heard of.") == "A sentence no catalogue has heard of."
    set_language("es")
    assert _("A sentence no catalogue has heard of.") == "A sentence no catalogue has heard of."
    assert _("Postage lost") != "Postage lost"  # and a known one is translated


def test_empty_text_is_not_the_catalogue_header() -> None:
    set_language("zh-CN")
    assert _("") == ""


def test_plural_forms_follow_the_language() -> None:
    set_language("es")
    one = ngettext("Signed for {days} day ago", "Signed for {days} days ago", 1)
    many = ngettext("Signed for {days} day ago", "Signed for {days} days ago", 3)
    assert (one, many) == ("Firmado hace {days} día", "Firmado hace {days} días")
    set_language("zh-CN")
    assert ngettext("Signed for {days} day ago", "Signed for {days} days ago", 3) == (
        "已签收 {days} 天"
    )


def test_context_separates_words_with_several_meanings() -> None:
    set_language("zh-CN")
    assert pgettext("desks", "both") == "售前+售后"


def test_lazy_text_follows_the_language_chosen_after_the_class() -> None:
    class Pane:
        HELP = LazyText("\n## Thread\n")

    assert Pane.HELP == "\n## Thread\n"
    set_language("zh-CN")
    # No catalogue entry for this text: English; a real one translates.
    assert Pane().HELP == "\n## Thread\n"
    assert str(LazyText("Queue")) == "会话列表"


def test_binding_descriptions_are_translated_where_shown() -> None:
    from cs_console.ui.keys import translate_binding

    binding = Binding("ctrl+g", "next_waiting", N_("Next waiting"), id="workspace.next_waiting")
    assert translate_binding(binding) is binding  # English: no copy
    set_language("zh-CN")
    shown = translate_binding(binding)
    assert (shown.description, shown.key, shown.id) == ("下一位", "ctrl+g", binding.id)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "es_MX.UTF-8"}, "es"),
        ({"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional script: not the Simplified catalogue
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, even when it is C
        ({"LC_MESSAGES": "es_ES.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
        ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "es_ES.UTF-8"}, "zh-CN"),
        ({}, "en"),
    ],
)
def test_the_system_locale_picks_when_config_does_not(env: dict[str, str], expected: str) -> None:
    assert set_language(None, env=env) == expected
    assert i18n.current_language() == expected


def test_config_wins_over_the_system_locale() -> None:
    assert set_language("es", env={"LANG": "zh_CN.UTF-8"}) == "es"


def test_posix_spellings_are_understood() -> None:
    assert i18n.normalize_language("zh_CN.UTF-8") == "zh-CN"
    assert i18n.normalize_language("zh-Hans") == "zh-CN"
    assert i18n.normalize_language("es_ES@euro") == "es"
    assert i18n.normalize_language("POSIX") is None


# --- locale-aware money and dates ----------------------------------------------------


def test_money_keeps_its_old_form_without_a_language() -> None:
    assert format_money(7800, "CNY") == "¥78.00"
    assert format_money(5_000_000, "VND") == "₫5,000,000"
    assert format_money(123_456, "GBP") == "GBP 1,234.56"


def test_money_is_written_the_language_s_way() -> None:
    assert format_money(123_456, "CNY", language="zh-CN") == "¥1,234.56"
    assert format_money(123_456, "EUR", language="es") == "1.234,56\N{NO-BREAK SPACE}€"
    assert format_money(5_000_000, "VND", language="vi") == "5.000.000\N{NO-BREAK SPACE}₫"


def test_dates_put_the_day_first_where_the_language_does() -> None:
    from cs_console.ui.text import local_time, money, weekday_label

    moment = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    set_language("es")
    assert local_time(moment, "%d/%m") == moment.astimezone().strftime("%d/%m")
    assert local_time(moment) == moment.astimezone().strftime("%d/%m %H:%M")
    assert money(7800, "CNY") == "78,00\N{NO-BREAK SPACE}¥"
    set_language("zh-CN")
    assert local_time(moment) == moment.astimezone().strftime("%m-%d %H:%M")
    assert weekday_label(moment) == "周五"


# --- the catalogues ---------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(CATALOGUE_DIRS))
def test_every_catalogue_compiles(language: str) -> None:
    catalogue = read_catalogue(language)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    assert buffer.getvalue()
    problems = [problem for _message, errors in catalogue.check() for problem in errors]
    assert problems == []


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_english_and_chinese_are_complete(language: str) -> None:
    catalogue = read_catalogue(language)
    fuzzy = [m.id for m in entries(catalogue) if m.fuzzy]
    empty = [m.id for m in entries(catalogue) if not translated(m)]
    assert (fuzzy, empty) == ([], [])


@pytest.mark.parametrize("language", sorted(CATALOGUE_DIRS))
def test_translations_keep_the_placeholders(language: str) -> None:
    wrong = []
    for message in entries(read_catalogue(language)):
        for text in strings(message):
            if text and fields(text) != fields(ids(message)[-1]):
                wrong.append((ids(message)[0], text))
    assert wrong == []


@pytest.mark.parametrize("language", sorted(CATALOGUE_DIRS))
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    """Fails when a .po was edited without recompiling (``pybabel compile``)."""
    compiled = i18n.load_catalogue(language)
    source = read_catalogue(language)
    stale = []
    for message in entries(source):
        if message.fuzzy or not translated(message):
            continue
        forms = strings(message)
        if message.pluralizable:
            singular, plural = ids(message)
            plural_index = c2py(source.plural_expr)
            got = tuple(compiled.ngettext(singular, plural, n) for n in (1, 2, 5))
            want = tuple(forms[plural_index(n)] for n in (1, 2, 5))
        elif message.context:
            got, want = (compiled.pgettext(message.context, ids(message)[0]),), forms
        else:
            got, want = (compiled.gettext(ids(message)[0]),), forms
        if got != want:
            stale.append(ids(message)[0])
    assert stale == []


def test_every_marked_ui_string_is_in_the_chinese_catalogue() -> None:
    """Extract from src/cs_console/ui as pybabel does and compare with zh-CN."""
    catalogue = read_catalogue("zh-CN")
    method_map = [("**.py", "python")]
    missing = []
    for _filename, _line, message, _comments, context in extract_from_dir(
        str(UI_DIR), method_map=method_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found = catalogue.get(msgid, context=context)
        if found is None or not translated(found):
            missing.append((context, msgid))
    assert missing == []
    assert len(entries(catalogue)) > 300  # the extraction found the UI, not nothing
