"""Escape sequences in quick replies and theme files never reach the terminal.

A reply file or a spreadsheet anyone could have edited, a theme dropped into the config
folder: the text in them is shown, inserted into the composer and printed by the CLI.
The sanitiser neutralises what a terminal would obey (OSC 52 clipboard writes, OSC 2
window titles, OSC 8 links, CSI cursor moves, 8-bit C1 controls, bidi overrides); the
library refuses such characters outright, naming the file and the reply.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cs_console.paths import Paths
from cs_console.replies.library import QuickReply, ReplyAction, lint_dirs, load_library
from cs_console.replies.lint import LintIssue
from cs_console.replies.placeholders import HOLE_CLOSE, HOLE_OPEN, ReplyContext, fill
from cs_console.replies.transfer import export_replies, import_replies
from cs_console.sanitize import find_control, sanitize, sanitize_line
from cs_console.services import replies as reply_service
from cs_console.settings import Settings
from cs_console.ui.themes import load_themes

ESC = "\x1b"
C1 = {chr(code) for code in range(0x80, 0xA0)}
BIDI = {chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}

#: Payloads a hostile reply or name would carry: (raw, what the sanitiser makes of it).
PAYLOADS: dict[str, tuple[str, str]] = {
    "OSC 52 clipboard, ST-terminated": (
        "\x1b]52;c;cm0gLXJmIH4=\x1b\\",
        "␛]52;c;cm0gLXJmIH4=␛\\",
    ),
    "OSC 52 clipboard, BEL-terminated": ("\x1b]52;c;eA==\x07", "␛]52;c;eA==␇"),
    "OSC 2 window title, ST-terminated": ("\x1b]2;pwned\x1b\\ok", "␛]2;pwned␛\\ok"),
    "OSC 2 window title, BEL-terminated": ("\x1b]2;pwned\x07ok", "␛]2;pwned␇ok"),
    "OSC 8 link": (
        "\x1b]8;;https://evil.example/\x1b\\pay here\x1b]8;;\x1b\\",
        "␛]8;;https://evil.example/␛\\pay here␛]8;;␛\\",
    ),
    "CSI erase and move": ("\x1b[2J\x1b[1;1Hpaid", "␛[2J␛[1;1Hpaid"),
    "8-bit OSC with 8-bit ST": ("a\x9d2;pwned\x9cb", "a\ufffd2;pwned\ufffdb"),
    "8-bit CSI": ("a\x9b31mb", "a\ufffd31mb"),
    "8-bit ST alone": ("a\x9cb", "a\ufffdb"),
    "bidi override": ("refund\u202e00.001¥", "refund\ufffd00.001¥"),
    "bidi isolate": ("\u2067abc\u2069", "\ufffdabc\ufffd"),
}


def assert_inert(text: str) -> None:
    """No character in ``text`` a terminal would act on."""
    assert ESC not in text
    assert not set(text) & C1
    assert not set(text) & BIDI
    assert all(unicodedata.category(char) != "Cc" or char in "\n\t" for char in text), repr(text)


# --- the sanitiser ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_sanitize_neutralises_terminal_sequences(name: str) -> None:
    raw, expected = PAYLOADS[name]
    assert sanitize(raw) == expected
    assert_inert(sanitize_line("before " + raw + "\nafter"))


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_sanitize_is_idempotent(name: str) -> None:
    # Text is sanitised at ingest and again when drawn; the second pass changes nothing
    # (so offsets computed on sanitised text stay right).
    once = sanitize(PAYLOADS[name][0])
    assert sanitize(once) == once


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a\x1b]2;x\x1b\\", "ESC (U+001B)"),
        ("a\x9cb", "a C1 control character (U+009C)"),
        ("a\u202eb", "a bidi control character (U+202E)"),
        ("a\u2066b", "a bidi control character (U+2066)"),
        ("a\x07", "a control character (U+0007)"),
        ("a\x7f", "a control character (U+007F)"),
        ("a\rb", "a carriage return (U+000D)"),
        ("line\n\tindented 亲 📦 «ok»", None),
    ],
)
def test_find_control(text: str, found: str | None) -> None:
    assert find_control(text) == found


# --- filling a reply ----------------------------------------------------------------


def test_fill_sanitises_the_body_and_every_value() -> None:
    body = "Hi {customer_name}\x1b]52;c;eA==\x1b\\, order {order_number}: {fill:new date}."
    ctx = ReplyContext(customer_name="Eve\x1b]2;pwned\x07", order_number="N\x9b2J")
    filled = fill(body, ctx)
    assert_inert(filled.text)
    assert filled.text == (
        f"Hi Eve␛]2;pwned␇␛]52;c;eA==␛\\, order N\ufffd2J: {HOLE_OPEN}new date{HOLE_CLOSE}."
    )
    [(start, end, name)] = filled.holes
    assert filled.text[start:end] == f"{HOLE_OPEN}new date{HOLE_CLOSE}"
    assert name == "new date"


def test_fill_keeps_hole_offsets_when_a_value_shrinks() -> None:
    # CRLF in a value becomes one newline: holes after it must still point at the hole.
    filled = fill(
        "{customer_name} / {order_number} / {cursor}", ReplyContext(customer_name="a\r\nb")
    )
    [(start, end, name)] = filled.holes
    assert filled.text[start:end] == f"{HOLE_OPEN}order_number{HOLE_CLOSE}"
    assert name == "order_number"
    assert filled.cursor == len(filled.text)


def test_reply_service_fills_config_values_safely(tmp_path: Path) -> None:
    # The shop's name and return address come from config.toml, not through the
    # sanitised sync ingest.
    settings = Settings(
        paths=Paths(tmp_path),
        shop={"name": "Lotus\x1b]2;pwned\x1b\\", "return_address": "Road 1\u202e9"},
    )
    context = reply_service.context_for(
        settings, agent_name="Lan", info=None, order=None, now=datetime(2026, 11, 20, tzinfo=UTC)
    )
    reply = make_reply(body="{shop_name} · {return_address} · {agent_name}")
    text = reply_service.filled(reply, context).text
    assert_inert(text)
    assert text.startswith("Lotus␛]2;pwned␛\\ · Road 1\ufffd9 · Lan")


# --- lint, load, import, export --------------------------------------------------------

EVIL_FILE = r'''
group = "x"

[[reply]]
id = "en.x.fine"
title = "Fine"
body = "Nothing odd here."
scenario = "greeting"
audience = "both"

[[reply]]
id = "en.x.clipboard"
title = "Looks harmless"
body = """
Hello!\u001b]52;c;cm0gLXJmIH4=\u001b\\
"""
scenario = "greeting"
audience = "both"

[[reply]]
id = "en.x.title"
title = "Title\u009d2;pwned\u009c"
body = "Body"
scenario = "greeting"
audience = "both"

[[reply]]
id = "en.x.keyword"
title = "Keyword"
body = "Body"
keywords = ["refund\u202egnp.exe"]
scenario = "greeting"
audience = "both"

[[reply]]
id = "en.x.remark"
title = "Remark"
body = "Body"
scenario = "greeting"
audience = "both"
actions = [{ kind = "add_remark", flag = "red", text = "ding\u0007" }]
'''


def write_evil_library(root: Path) -> Path:
    path = root / "en" / "x.toml"
    path.parent.mkdir(parents=True)
    path.write_text(EVIL_FILE, encoding="utf-8")
    return path


def test_lint_refuses_control_characters_naming_file_and_reply(tmp_path: Path) -> None:
    path = write_evil_library(tmp_path / "lib")
    issues = lint_dirs([tmp_path / "lib"])
    shown = [str(issue) for issue in issues]
    expected = {
        ("en.x.clipboard", "body contains ESC (U+001B)", 14),
        ("en.x.title", "title contains a C1 control character (U+009D)", 22),
        ("en.x.keyword", "a keyword contains a bidi control character (U+202E)", 31),
        ("en.x.remark", "action 'add_remark' text contains a control character (U+0007)", 41),
    }
    for reply_id, what, line in expected:
        assert any(
            text.startswith(f"{path}:{line}: reply '{reply_id}': {what}") for text in shown
        ), (reply_id, shown)
    assert len(issues) == len(expected)
    for text in shown:
        assert_inert(text)
    library, _issues = load_library([tmp_path / "lib"])
    assert [reply.id for reply in library] == ["en.x.fine"]


def test_lint_issue_prints_safely() -> None:
    issue = LintIssue("en/\x1b]2;pwned\x07.toml", 3, "value '\x9b2J'")
    assert_inert(str(issue))
    assert str(issue) == "en/␛]2;pwned␇.toml:3: value '\ufffd2J'"


CSV_HEADER = "id,language,group,title,body,keywords,scenario,audience,hotkey,actions\n"


def test_import_refuses_control_characters_naming_file_and_reply() -> None:
    rows = (
        "en.x.ok,en,x,Fine,Body,,greeting,both,,\n"
        'en.x.evil,en,x,Evil,"Hi\x1b]52;c;eA==\x1b\\",,greeting,both,,\n'
        "en.x.bidi,en,x,Bidi \u202eevil,Body,,greeting,both,,\n"
    )
    with pytest.raises(ValueError, match="cannot import") as caught:
        import_replies(CSV_HEADER + rows, "csv", source="shop replies.csv")
    message = str(caught.value)
    assert message.startswith("shop replies.csv: cannot import quick replies:")
    assert "row 3: reply 'en.x.evil': body contains ESC (U+001B)" in message
    assert "row 4: reply 'en.x.bidi': title contains a bidi control character (U+202E)" in message
    assert "row 2" not in message
    assert_inert(message)


def test_import_error_never_echoes_raw_escapes() -> None:
    hostile = '[{"id": "en.a.b", "\\u001b]2;pwned\\u0007": 1}]'
    with pytest.raises(ValueError, match="unknown keys") as caught:
        import_replies(hostile, "json", source="evil\x1b[31m.json")
    assert_inert(str(caught.value))
    assert "unknown keys" in str(caught.value)


def make_reply(
    *, title: str = "Title", body: str = "Body", keywords: tuple[str, ...] = ()
) -> QuickReply:
    return QuickReply(
        id="en.x.made",
        language="en",
        group="x",
        title=title,
        body=body,
        keywords=keywords,
        scenario="greeting",
        audience="both",
        hotkey=None,
        actions=(),
        source="built in code",
        line=0,
    )


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(
    "reply",
    [
        make_reply(body="Hi\x1b]52;c;eA==\x1b\\"),
        make_reply(title="T\x9d2;x\x9c"),
        make_reply(keywords=("a\u202eb",)),
    ],
    ids=["ESC in body", "C1 in title", "bidi in keyword"],
)
def test_export_never_writes_control_characters(fmt: str, reply: QuickReply) -> None:
    assert fmt in ("csv", "json")
    with pytest.raises(ValueError, match=r"reply 'en\.x\.made': .* contains") as caught:
        export_replies([reply], "csv" if fmt == "csv" else "json")
    assert_inert(str(caught.value))


def test_export_keeps_newlines_and_tabs() -> None:
    reply = dataclasses.replace(
        make_reply(body="line one\n\tline two"),
        actions=(ReplyAction("add_remark", {"flag": "red", "text": "a\nb"}),),
    )
    exported = export_replies([reply], "csv")
    assert "line one\n\tline two" in exported
    assert_inert(exported.replace("\r", ""))


# --- the CLI, as an agent runs it ------------------------------------------------------


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cs_console", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CS_CONSOLE_HOME": str(home)},
        timeout=60,
        check=False,
    )


def test_cli_lint_and_export_never_print_escapes(tmp_path: Path) -> None:
    path = write_evil_library(tmp_path / "quick_replies")
    linted = run_cli(tmp_path, "replies", "lint", str(tmp_path / "quick_replies"))
    assert linted.returncode == 1
    assert f"{path}:14: reply 'en.x.clipboard': body contains ESC (U+001B)" in linted.stdout
    assert_inert(linted.stdout + linted.stderr)

    exported = run_cli(tmp_path, "replies", "export", "--lang", "en", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert "en.x.fine" in exported.stdout
    assert "en.x.clipboard" not in exported.stdout
    assert "skipped: " in exported.stderr
    assert_inert(exported.stdout + exported.stderr)


def test_cli_import_refuses_control_characters(tmp_path: Path) -> None:
    source = tmp_path / "replies.csv"
    source.write_text(
        CSV_HEADER + 'en.x.evil,en,x,Evil,"Hi\x1b]2;pwned\x1b\\",,greeting,both,,\n',
        encoding="utf-8",
    )
    imported = run_cli(tmp_path / "home", "replies", "import", str(source), "--format", "csv")
    assert imported.returncode == 2
    assert "reply 'en.x.evil': body contains ESC (U+001B)" in imported.stderr
    assert_inert(imported.stdout + imported.stderr)
    assert not (tmp_path / "home" / "quick_replies").exists()


# --- themes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "evil\\u001b]2;pwned\\u0007",
        "evil\\u009b31m",
        "right\\u202eleft",
        "my [b]theme[/b]",
        "[@click=app.quit]x",
        "has space",
        "x" * 65,
    ],
)
def test_theme_with_an_unsafe_name_is_reported_once_and_skipped(tmp_path: Path, name: str) -> None:
    (tmp_path / "good.toml").write_text('name = "good"\nprimary = "#336699"\n', "utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "{name}"\nprimary = "#336699"\n', "utf-8")
    themes, problems = load_themes([tmp_path])
    assert [theme.name for theme in themes] == ["good"]
    assert len(problems) == 1
    assert problems[0].startswith(f"{bad}: name: expected letters, digits")
    assert_inert(problems[0])


def test_theme_problem_with_an_escape_in_the_file_name_prints_safely(tmp_path: Path) -> None:
    bad = tmp_path / "bad\x1b]2;pwned\x07.toml"
    bad.write_text('name = "bad"\nprimary = "#zzzzzz"\n', "utf-8")
    themes, problems = load_themes([tmp_path])
    assert themes == []
    [problem] = problems
    assert_inert(problem)
    assert problem.startswith(str(tmp_path / "bad␛]2;pwned␇.toml: primary"))


def test_theme_names_that_textual_accepts_still_load(tmp_path: Path) -> None:
    for name in ("mine", "My_Theme-2", "2026-spring"):
        (tmp_path / f"{name}.toml").write_text(f'name = "{name}"\nprimary = "#336699"\n', "utf-8")
    themes, problems = load_themes([tmp_path])
    assert problems == []
    assert sorted(theme.name for theme in themes) == ["2026-spring", "My_Theme-2", "mine"]
