"""The sanitiser's fast path returns exactly what the character-by-character rules do."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from cs_console import sanitize as sanitize_module
from cs_console.sanitize import sanitize

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def reference(text: str) -> str:
    """The rules of ``sanitize`` applied one character at a time, with no shortcut."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in "\t\n") or code == 0x7F:
            out.append(chr(0x2421 if code == 0x7F else 0x2400 + code))
        elif sanitize_module._INVISIBLE.fullmatch(ch) or unicodedata.category(ch) in ("Cf", "Cs"):
            out.append(REPLACEMENT)
        else:
            out.append(ch)
    return "".join(out)


def test_every_format_and_surrogate_character_is_suspect() -> None:
    suspect = sanitize_module._SUSPECT
    missed = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cf", "Cs") and not suspect.fullmatch(chr(code))
    ]
    assert missed == [], f"add these to sanitize._SUSPECT (Unicode {unicodedata.unidata_version})"


def test_every_control_is_suspect() -> None:
    controls = [chr(c) for c in range(0x20) if chr(c) not in "\t\n"] + [chr(0x7F)]
    controls += [chr(c) for c in range(0x80, 0xA0)]
    assert all(sanitize_module._SUSPECT.fullmatch(ch) for ch in controls)


def test_plain_text_comes_back_as_it_is() -> None:
    for text in ("Where is my parcel?", "退款什么时候到账", "Xin chào\tbạn\n", "¿Dónde está?"):
        assert sanitize(text) is text


def test_payloads_match_the_reference() -> None:
    payloads = [
        "\x1b]52;c;SGVsbG8=\x07",
        "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
        "\x1b[2J\x1b[H",
        "\x9b31m C1 CSI",
        "abc\u202edcba\u2066x\u2069",
        "soft\xadhyphen \u200bzero width \ufeffbom",
        "line\r\nbreak\rcarriage",
        "tag \U000e0041 and \U0001d173 music",
        "lone \ud800 surrogate",
    ]
    for text in payloads:
        assert sanitize(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_any_text_matches_the_reference(text: str) -> None:
    assert sanitize(text) == reference(text)
