"""Neutralise untrusted text (customer messages, names, backend data) before it is stored or shown.

Terminals act on escape sequences: OSC 52 writes the clipboard, OSC 8 plants links,
CSI moves the cursor. Textual passes such bytes straight through, so every piece of
text that did not come from us goes through :func:`sanitize` on the way in (ingest)
and again on the way out (render). Markup is a separate concern: the UI renders this
text without interpreting markup at all.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline become their visible "control picture"
# (U+2400 + code), so the agent can see that something odd was sent.
_C0_TABLE = {code: 0x2400 + code for code in range(0x20) if code not in (0x09, 0x0A)}
_C0_TABLE[0x7F] = 0x2421  # DEL -> ␡

_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# C1 controls (8-bit CSI, OSC, DCS ...), bidi overrides/isolates, and invisible
# formatting characters that can disguise text.
_INVISIBLE = re.compile(
    "["
    "\u0080-\u009f"  # C1 controls
    "\u061c"  # Arabic letter mark
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028\u2029"  # line/paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space / BOM
    "\ufff9-\ufffb"  # interlinear annotations
    "]"
)


# Every character sanitize() may change: controls, the invisible set above, and every
# format (Cf) or surrogate (Cs) code point of Unicode 14/15 (a test checks the running
# Python's table against it). Most text holds none of them and is returned as it is,
# at the cost of one regex scan instead of a look-up per character.
_SUSPECT = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "]"
)


# Characters refused outright in text we write ourselves (quick-reply files, theme
# files): C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings,
# overrides and isolates (the "Trojan Source" set). Unlike customer text, such files
# can be fixed by whoever wrote them, so they are rejected rather than repaired.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def find_control(text: str) -> str | None:
    """Describe the first control character in ``text``, or return ``None``.

    Looks for C0 controls other than tab and newline (ESC among them), DEL, C1
    controls (8-bit CSI, OSC, ST ...) and bidi embeddings, overrides and isolates:
    what :func:`sanitize` would have to neutralise before a terminal shows the text.

    Args:
        text: text from a file the user wrote (a quick reply, a theme).

    Returns:
        A short description such as ``"ESC (U+001B)"``, for an error message.
    """
    found = _CONTROL.search(text)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if char == "\x1b":
        return f"ESC ({code})"
    if char == "\r":
        return f"a carriage return ({code})"
    if "\x80" <= char <= "\x9f":
        return f"a C1 control character ({code})"
    if char >= "\u202a":
        return f"a bidi control character ({code})"
    return f"a control character ({code})"


def _format_char(found: re.Match[str]) -> str:
    ch = found.group()
    return _REPLACEMENT if unicodedata.category(ch) in ("Cf", "Cs") else ch


def sanitize(text: str) -> str:
    """Return ``text`` safe to show in a terminal.

    Keeps newline and tab; turns other C0 controls (ESC among them) into visible
    control pictures; replaces C1 controls, bidi overrides and invisible formatting
    characters with U+FFFD; turns CRLF and lone CR into newlines.
    """
    if not text or _SUSPECT.search(text) is None:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_C0_TABLE)
    text = _INVISIBLE.sub(_REPLACEMENT, text)
    # Any other format character (Cf) or lone surrogate (Cs) that slipped through.
    return _SUSPECT.sub(_format_char, text)


def sanitize_line(text: str) -> str:
    """Like :func:`sanitize`, folded onto one line (for list rows and snippets)."""
    return " ".join(sanitize(text).split())
