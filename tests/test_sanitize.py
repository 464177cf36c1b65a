"""Untrusted text cannot drive the terminal, and the wire models hold their types."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cs_console import protocol as p
from cs_console.sanitize import sanitize, sanitize_line

ESC_PICTURE = "\u241b"  # ␛
C1 = {chr(c) for c in range(0x80, 0xA0)}
C0_KEPT = {"\t", "\n"}
C0 = {chr(c) for c in range(0x20)} | {"\x7f"}


def assert_inert(text: str) -> None:
    """Nothing in ``text`` can make a terminal act: no ESC, no C0 but tab and newline,
    no C1, no format characters (bidi overrides, zero-width ...)."""
    assert "\x1b" not in text
    assert not (set(text) & (C0 - C0_KEPT))
    assert not (set(text) & C1)
    assert all(unicodedata.category(ch) not in ("Cf", "Cs") for ch in text)


ATTACKS: dict[str, tuple[str, str]] = {
    # name: (input, expected output)
    "OSC 52 clipboard write": (
        "hi\x1b]52;c;cm0gLXJmIH4=\x07there",
        "hi␛]52;c;cm0gLXJmIH4=␇there",
    ),
    "OSC 52 with ST terminator": ("\x1b]52;c;eA==\x1b\\", "␛]52;c;eA==␛\\"),
    "OSC 8 hyperlink": (
        "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
        "␛]8;;https://evil.example␛\\click␛]8;;␛\\",
    ),
    "CSI clear screen": ("\x1b[2J\x1b[Hfake prompt$ ", "␛[2J␛[Hfake prompt$ "),
    "CSI cursor moves": ("ok\x1b[1A\x1b[2K\x1b[10;5Hpaid", "ok␛[1A␛[2K␛[10;5Hpaid"),
    "CSI colour": ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
    "8-bit CSI": ("a\x9b2Jb", "a\ufffd2Jb"),
    "8-bit OSC": ("a\x9d52;c;eA==\x9cb", "a\ufffd52;c;eA==\ufffdb"),
    "DCS": ("\x1bP1$r\x1b\\x\x90q\x9c", "␛P1$r␛\\x\ufffdq\ufffd"),
    "CR overwrite": ("refund approved\rrefund denied", "refund approved\nrefund denied"),
    "CRLF": ("line 1\r\nline 2", "line 1\nline 2"),
    "backspace": ("paid\x08\x08\x08\x08unpaid", "paid␈␈␈␈unpaid"),
    "NUL": ("a\x00b", "a\u2400b"),
    "bell": ("ding\x07", "ding␇"),
    "DEL": ("a\x7fb", "a␡b"),
    "bidi override": ("invoice\u202efdp.exe", "invoice\ufffdfdp.exe"),
    "bidi isolate": ("\u2066abc\u2069", "\ufffdabc\ufffd"),
    "zero-width space": ("pay\u200bpal", "pay\ufffdpal"),
    "zero-width joiner": ("a\u200db", "a\ufffdb"),
    "BOM": ("\ufeffhello", "\ufffdhello"),
    "line separator": ("a\u2028b", "a\ufffdb"),
    "lone surrogate": ("a\ud800b", "a\ufffdb"),
    "tag character (Cf)": ("x\U000e0041y", "x\ufffdy"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_sanitize_neutralises(name: str) -> None:
    raw, expected = ATTACKS[name]
    out = sanitize(raw)
    assert out == expected
    assert_inert(out)


def test_sanitize_keeps_ordinary_text() -> None:
    text = "亲，您的快递 ZT123 已发出 📦\n\tTotal: ¥78.00 — merci ! Ünïcödé"
    assert sanitize(text) == text
    assert sanitize("") == ""


def test_escape_is_shown_not_dropped() -> None:
    assert sanitize("\x1b") == ESC_PICTURE
    assert sanitize("\x1b[31m").startswith(ESC_PICTURE)


def test_sanitize_line_folds_onto_one_line() -> None:
    assert sanitize_line("Alice\n\x1b[2J  Brown\t\r\n") == "Alice ␛[2J Brown"


# Weight the generator toward the characters that matter.
NASTY = (
    [chr(c) for c in range(0x20)]
    + ["\x7f", *sorted(C1)]
    + ["\u061c", "\u200b", "\u200e", "\u2028", "\u202a", "\u202e", "\u2066", "\ufeff"]
    + ["\ufff9", "\U000e0001", "\ud800", "\u2400", "\ufffd"]
)
TEXT = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(NASTY)), max_size=200)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_sanitize_properties(text: str) -> None:
    out = sanitize(text)
    assert_inert(out)
    assert sanitize(out) == out  # idempotent
    assert out.count("\n") == text.count("\n") + text.count("\r") - text.count("\r\n")
    line = sanitize_line(text)
    assert_inert(line)
    assert "\n" not in line
    assert "\t" not in line


# --- the wire models ------------------------------------------------------------------


def message_json(**changes: Any) -> str:
    data: dict[str, Any] = {
        "id": "m-1",
        "conversation_id": "conv-1",
        "kind": "customer",
        "author": "Alice",
        "body": "hello",
        "created_at": "2024-03-01T09:30:00+09:00",
    }
    data.update(changes)
    return json.dumps(data)


def test_message_body_and_author_are_sanitised() -> None:
    rec = p.MessageRecord.model_validate_json(
        message_json(author="Eve\x1b[2J\u202e", body="hi\x1b]52;c;eA==\x07\r\nbye\x9b2J")
    )
    assert rec.body == "hi␛]52;c;eA==␇\nbye\ufffd2J"
    assert rec.author == "Eve␛[2J\ufffd"
    assert_inert(rec.body)
    assert_inert(rec.author)


def test_offset_time_becomes_the_same_instant_in_utc() -> None:
    rec = p.MessageRecord.model_validate_json(message_json())
    assert rec.created_at == datetime(2024, 3, 1, 0, 30, tzinfo=UTC)
    assert rec.created_at.utcoffset() == timedelta(0)
    other = p.MessageRecord.model_validate_json(
        message_json(created_at="2024-02-29T15:30:00-09:00")
    )
    assert other.created_at == rec.created_at
    assert other.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T09:30:00",  # naive
        "2024-03-01 09:30:00",  # naive, space
        "2024-03-01",  # a date is not a time
        1709251800,  # epoch seconds
        1709251800.5,  # epoch float
        1709251800000,  # epoch milliseconds
        None,
        "yesterday",
    ],
)
def test_message_time_must_be_an_aware_iso_time(value: object) -> None:
    with pytest.raises(ValidationError):
        p.MessageRecord.model_validate_json(message_json(created_at=value))


def test_message_time_as_epoch_string_is_refused() -> None:
    with pytest.raises(ValidationError):
        p.MessageRecord.model_validate_json(message_json(created_at="1709251800"))


def page_json(**changes: Any) -> str:
    data: dict[str, Any] = {"server_id": "srv-1", "cursor": "5", "has_more": False}
    data.update(changes)
    return json.dumps(data)


def test_change_page_ints_and_bools_are_strict() -> None:
    assert p.ChangePage.model_validate_json(page_json()).cursor == "5"
    for bad in ({"cursor": 5}, {"cursor": 5.0}, {"cursor": "x" * 5000}, {"has_more": "false"}):
        with pytest.raises(ValidationError):
            p.ChangePage.model_validate_json(page_json(**bad))
    with pytest.raises(ValidationError):
        p.ChangePage.model_validate_json(page_json(has_more=0))


def test_conversation_unread_count_refuses_text() -> None:
    conv = {
        "id": "conv-1",
        "customer_id": "cus-1",
        "group": "pre-sale",
        "status": "open",
        "last_activity_at": "2024-03-01T00:00:00Z",
        "updated_at": "2024-03-01T00:00:00Z",
    }
    assert p.ConversationRecord.model_validate_json(json.dumps(conv | {"unread_count": 1}))
    for bad in ("1", 1.5, -1, True):
        with pytest.raises(ValidationError):
            p.ConversationRecord.model_validate_json(json.dumps(conv | {"unread_count": bad}))
    with pytest.raises(ValidationError):
        p.ConversationRecord.model_validate_json(json.dumps(conv | {"status": "deleted"}))


def test_ids_refuse_control_and_path_characters() -> None:
    for bad in ("m\x1b1", "../etc", "m 1", "", "m" * 65):
        with pytest.raises(ValidationError):
            p.MessageRecord.model_validate_json(message_json(id=bad))
